"""Coverage masks for one terminal cell: a character's ink as an 8-bit "L" image, cached.

A mask says how much of each pixel the character covers (0–255); the painter in `png.py`
colours every mask at once, so one mask serves every colour a character appears in.

Most characters come from the bundled DejaVu Sans Mono, sized so its advance is exactly one
cell. Three families are drawn as shapes instead, because a terminal draws them edge to edge
and the font cannot:
- braille (U+2800–U+28FF), which DejaVu Sans Mono does not have: the 2×4 dots;
- block elements (U+2580–U+259F): halves, eighths, quadrants and shades as rectangles, on whole
  pixels so bars and chart areas are solid and line up with their neighbours;
- light and heavy box-drawing lines and the rounded corners: the font's lines work (they
  overlap the cell and are clipped), but its 1.1-pixel vertical stroke at this size straddles
  two pixel columns and comes out as a grey two-pixel smear beside crisp horizontals.
Shapes are drawn at `SUPER`× and reduced, so dots and arcs are anti-aliased.

Pillow is imported lazily: the dashboard's first frame must not pay for it.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont
    from PIL._imaging import ImagingCore

FONTS = Path(__file__).with_name("fonts")
REGULAR = FONTS / "DejaVuSansMono.ttf"
BOLD_FONT = FONTS / "DejaVuSansMono-Bold.ttf"

#: Style flags that change a cell's mask (colours do not: they are applied to the mask).
BOLD, UNDERLINE, STRIKE = 1, 2, 4
#: Procedural shapes are drawn this many times larger, then reduced (anti-aliasing).
SUPER = 4

#: Braille dot bits as (column, row) of the 2×4 grid (Unicode's dot numbering).
BRAILLE_DOTS = (
    (0x01, 0, 0),
    (0x02, 0, 1),
    (0x04, 0, 2),
    (0x40, 0, 3),
    (0x08, 1, 0),
    (0x10, 1, 1),
    (0x20, 1, 2),
    (0x80, 1, 3),
)

#: Quadrant characters: which of (upper left, upper right, lower left, lower right) are filled.
QUADRANTS = {
    "▖": (0, 0, 1, 0),
    "▗": (0, 0, 0, 1),
    "▘": (1, 0, 0, 0),
    "▙": (1, 0, 1, 1),
    "▚": (1, 0, 0, 1),
    "▛": (1, 1, 1, 0),
    "▜": (1, 1, 0, 1),
    "▝": (0, 1, 0, 0),
    "▞": (0, 1, 1, 0),
    "▟": (0, 1, 1, 1),
}
#: Shades: the share of the cell's pixels a terminal's font would ink, as uniform coverage.
SHADES = {"░": 64, "▒": 128, "▓": 191}

#: Box-drawing line weights.
LIGHT, HEAVY = 1, 2
WEIGHTS = {"LIGHT": LIGHT, "HEAVY": HEAVY}
DIRECTIONS = {
    "LEFT": ("left",),
    "RIGHT": ("right",),
    "UP": ("up",),
    "DOWN": ("down",),
    "HORIZONTAL": ("left", "right"),
    "VERTICAL": ("up", "down"),
}
ARCS = {"╭": ("right", "down"), "╮": ("left", "down"), "╯": ("left", "up"), "╰": ("right", "up")}


@cache
def box_arms(char: str) -> dict[str, int] | None:
    """The arms (left, right, up, down) of a light/heavy box-drawing character and their
    weights, read from its Unicode name ("BOX DRAWINGS DOWN LIGHT AND RIGHT HEAVY"); None for
    dashed, double, arc and diagonal ones, and for anything else."""
    name = unicodedata.name(char, "")
    if not name.startswith("BOX DRAWINGS "):
        return None
    words = name.removeprefix("BOX DRAWINGS ").split()
    if not set(words) <= {*WEIGHTS, *DIRECTIONS, "AND"}:
        return None  # DASH, DOUBLE, SINGLE, ARC, DIAGONAL: the font draws those
    arms: dict[str, int] = {}
    weight = 0
    for group in " ".join(words).split(" AND "):
        parts = group.split()
        # A group without a weight shares the one before it ("LIGHT DOWN AND RIGHT").
        weight = next((WEIGHTS[w] for w in parts if w in WEIGHTS), weight)
        for word in parts:
            for arm in DIRECTIONS.get(word, ()):
                arms[arm] = weight
    return arms if arms and all(arms.values()) else None


class Glyphs:
    """Masks for characters in cells of `cell_width` pixels (the height follows the font)."""

    def __init__(self, cell_width: int = 10) -> None:
        from PIL import ImageFont

        # DejaVu Sans Mono's advance is 1233/2048 em: size the font so it is exactly one cell,
        # measured rather than assumed so another font would work too.
        probe = ImageFont.truetype(str(REGULAR), 100)
        size = 100 * cell_width / probe.getlength("M")
        self.fonts: dict[bool, ImageFont.FreeTypeFont] = {
            False: ImageFont.truetype(str(REGULAR), size),
            True: ImageFont.truetype(str(BOLD_FONT), size),
        }
        ascent, descent = self.fonts[False].getmetrics()
        self.width = cell_width
        self.height = ascent + descent
        self.baseline = ascent
        self._cache: dict[tuple[str, int, int], Image.Image] = {}
        self._cores: dict[tuple[str, int, int], ImagingCore] = {}

    @property
    def cell(self) -> tuple[int, int]:
        return self.width, self.height

    def mask(self, char: str, flags: int = 0, cells: int = 1) -> Image.Image:
        """The mask of `char` with the BOLD/UNDERLINE/STRIKE `flags`, `cells` cells wide."""
        key = (char, flags, cells)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._draw(char, flags, cells)
        return found

    def core(self, char: str, flags: int = 0, cells: int = 1) -> ImagingCore:
        """`mask`'s pixel store, for `ImagingCore.paste` (see `png.render` for why)."""
        key = (char, flags, cells)
        found = self._cores.get(key)
        if found is None:
            img = self.mask(char, flags, cells)
            img.load()
            found = self._cores[key] = img.im
        return found

    def _draw(self, char: str, flags: int, cells: int) -> Image.Image:
        from PIL import Image, ImageDraw

        w, h = self.width * cells, self.height
        shape = shape_mask(char, w, h)
        if shape is not None:
            img = shape
        else:
            img = Image.new("L", (w, h), 0)
            if char.strip():
                ImageDraw.Draw(img).text(
                    (0, 0), char, fill=255, font=self.fonts[bool(flags & BOLD)], anchor="la"
                )
        if flags & (UNDERLINE | STRIKE):
            img = img.copy()
            draw = ImageDraw.Draw(img)
            thick = max(1, round(self.width / 10))
            if flags & UNDERLINE:
                y = min(h - thick, self.baseline + thick)
                draw.rectangle((0, y, w - 1, y + thick - 1), fill=255)
            if flags & STRIKE:
                y = round(self.baseline * 0.65)
                draw.rectangle((0, y, w - 1, y + thick - 1), fill=255)
        return img


def shape_mask(char: str, w: int, h: int) -> Image.Image | None:
    """The mask of a character drawn as a shape (braille, block, box line), or None."""
    code = ord(char) if len(char) == 1 else -1
    if 0x2800 <= code <= 0x28FF:
        return braille_mask(code - 0x2800, w, h)
    if 0x2580 <= code <= 0x259F:
        return block_mask(char, w, h)
    if char in ARCS:
        return arc_mask(char, w, h)
    arms = box_arms(char) if 0x2500 <= code <= 0x257F else None
    if arms is not None:
        return box_mask(arms, w, h)
    return None


def _canvas(w: int, h: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw

    img = Image.new("L", (w * SUPER, h * SUPER), 0)
    return img, ImageDraw.Draw(img)


def _reduce(img: Image.Image) -> Image.Image:
    return img.reduce(SUPER)


def braille_mask(bits: int, w: int, h: int) -> Image.Image:
    """Braille pattern `bits` (0–255) as round dots on a 2×4 grid filling the cell."""
    img, draw = _canvas(w, h)
    sw, sh = w * SUPER, h * SUPER
    # Dots big enough that neighbouring ones in a chart line read as a line, not as dust.
    radius = min(sw / 2, sh / 4) * 0.36
    for bit, col, row in BRAILLE_DOTS:
        if bits & bit:
            cx, cy = sw * (2 * col + 1) / 4, sh * (2 * row + 1) / 8
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    return _reduce(img)


def block_mask(char: str, w: int, h: int) -> Image.Image:
    """A block element (U+2580–U+259F) as rectangles on whole pixels."""
    from PIL import Image, ImageDraw

    code = ord(char)
    img = Image.new("L", (w, h), 0)
    if char in SHADES:
        img.paste(SHADES[char], (0, 0, w, h))
        return img
    draw = ImageDraw.Draw(img)

    def fill(x0: int, y0: int, x1: int, y1: int) -> None:
        _fill(draw, x0, y0, x1, y1)

    mid_x, mid_y = round(w / 2), round(h / 2)
    if char == "▀":
        fill(0, 0, w, mid_y)
    elif 0x2581 <= code <= 0x2588:  # lower one eighth … full block
        fill(0, h - round(h * (code - 0x2580) / 8), w, h)
    elif 0x2589 <= code <= 0x258F:  # left seven eighths … left one eighth
        fill(0, 0, round(w * (0x2590 - code) / 8), h)
    elif char == "▐":
        fill(mid_x, 0, w, h)
    elif char == "▔":
        fill(0, 0, w, round(h / 8))
    elif char == "▕":
        fill(w - round(w / 8), 0, w, h)
    elif char in QUADRANTS:
        ul, ur, ll, lr = QUADRANTS[char]
        for on, box in (
            (ul, (0, 0, mid_x, mid_y)),
            (ur, (mid_x, 0, w, mid_y)),
            (ll, (0, mid_y, mid_x, h)),
            (lr, (mid_x, mid_y, w, h)),
        ):
            if on:
                fill(*box)
    return img


def line_width(w: int, weight: int) -> int:
    light = max(1, round(w / 10))
    return light if weight == LIGHT else 2 * light + 1


def box_mask(arms: dict[str, int], w: int, h: int) -> Image.Image:
    """Straight light/heavy lines from the cell's centre to the edges named in `arms`."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    widest = max(line_width(w, weight) for weight in arms.values())
    # Every arm reaches across the centre by the widest line, so corners and tees close.
    cx0, cy0 = (w - widest) // 2, (h - widest) // 2
    cx1, cy1 = cx0 + widest, cy0 + widest
    for arm, weight in arms.items():
        t = line_width(w, weight)
        x0, y0 = (w - t) // 2, (h - t) // 2
        box = {
            "left": (0, y0, cx1, y0 + t),
            "right": (cx0, y0, w, y0 + t),
            "up": (x0, 0, x0 + t, cy1),
            "down": (x0, cy0, x0 + t, h),
        }[arm]
        _fill(draw, *box)
    return img


def arc_mask(char: str, w: int, h: int) -> Image.Image:
    """A rounded corner: a quarter circle joining two light arms, which meet the neighbouring
    straight lines at the same pixels as `box_mask` draws them."""
    img, draw = _canvas(w, h)
    t = line_width(w, LIGHT)
    # The stroke's centre line, in supersampled pixels, where box_mask's light lines are.
    cx = ((w - t) // 2 + t / 2) * SUPER
    cy = ((h - t) // 2 + t / 2) * SUPER
    stroke = t * SUPER
    horizontal, vertical = ARCS[char]
    r = min(cx, w * SUPER - cx, cy, h * SUPER - cy)
    sx = 1 if horizontal == "right" else -1
    sy = 1 if vertical == "down" else -1
    ox, oy = cx + sx * r, cy + sy * r  # the circle's centre
    draw.arc(
        (ox - r - stroke / 2, oy - r - stroke / 2, ox + r + stroke / 2, oy + r + stroke / 2),
        *ARC_ANGLES[char],
        fill=255,
        width=stroke,
    )
    # Straight on from the arc's ends to the cell's edges.
    half = stroke / 2
    x_edge = w * SUPER if sx > 0 else 0
    _fill(draw, min(ox, x_edge), cy - half, max(ox, x_edge), cy + half)
    y_edge = h * SUPER if sy > 0 else 0
    _fill(draw, cx - half, min(oy, y_edge), cx + half, max(oy, y_edge))
    return _reduce(img)


def _fill(draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float) -> None:
    """Fill the pixels from (x0, y0) up to, not including, (x1, y1); nothing if empty."""
    if x1 > x0 and y1 > y0:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=255)


#: Pillow's arc angles (degrees clockwise from 3 o'clock) for each corner's quarter circle.
ARC_ANGLES = {"╭": (180, 270), "╮": (270, 360), "╯": (0, 90), "╰": (90, 180)}
