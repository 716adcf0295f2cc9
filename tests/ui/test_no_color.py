"""NO_COLOR (https://no-color.org) with each kind of theme: the screen stays readable."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from textual.app import App

from tests.ui.conftest import FakeClock, dashboard, first_tick


def header_colours(app: App[object]) -> set[tuple[str | None, str | None]]:
    """The (foreground, background) of each styled segment of the header's line, as the
    terminal gets it (the compositor's line, after the app's filters), named as Rich names them."""
    pairs = set()
    segment: Segment
    for segment in app.screen._compositor.render_strips()[0]:
        if segment.style is None or not segment.text.strip():
            continue
        fg, bg = segment.style.color, segment.style.bgcolor
        pairs.add((fg and fg.name, bg and bg.name))
    return pairs


@pytest.mark.parametrize("theme", ["ansi-light", "ansi-dark"])
async def test_an_ansi_theme_under_no_color_keeps_the_terminals_own_colours(
    monkeypatch: pytest.MonkeyPatch, theme: str
) -> None:
    """Regression: Textual kept the greying filter it chose for the theme at start, which
    turned an ANSI theme's default colours into black text on a black ground."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await first_tick(app, pilot)
        greyed = header_colours(app)
        assert all(fg and fg.startswith("#") for fg, _ in greyed)  # Monochrome's greys at start

        app.theme = theme
        await pilot.pause()
        await pilot.pause()
        shown = header_colours(app)
        assert shown == {("default", "default")}

        app.theme = "textual-dark"  # and back: greyed again, not left colourless
        await pilot.pause()
        await pilot.pause()
        assert header_colours(app) == greyed


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
async def test_the_mode_badge_is_readable_under_no_color(
    monkeypatch: pytest.MonkeyPatch, theme: str
) -> None:
    """Black on green, with every named colour drawn as one grey, was grey on the same grey:
    the badge a blank block."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await first_tick(app, pilot)
        app.theme = theme
        await pilot.pause()
        await pilot.pause()
        segment: Segment
        for segment in app.screen._compositor.render_strips()[0]:
            if segment.text.strip() == "LIVE":
                break
        else:
            raise AssertionError("no LIVE badge in the header")
        style = segment.style
        assert style is not None
        # Reverse video (the terminal swaps its own two colours), or two different colours.
        assert style.reverse or style.color != style.bgcolor
