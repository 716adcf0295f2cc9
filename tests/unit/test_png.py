"""The PNG painter (`apm_tui.export.png`) on synthetic screens: sizes, colours as Rich's SVG
export resolves them, braille dots, block elements and box lines where they belong, and
writing files (a full disk, a missing folder, names that never overwrite)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME

from apm_tui.errors import ExportError
from apm_tui.export.files import save_new, write_file
from apm_tui.export.glyphs import BRAILLE_DOTS, box_arms
from apm_tui.export.png import Screen, encode, render, render_png

RED, GREEN, BLUE = (255, 0, 0), (0, 200, 0), (0, 0, 255)
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
CW, CH = 10, 20  # the default cell: 10 pixels wide, 20 high (DejaVu Sans Mono's line)


def style(fg: tuple[int, int, int] = WHITE, bg: tuple[int, int, int] = BLACK, **kw: bool) -> Style:
    return Style(color=f"rgb{fg}", bgcolor=f"rgb{bg}", **kw)


def one_line(*segments: Segment, width: int = 8) -> Image.Image:
    return render(Screen([list(segments)], width, 1))


def cell(img: Image.Image, col: int, row: int = 0) -> Image.Image:
    return img.crop((col * CW, row * CH, (col + 1) * CW, (row + 1) * CH))


def colours(img: Image.Image) -> set[tuple[int, int, int]]:
    return {c for _, c in img.getcolors(maxcolors=1 << 20) or []}


def px(img: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    value = img.getpixel((int(x), int(y)))
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


# -- size and colours -------------------------------------------------------------------------


def test_the_image_is_the_cell_grid_times_the_cell_size() -> None:
    img = render(Screen([[Segment("hello")]], 37, 5))
    assert img.size == (37 * CW, 5 * CH) and img.mode == "RGB"


def test_backgrounds_and_a_full_block_fill_their_cells_exactly() -> None:
    img = one_line(Segment("ab", style(bg=BLUE)), Segment("█", style(fg=RED, bg=BLUE)))
    assert colours(cell(img, 2)) == {RED}  # the full block: every pixel
    first = colours(cell(img, 0))
    assert BLUE in first and WHITE in first  # the letter's ink on its background
    assert colours(cell(img, 5)) == {SVG_EXPORT_THEME.background_color}  # no segment: default


def test_a_letter_is_drawn_in_its_colour_and_bold_uses_more_ink() -> None:
    img = one_line(Segment("M", style(fg=GREEN)), Segment("M", style(fg=GREEN, bold=True)))
    regular, bold = cell(img, 0), cell(img, 1)
    assert GREEN in colours(regular)

    def ink(c: Image.Image) -> int:  # the green channel's total: how much of the cell is inked
        return sum(c.tobytes()[1::3])

    assert ink(bold) > 1.2 * ink(regular) > 0


def test_default_and_ansi_colours_resolve_with_the_terminal_theme_as_the_svg_does() -> None:
    img = one_line(Segment("█", Style(color="red")), Segment("█"), Segment(" "))
    assert colours(cell(img, 0)) == {tuple(SVG_EXPORT_THEME.ansi_colors[1])}
    assert colours(cell(img, 1)) == {SVG_EXPORT_THEME.foreground_color}
    assert colours(cell(img, 2)) == {SVG_EXPORT_THEME.background_color}


def test_reverse_swaps_the_colours_and_dim_blends_the_foreground_toward_the_background() -> None:
    img = one_line(
        Segment("█", style(fg=RED, bg=BLUE, reverse=True)),
        Segment("█", style(fg=(200, 100, 0), bg=(0, 0, 100), dim=True)),
    )
    assert colours(cell(img, 0)) == {BLUE}
    # Rich's SVG export: blend_rgb(fg, bg, 0.4), truncated.
    assert colours(cell(img, 1)) == {(120, 60, 40)}


def test_underline_draws_a_line_under_spaces_too() -> None:
    img = one_line(Segment("  ", style(fg=RED, underline=True)), Segment("  ", style(fg=RED)))
    underlined, plain = cell(img, 0), cell(img, 2)
    rows_with_ink = {y for y in range(CH) if px(underlined, 5, y) == RED}
    assert rows_with_ink and min(rows_with_ink) > CH // 2  # below the middle: an underline
    assert all(px(underlined, x, min(rows_with_ink)) == RED for x in range(CW))  # edge to edge
    assert colours(plain) == {BLACK}


def test_a_wide_character_takes_two_cells_and_what_follows_moves_on() -> None:
    img = one_line(Segment("中█", style(fg=RED)), width=4)
    assert colours(cell(img, 2)) == {RED}  # the block after the two-cell character
    assert len(colours(cell(img, 0)) | colours(cell(img, 1))) > 1  # the character's ink


def test_text_beyond_the_width_is_cut_and_missing_rows_are_background() -> None:
    img = render(Screen([[Segment("█" * 20, style(fg=RED))]], 4, 2))
    assert img.size == (4 * CW, 2 * CH)
    assert colours(img.crop((0, 0, 4 * CW, CH))) == {RED}
    assert colours(img.crop((0, CH, 4 * CW, 2 * CH))) == {SVG_EXPORT_THEME.background_color}


# -- braille, blocks, box lines ---------------------------------------------------------------


def dot_centre(col: int, row: int) -> tuple[float, float]:
    return CW * (2 * col + 1) / 4, CH * (2 * row + 1) / 8


@pytest.mark.parametrize(("bit", "col", "row"), BRAILLE_DOTS)
def test_each_braille_bit_is_one_dot_at_its_place_in_the_2x4_grid(
    bit: int, col: int, row: int
) -> None:
    img = cell(one_line(Segment(chr(0x2800 + bit), style(fg=RED))), 0)
    for _, c, r in BRAILLE_DOTS:
        expected = RED if (c, r) == (col, row) else BLACK
        assert px(img, *dot_centre(c, r)) == expected, (hex(bit), c, r)


def test_a_full_braille_cell_has_eight_dots_with_gaps_between() -> None:
    img = cell(one_line(Segment("⣿", style(fg=RED))), 0)
    assert all(px(img, *dot_centre(c, r)) == RED for _, c, r in BRAILLE_DOTS)
    assert px(img, CW / 2, CH / 4) == BLACK  # between the columns
    # Between two rows the dots' anti-aliased edges meet: half ink at most, never solid.
    assert px(img, CW / 4, CH / 4)[0] <= 128 and px(img, CW / 4, CH / 4 - 1)[0] <= 128


def test_the_empty_braille_pattern_has_no_ink() -> None:
    assert colours(cell(one_line(Segment("\u2800", style(fg=RED))), 0)) == {BLACK}


@pytest.mark.parametrize(
    ("char", "box"),
    [
        ("▀", (0, 0, CW, CH // 2)),
        ("▄", (0, CH // 2, CW, CH)),
        ("▌", (0, 0, CW // 2, CH)),
        ("▐", (CW // 2, 0, CW, CH)),
        ("▁", (0, CH - round(CH / 8), CW, CH)),
        ("▆", (0, CH - round(CH * 6 / 8), CW, CH)),
        ("▏", (0, 0, round(CW / 8), CH)),
        ("▔", (0, 0, CW, round(CH / 8))),
        ("▕", (CW - round(CW / 8), 0, CW, CH)),
    ],
)
def test_block_elements_fill_exactly_their_part_of_the_cell(
    char: str, box: tuple[int, int, int, int]
) -> None:
    img = cell(one_line(Segment(char, style(fg=RED))), 0)
    x0, y0, x1, y1 = box
    for y in range(CH):
        for x in range(CW):
            inside = x0 <= x < x1 and y0 <= y < y1
            assert px(img, x, y) == (RED if inside else BLACK), (char, x, y)


def test_quadrants_and_shades() -> None:
    img = one_line(Segment("▚▒░", style(fg=WHITE)))
    quad = cell(img, 0)
    assert px(quad, 2, 2) == WHITE and px(quad, 7, 15) == WHITE  # upper left, lower right
    assert px(quad, 7, 2) == BLACK and px(quad, 2, 15) == BLACK
    (medium,) = colours(cell(img, 1))
    (light,) = colours(cell(img, 2))
    assert 120 <= medium[0] <= 135 and 60 <= light[0] <= 70  # uniform 50 % and 25 % ink


def test_box_lines_run_edge_to_edge_and_meet_the_rounded_corners() -> None:
    img = render(
        Screen(
            [
                [Segment("╭──╮", style(fg=WHITE))],
                [Segment("│  │", style(fg=WHITE))],
                [Segment("╰──╯", style(fg=WHITE))],
            ],
            4,
            3,
        )
    )
    top = [y for y in range(CH) if px(img, CW + 5, y) == WHITE]
    left = [x for x in range(CW) if px(img, x, CH + 10) == WHITE]
    assert top and left
    y, x = top[0], left[0]
    # The horizontal line is unbroken from the left corner's cell to the right corner's …
    assert all(px(img, xx, y) == WHITE for xx in range(CW - 1, 3 * CW + 1))
    # … the vertical line from the corner down through the next row to the bottom corner.
    assert all(px(img, x, yy) == WHITE for yy in range(CH - 2, 2 * CH + 2))
    # Crisp: one full-intensity pixel column, not a grey smear over two.
    assert px(img, x - 1, CH + 10) == BLACK and px(img, x + 1, CH + 10) == BLACK


def test_box_drawing_names_give_the_arms_and_weights() -> None:
    assert box_arms("┼") == {"left": 1, "right": 1, "up": 1, "down": 1}
    assert box_arms("┍") == {"down": 1, "right": 2}
    assert box_arms("┭") == {"left": 2, "right": 1, "down": 1}
    assert box_arms("╼") == {"left": 1, "right": 2}
    assert box_arms("═") is None and box_arms("┄") is None and box_arms("a") is None


# -- PNG bytes and files ----------------------------------------------------------------------


def busy_screen(width: int = 30, height: int = 4) -> Screen:
    palette = [RED, GREEN, BLUE, WHITE, (250, 200, 0)]
    lines = [
        [Segment(f"{y}:Ab⣿▄│", style(fg=palette[(y + i) % 5])) for i in range(4)]
        for y in range(height)
    ]
    return Screen(lines, width, height)


def test_encoded_png_opens_and_has_exactly_the_rendered_pixels() -> None:
    screen = busy_screen()
    img = render(screen)
    opened = Image.open(io.BytesIO(render_png(screen)))
    assert opened.format == "PNG" and opened.size == img.size and opened.mode == "RGB"
    assert opened.tobytes() == img.tobytes()
    assert len(colours(opened)) > 20  # ink, anti-aliased edges, five colours, backgrounds


def test_encode_accepts_any_mode() -> None:
    opened = Image.open(io.BytesIO(encode(Image.new("L", (3, 2), 128))))
    assert opened.convert("RGB").getpixel((2, 1)) == (128, 128, 128)


def test_writing_to_a_full_disk_is_an_export_error_and_leaves_the_device_alone() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with pytest.raises(ExportError, match=r"cannot write /dev/full: No space left"):
        write_file(b"x" * 100_000, "/dev/full")
    assert Path("/dev/full").exists()


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.png"

    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    real_open = open

    def fake_open(path: object, mode: str = "r", *a: object, **k: object) -> object:
        if Path(str(path)) == target:
            real_open(target, mode).close()  # the file exists, as a real open leaves it
            return Full()
        return real_open(path, mode, *a, **k)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", fake_open)
    with pytest.raises(ExportError, match="No space left"):
        write_file(b"data", target)
    monkeypatch.undo()
    assert not target.exists()


def test_a_missing_folder_is_an_export_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"cannot write .*nowhere/x\.png"):
        write_file(b"data", tmp_path / "nowhere" / "x.png")


def test_new_screenshots_are_named_after_the_time_and_never_overwrite(tmp_path: Path) -> None:
    when = time.mktime((2026, 1, 2, 15, 7, 53, 0, 0, -1))
    first = save_new(b"one", tmp_path / "shots", when, ".png")
    second = save_new(b"two", tmp_path / "shots", when, ".png")
    assert first.name == "apm_dashboard_20260102-150753.png"
    assert second.name == "apm_dashboard_20260102-150753-2.png"
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"


def test_a_folder_that_cannot_be_made_is_an_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="cannot create the folder"):
        save_new(b"x", blocker / "sub", 0.0, ".png")


def test_importing_the_painter_loads_neither_pillow_nor_textual() -> None:
    code = "import sys, apm_tui.export.png; print('PIL' in sys.modules, 'textual' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.stdout.split() == ["False", "False"]
