"""`s` saves a PNG of the screen (live, paused, in a replay), the palette saves PNG or SVG, a
folder that cannot be written is a notification, and `report --png` draws the dashboard
headless. Colours are checked against Textual's own SVG screenshot of the same screen."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from rich.style import Style

from apm_tui.commands.dashboard import DashboardOptions
from apm_tui.export.glyphs import BOLD
from apm_tui.export.png import glyphs_for
from apm_tui.export.svg import render_svg
from apm_tui.ui.app import ApmApp, make_app
from apm_tui.ui.screenshot import grab
from tests.ui.conftest import (
    TICK_S,
    FakeClock,
    dashboard_options,
    first_tick,
    notifications,
    screen_lines,
    tick,
    wait_until,
)
from tests.ui.test_replay_keys import recorded

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)
CW, CH = glyphs_for(10).cell
NAME = re.compile(r"apm_dashboard_\d{8}-\d{6}\.png")


def app_saving_to(folder: Path, clock: FakeClock, **changes: object) -> ApmApp:
    opts = dashboard_options(window_hours=1.0, screenshots_dir=str(folder), **changes)
    app = make_app(opts, clock=clock)
    app.engine.isolate_fits = False
    return app


async def press_and_wait(app: ApmApp, pilot: object, key: str) -> None:
    await pilot.press(key)  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


# -- what Textual's SVG screenshot says a cell looks like --------------------------------------

SVG_CLASS = re.compile(r"\.(terminal-[\w-]+?-r\d+) \{ ([^}]*) \}")
SVG_TEXT = re.compile(
    r'<text class="(terminal-[\w-]+?-r\d+)" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+"'
    r"[^>]*>([^<]*)</text>"
)
SVG_RECT = re.compile(
    r'<rect fill="(#[0-9a-f]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" '
    r'height="[\d.]+" shape-rendering="crispEdges"/>'
)
# Rich's export_svg geometry: 20-pixel characters, 0.61 wide, lines 1.22 high.
SVG_CW, SVG_LH = 20 * 0.61, 20 * 1.22


def textual_svg(app: ApmApp, *, exactly_textuals: bool = False) -> str:
    """The SVG screenshot of the screen: our `render_svg` of the grabbed cells (the palette
    test checks it equals Textual's), or with `exactly_textuals` Textual's own export —
    after which Rich's per-Style ANSI cache, which that export fills with truecolor codes
    (see apm_tui/export/svg.py), is emptied again so later tests in this process see their
    own colour system's codes."""
    if not exactly_textuals:
        return render_svg(grab(app), app.title)
    svg = app.export_screenshot()
    for line in grab(app).lines:
        for segment in line:
            if segment.style is not None:
                segment.style._ansi = None
    return svg


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def svg_cell(svg: str, col: int, row: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(text colour, background colour) of the cell at (col, row) in an SVG screenshot."""
    fills = {name: re.search(r"fill: (#[0-9a-f]{6})", css) for name, css in SVG_CLASS.findall(svg)}
    text = None
    for cls, x, y, run in SVG_TEXT.findall(svg):
        start, r = round(float(x) / SVG_CW), round((float(y) - 20) / SVG_LH)
        if r == row and start <= col < start + len(html.unescape(run)):
            found = fills[cls]
            assert found is not None
            text = rgb(found[1])
    back = None
    for fill, x, y, w in SVG_RECT.findall(svg):
        start, r = round(float(x) / SVG_CW), round((float(y) - 1.5) / SVG_LH)
        if r == row and start <= col < start + round(float(w) / SVG_CW):
            back = rgb(fill)
    assert text is not None and back is not None, (col, row)
    return text, back


def assert_cell_drawn(
    png: Image.Image,
    col: int,
    row: int,
    char: str,
    colours: tuple[tuple[int, int, int], tuple[int, int, int]],
    flags: int = 0,
) -> None:
    """Every pixel the character fully covers has the text colour, every pixel it leaves
    alone the background: the right glyph, in the right colours, at the right place."""
    fg, bg = colours
    mask = glyphs_for(10).mask(char, flags)
    cell = png.crop((col * CW, row * CH, (col + 1) * CW, (row + 1) * CH))
    full = [(x, y) for y in range(CH) for x in range(CW) if mask.getpixel((x, y)) == 255]
    empty = [(x, y) for y in range(CH) for x in range(CW) if mask.getpixel((x, y)) == 0]
    assert full and empty
    assert {cell.getpixel(p) for p in full} == {fg}, (char, col, row)
    assert {cell.getpixel(p) for p in empty} == {bg}, (char, col, row)


def find(lines: list[str], pattern: str, rows: range | None = None) -> tuple[int, int]:
    for row, line in enumerate(lines):
        if rows is not None and row not in rows:
            continue
        match = re.search(pattern, line)
        if match:
            return match.start(), row
    raise AssertionError(f"{pattern!r} is not on the screen")


# -- the s key --------------------------------------------------------------------------------


async def test_s_saves_a_png_of_exactly_the_screen_and_a_notification_names_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shots"  # made on the first save
    clock = FakeClock()
    app = app_saving_to(folder, clock)
    async with app.run_test(size=SIZE) as pilot:
        await first_tick(app, pilot)
        await tick(app, pilot, clock, 2)
        app.redraw_stale_charts(limit=9)
        await pilot.pause()
        lines = screen_lines(app)
        svg = textual_svg(app)
        await press_and_wait(app, pilot, "s")
        files = list(folder.iterdir())
        assert len(files) == 1 and NAME.fullmatch(files[0].name)
        assert (f"Screenshot saved: {files[0]}", "information") in notifications(app)
        png = Image.open(files[0]).convert("RGB")
        assert png.size == (SIZE[0] * CW, SIZE[1] * CH) == (1200, 800)
        assert len(png.getcolors(maxcolors=1 << 20) or []) > 100  # not blank: charts, text
        # A panel title's first letter (bold), in the colours the SVG gives it.
        col, row = find(lines, "Response time")
        assert_cell_drawn(png, col, row, "R", svg_cell(svg, col, row), BOLD)
        # A braille dot of the response-time chart, in its line's colour.
        col, row = find(lines, "[\u2801-\u28ff]", range(row + 1, row + 12))
        char = lines[row][col]
        assert_cell_drawn(png, col, row, char, svg_cell(svg, col, row))
        assert app.is_running


async def test_s_works_while_paused_and_the_picture_shows_the_paused_badge(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    app = app_saving_to(tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("space")
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].startswith(" PAUSED ")
        svg = textual_svg(app)
        await press_and_wait(app, pilot, "s")
        (saved,) = tmp_path.glob("apm_dashboard_*.png")
        png = Image.open(saved).convert("RGB")
        # The badge's "P": bold black on yellow, as the SVG has it.
        assert_cell_drawn(png, 1, 0, "P", svg_cell(svg, 1, 0), BOLD)


async def test_s_works_in_a_replay(tmp_path: Path) -> None:
    clock = FakeClock()
    shots = tmp_path / "shots"
    opts = DashboardOptions(
        sources=(),
        replay=str(recorded(tmp_path, ticks=30)),
        screenshots_dir=str(shots),
        interval=TICK_S,  # no timer ticks during the test: only the app's first one
    )
    app = make_app(opts, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await first_tick(app, pilot, settle=False)
        assert screen_lines(app)[0].startswith(" REPLAY ")
        await press_and_wait(app, pilot, "s")
        (saved,) = shots.glob("apm_dashboard_*.png")
        assert Image.open(saved).size == (1200, 800)
        assert any(m.startswith("Screenshot saved: ") for m, _ in notifications(app))


async def test_two_presses_in_one_second_make_two_files(tmp_path: Path) -> None:
    clock = FakeClock()
    app = app_saving_to(tmp_path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot, settle=False)
        await press_and_wait(app, pilot, "s")
        await press_and_wait(app, pilot, "s")
        stem = time.strftime("apm_dashboard_%Y%m%d-%H%M%S", time.localtime(clock.now))
        assert {p.name for p in tmp_path.glob("*.png")} == {f"{stem}.png", f"{stem}-2.png"}


async def test_an_unwritable_folder_is_a_notification_and_the_dashboard_runs(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    clock = FakeClock()
    app = app_saving_to(blocker / "sub", clock)
    async with app.run_test(size=SIZE) as pilot:
        await first_tick(app, pilot, settle=False)
        await press_and_wait(app, pilot, "s")
        errors = [m for m, severity in notifications(app) if severity == "error"]
        assert len(errors) == 1
        assert errors[0].startswith("Screenshot not saved: cannot create the folder")
        assert str(blocker / "sub") in errors[0]
        shown = app.ticks_shown
        await tick(app, pilot, clock, 1, settle=False)
        assert app.is_running and app.ticks_shown == shown + 1


async def test_the_palette_saves_png_and_the_same_svg_textual_would(tmp_path: Path) -> None:
    clock = FakeClock()
    app = app_saving_to(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await first_tick(app, pilot, settle=False)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        # Textual's own "Screenshot" (SVG into the downloads folder) is replaced by ours, and
        # its "Maximize" (which left the footer offering ⏎ Maximise) by the app's own.
        assert "Screenshot" not in commands and "Maximize" not in commands
        assert {"Maximise panel", "Restore layout", "Keys", "Theme"} <= set(commands)
        expected = textual_svg(app, exactly_textuals=True)
        commands["Save SVG screenshot"].callback()
        await pilot.pause(0.3)  # the command waits for the palette to close
        await app.workers.wait_for_complete()
        (svg,) = tmp_path.glob("apm_dashboard_*.svg")
        assert svg.read_text(encoding="utf-8") == expected
        commands["Save PNG screenshot"].callback()
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        (png,) = tmp_path.glob("apm_dashboard_*.png")
        assert Image.open(png).size == (1000, 600)


async def test_the_key_is_in_the_footer_and_the_help() -> None:
    app = make_app(dashboard_options(window_hours=1.0), clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        # The footer lays out its keys after the first frame; under load, a pause may be early.
        await wait_until(pilot, lambda: "s Save PNG" in screen_lines(app)[-1], "the footer's keys")
        assert ("s", "Save PNG") in app.key_descriptions()


def test_resolving_a_textual_style_matches_the_svg_rule() -> None:
    """The painter's colour rules are Rich's: a reverse, dim segment as the SVG fills it."""
    from rich.terminal_theme import SVG_EXPORT_THEME

    from apm_tui.export.png import resolve

    cs = resolve(Style(color="rgb(200,100,0)", bgcolor="rgb(0,0,100)", reverse=True, dim=True),
                 SVG_EXPORT_THEME)  # fmt: skip
    assert cs.fg == (80, 40, 60) and cs.bg == bytes((200, 100, 0))


# -- headless: report --png -------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--hours", "2", "--traces", "200", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_report_png_draws_the_dashboard_without_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "dash.png"
    done = run("--png", str(out), "--size", "100x30")
    assert done.returncode == 0, done.stderr
    assert f"✓ Saved {out} (100×30 cells, 1000×600 pixels)" in done.stdout
    assert "APPLICATION PERFORMANCE MONITORING REPORT" in done.stdout  # the text report too
    png = Image.open(out)
    assert png.format == "PNG" and png.size == (1000, 600)
    assert len(png.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50


def test_report_json_with_png_stays_one_json_document(tmp_path: Path) -> None:
    out = tmp_path / "dash.png"
    done = run("--json", "--png", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["png"] == {"file": str(out), "cells": [160, 50], "pixels": [1600, 1000]}
    assert Image.open(out).size == (1600, 1000)


def test_bad_png_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = {
        ("--png", str(tmp_path / "x.png"), "--size", "wide"): "must be COLSxROWS",
        ("--png", str(tmp_path / "x.png"), "--size", "20x5"): "from 40x12 to 500x200",
        ("--size", "100x30"): "give --png FILE too",
        ("--png", str(tmp_path / "no" / "x.png")): "no folder",
        ("--png", "/dev/full"): "No space left on device",
        # somebody's data, or the report's own input (`--from x.apmrec --png x.apmrec`)
        ("--png", str(tmp_path / "access.log")): "exists and is not a PNG",
    }
    (tmp_path / "access.log").write_text("1.1.1.1 - - [01/Jan/2026:00:00:01 +0000] ...\n")
    for args, message in cases.items():
        if "/dev/full" in args and not Path("/dev/full").exists():
            continue
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert (tmp_path / "access.log").read_text().startswith("1.1.1.1")  # untouched
    (tmp_path / "old.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"last night's")
    done = run("--png", str(tmp_path / "old.png"), "--size", "40x12", "--hours", "1")
    assert done.returncode == 0, done.stderr  # a picture is replaced, as a cron job wants


async def test_at_80x24_the_notification_gives_the_file_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: Textual's toasts take half the screen, and at 80 columns a file's path was
    folded mid-name (`…apm_dashboard_20261206-2358` / `12.png`); under the home folder it is
    said with `~`."""
    home = tmp_path / "home" / "someone-with-a-long-name"
    monkeypatch.setenv("HOME", str(home))
    folder = home / "screenshots" / "of-the-dashboard"
    clock = FakeClock()
    app = app_saving_to(folder, clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await first_tick(app, pilot, settle=False)
        await press_and_wait(app, pilot, "s")
        await pilot.pause()
        (saved,) = folder.iterdir()
        said = f"~/screenshots/of-the-dashboard/{saved.name}"
        assert (f"Screenshot saved: {said}", "information") in notifications(app)
        assert any(said in line for line in screen_lines(app)), screen_lines(app)[-8:]


def test_a_reports_picture_has_no_keys_row() -> None:
    # A picture of a report takes no keys: the live footer ("q Quit r Record …") was drawn.
    from apm_tui.analysis.full import analyse
    from apm_tui.commands.report_png import report_engine
    from apm_tui.config import Thresholds
    from apm_tui.model import newest_time
    from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
    from apm_tui.ui.headless import dashboard_screen
    from tests.conftest import WORLD_START

    batch = SyntheticSource(WorldSettings(hours=2, traces=80, start=WORLD_START)).backfill()
    engine = report_engine(batch, analyse(batch.metrics, batch.spans), Thresholds(), "report")
    try:
        screen = dashboard_screen(engine, newest_time(batch), (100, 30))
    finally:
        engine.close()
    rows = ["".join(segment.text for segment in line) for line in screen.lines]
    assert len(rows) == 30 and "Health" in "".join(rows)
    assert not any("Quit" in row or "Save PNG" in row for row in rows)
    assert rows[-1].startswith("╰")  # the panels reach the last row
