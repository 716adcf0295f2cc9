"""A PNG of a terminal screen, painted cell by cell with Pillow (no Textual here).

Input: the screen as rows of Rich `Segment`s (what Textual's compositor draws), its size in
cells, and a Rich `TerminalTheme` for colours the segments leave to the terminal (default
foreground and background, the 16 ANSI colours). Colours are resolved as Rich's SVG export
resolves them (`Console.export_svg`), so the PNG and Textual's SVG screenshot agree: reverse
swaps foreground and background, dim blends the foreground 40 % towards the background, bold
picks the bold font and leaves the colour alone. Italic is drawn upright (no italic font is
bundled).

How it paints, and why (200×60 cells, 2000×1200 pixels; bench/png.py measures it):
1. One pass over the segments gives each cell its background colour (one pixel per cell of a
   small cols×rows image, then scaled up nearest-neighbour in one call) and its character's
   coverage mask (`glyphs.Glyphs`, cached per character and style, not per colour).
2. Each mask is pasted in its foreground colour, `paste(colour, box, mask)`.
   Measured on the same 200×60 dashboard screen (one interleaved run, medians, 2 shared
   cores, 2026-11-29): this ≈ 40 ms; glyph images cached per (char, style, colour) ≈ 49 ms;
   a full-size foreground image composited through one full-size mask ≈ 58 ms; one
   `ImageDraw.text` call per run of the same style ≈ 84 ms (FreeType lays out every run
   again, and a run drifts off the cell grid unless the font's advance is exactly the cell
   width). Calling the pixel store's `paste` directly, past `Image.paste`'s argument
   checks, then took another quarter off.
3. PNG encoding (`encode`): unfiltered rows, zlib level 1. A screen's large flat areas
   compress well even so; Pillow's own PNG writer filters every row five ways first, which
   tripled the encoding time for the same size of file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len, get_character_cell_size
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME, TerminalTheme

from apm_tui.export.glyphs import BOLD, STRIKE, UNDERLINE, Glyphs

if TYPE_CHECKING:
    from PIL import Image
    from PIL._imaging import ImagingCore

RGB = tuple[int, int, int]
#: The cell width in pixels; the height follows from the font (20 for 10).
CELL_WIDTH = 10
#: zlib level for the PNG (see the module docstring).
COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class Screen:
    """What a terminal shows: `lines` of segments, `width` × `height` cells."""

    lines: Sequence[Sequence[Segment]]
    width: int
    height: int
    theme: TerminalTheme = SVG_EXPORT_THEME


@dataclass(frozen=True)
class CellStyle:
    fg: RGB
    bg: bytes  # RGB as 3 bytes, ready to repeat along a run of cells
    flags: int


def _rgb(color: Color | None, theme: TerminalTheme, foreground: bool) -> RGB:
    if color is None or color.is_default:
        default = theme.foreground_color if foreground else theme.background_color
        return default.red, default.green, default.blue
    triplet = color.get_truecolor(theme, foreground)
    return triplet.red, triplet.green, triplet.blue


def resolve(style: Style | None, theme: TerminalTheme) -> CellStyle:
    """A segment's style as the cells' colours and mask flags, as Rich's SVG export sees it."""
    style = style or Style()
    fg = _rgb(style.color, theme, True)
    bg = _rgb(style.bgcolor, theme, False)
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = blend(fg, bg, 0.4)
    flags = (BOLD if style.bold else 0) | (UNDERLINE if style.underline else 0)
    flags |= STRIKE if style.strike else 0
    return CellStyle(fg, bytes(bg), flags)


def blend(a: RGB, b: RGB, amount: float) -> RGB:
    """`a` moved `amount` of the way to `b` (Rich's `blend_rgb`, truncating the same way)."""
    return (
        int(a[0] + (b[0] - a[0]) * amount),
        int(a[1] + (b[1] - a[1]) * amount),
        int(a[2] + (b[2] - a[2]) * amount),
    )


@lru_cache(maxsize=8)
def glyphs_for(cell_width: int) -> Glyphs:
    """One glyph cache per cell size, shared by every render (the fonts load once)."""
    return Glyphs(cell_width)


def render(screen: Screen, cell_width: int = CELL_WIDTH) -> Image.Image:
    """The screen as an RGB image of (width × cell width, height × cell height) pixels."""
    from PIL import Image

    glyphs = glyphs_for(cell_width)
    cw, ch = glyphs.cell
    cols, rows = screen.width, screen.height
    default = resolve(None, screen.theme)
    bg = bytearray(default.bg * (cols * rows))
    ink: list[tuple[RGB, tuple[int, int, int, int], ImagingCore]] = []
    cache: dict[Style | None, CellStyle] = {}
    for y, line in enumerate(screen.lines[:rows]):
        x = 0
        for text, style, control in line:
            if control or x >= cols:
                continue
            cs = cache.get(style)
            if cs is None:
                cs = cache[style] = resolve(style, screen.theme)
            width = min(cell_len(text), cols - x)
            at = 3 * (y * cols + x)
            bg[at : at + 3 * width] = cs.bg * width
            # Spaces have no ink, unless underlined or struck through.
            if cs.flags & (UNDERLINE | STRIKE) or not text.isspace():
                for cx, char, cells in _cells(text, x, cols):
                    if char != " " or cs.flags & (UNDERLINE | STRIKE):
                        box = (cx * cw, y * ch, (cx + cells) * cw, (y + 1) * ch)
                        ink.append((cs.fg, box, glyphs.core(char, cs.flags, cells)))
            x += width
    # The backgrounds: one pixel a cell, scaled up.
    image = Image.frombytes("RGB", (cols, rows), bytes(bg))
    image = image.resize((cols * cw, rows * ch), Image.Resampling.NEAREST)
    # Each mask pasted in its colour. `ImagingCore.paste` is what `Image.paste` calls after
    # checking its arguments; called directly it costs a third as much, and a 200×60 screen
    # has ≈ 4,000 inked cells.
    paste = image.im.paste
    for fg, box, mask in ink:
        paste(fg, box, mask)
    return image


def _cells(text: str, x: int, cols: int) -> Iterable[tuple[int, str, int]]:
    """(column, character, cells wide) for each character of `text` starting at column `x`."""
    if len(text) == cell_len(text):  # the usual case: one cell per character
        for i, char in enumerate(text[: cols - x]):
            yield x + i, char, 1
        return
    for char in text:
        cells = get_character_cell_size(char)
        if cells == 0:
            continue  # a combining mark: drawn with its base by terminals, dropped here
        if x + cells > cols:
            return
        yield x, char, cells
        x += cells


def encode(image: Image.Image) -> bytes:
    """An RGB image as PNG bytes: rows unfiltered, zlib at `COMPRESS_LEVEL`.

    Written here rather than with `Image.save(format="PNG")`: Pillow tries all five PNG row
    filters on every row of an RGB image, which cost ≈ 60 of its ≈ 85 ms for a 2000×1200
    screen; a terminal's flat colours compress as well without them (≈ 210 KB either way).
    """
    import struct
    import zlib

    rgb = memoryview((image if image.mode == "RGB" else image.convert("RGB")).tobytes())
    width, height = image.size
    stride = 3 * width
    # Each row is filter type 0 (None) and the row's bytes, fed to zlib row by row from a
    # view of the pixels rather than joined into a second 7 MB buffer first: ≈ 15 % faster
    # (median 47 against 56 ms, interleaved, on a loaded machine); zlib itself is the rest.
    deflate = zlib.compressobj(COMPRESS_LEVEL)
    parts = []
    for y in range(height):
        parts.append(deflate.compress(b"\x00"))
        parts.append(deflate.compress(rgb[y * stride : (y + 1) * stride]))
    parts.append(deflate.flush())
    idat = b"".join(parts)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, not interlaced
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", idat),
            chunk(b"IEND", b""),
        )
    )


def render_png(screen: Screen, cell_width: int = CELL_WIDTH) -> bytes:
    """The screen as PNG bytes."""
    return encode(render(screen, cell_width))
