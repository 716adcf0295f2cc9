"""Pause without losing data, step through the window, and back to live."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apm_tui.ui.widgets.header import StatusHeader, duration
from tests.ui.conftest import FakeClock, dashboard, first_tick, lines_of, tick


def header(app) -> str:  # type: ignore[no-untyped-def]
    return app.query_one(StatusHeader).text.plain


async def test_a_paused_view_stepped_away_from_and_back_is_the_same() -> None:
    """Regression: rows of the paused view's 24 h were dropped as the window moved on behind
    the pause, so stepping away and back showed fewer requests (8,578 for 8,647), still
    labelled as the whole window."""
    clock = FakeClock()
    app = dashboard(clock, window_hours=2.0, isolate_fits=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("space")
        paused = app.snapshot.live

        def seen(live):  # type: ignore[no-untyped-def]
            return live.oldest, live.oldest_request, live.histogram.requests, live.endpoints

        await tick(app, pilot, clock, 10, settle=False)  # the window moves on behind the pause
        assert app.engine.window.newest() - 2 * 3600 > paused.oldest
        # What the ticks compute meanwhile (shown on resuming) is 2 h, not the rows held.
        assert app.latest.live.newest == app.engine.window.newest()
        assert app.latest.live.oldest >= app.latest.live.newest - 2 * 3600
        app.engine.wait_for_background()
        analysed = app.engine.analysis
        assert analysed is not None and analysed.start >= analysed.end - 2 * 3600
        await pilot.press("left")
        await pilot.press("right")
        assert app.snapshot.live.newest == paused.newest
        assert seen(app.snapshot.live) == seen(paused)
        await pilot.press("end")  # the newest data's view is 2 h too, not 2 h and the pause
        end = app.snapshot.live
        assert end.newest == app.engine.window.newest() and end.oldest >= end.newest - 2 * 3600
        await pilot.press("space")  # live again: the window is 2 h once more
        await tick(app, pilot, clock, 1, settle=False)
        window = app.engine.window
        assert window.oldest() >= window.newest() - 2 * 3600


async def test_space_freezes_the_view_while_the_window_keeps_filling() -> None:
    clock = FakeClock()
    app = dashboard(clock, window_hours=2.0, isolate_fits=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("space")
        assert header(app).startswith(" PAUSED ")
        frozen = app.snapshot.live.newest
        rows = len(app.engine.window.metrics)
        await tick(app, pilot, clock, 3, settle=False)
        assert app.snapshot.live.newest == frozen  # the view did not move
        assert len(app.engine.window.metrics) >= rows  # the window kept filling (and aging)
        assert app.engine.window.newest() > frozen
        await pilot.press("left")
        one_back = app.snapshot.live.newest
        await pilot.press("left")
        two_back = app.snapshot.live.newest
        assert two_back < one_back < frozen
        await pilot.press("right")
        assert app.snapshot.live.newest == one_back
        await pilot.press("home")
        assert app.snapshot.live.newest == app.engine.window.oldest()
        await pilot.press("left")  # the start is as far back as it goes
        assert app.snapshot.live.newest == app.engine.window.oldest()
        await pilot.press("end")
        assert app.snapshot.live.newest == app.engine.window.newest()
        assert header(app).startswith(" PAUSED ")
        await pilot.press("space")
        assert header(app).startswith(" LIVE ")
        assert app.snapshot.live.newest == app.engine.window.newest()
        await tick(app, pilot, clock, 1, settle=False)
        assert app.snapshot.live.newest > frozen


async def test_a_paused_view_is_the_view_the_live_dashboard_showed_then() -> None:
    clock = FakeClock()
    app = dashboard(clock, window_hours=2.0, isolate_fits=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await tick(app, pilot, clock, 2, settle=False)
        before = app.snapshot
        await tick(app, pilot, clock, 2, settle=False)
        await pilot.press("space")
        for _ in range(50):  # back to the tick `before` was shown at
            if app.snapshot.live.newest <= before.live.newest:
                break
            await pilot.press("left")
        past = app.snapshot
        assert past.live.newest == before.live.newest
        for key, value in before.live.current.items():
            other = past.live.current[key]
            assert value == other or (value != value and other != other), key
        assert past.live.endpoints == app.engine.view_at(before.live.newest).live.endpoints


async def test_a_paused_header_says_how_far_behind_live_the_view_is() -> None:
    clock = FakeClock()
    app = dashboard(clock, window_hours=2.0, isolate_fits=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("space")
        assert "behind live" not in header(app)  # not yet: nothing newer has come in
        await tick(app, pilot, clock, 3, settle=False)
        behind = app.engine.window.newest() - app.snapshot.live.newest
        assert behind > 0
        assert f"‖ {duration(behind)} behind live" in header(app)
        await pilot.press("left")
        further = app.engine.window.newest() - app.snapshot.live.newest
        assert further > behind and f"‖ {duration(further)} behind live" in header(app)
        await pilot.press("space")
        assert "behind" not in header(app)


async def test_the_window_start_does_not_blame_a_source_for_what_it_has_not_sent_yet() -> None:
    """Regression: paused at `home` the synthetic world's CPU & memory panel said "No host
    metrics from this source" (it has them, later in the window), and the distribution counted
    "1 requests"."""
    clock = FakeClock()
    app = dashboard(clock, window_hours=2.0, isolate_fits=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot)
        await pilot.press("space", "home")
        resources = " ".join(lines_of(app.query_one("#resources")))
        assert "from this source" not in resources
        assert "No host metrics in view yet." in resources
        h = app.snapshot.live.histogram
        assert h is not None and h.requests == 1  # the window's first trace alone
        shown = " ".join(lines_of(app.query_one("#distribution")))
        assert "· 1 request " in shown


async def test_the_screen_is_painted_again_after_a_toast_goes_while_paused() -> None:
    """Paused (nothing else drawn), Textual left expired toasts' last frames on a terminal
    under load — `PAU▌` and `Screenshot saved: …` fragments for minutes, until a resize (seen
    in tmux; the app's own picture of the screen was right, so this checks the repaint that
    mends it: the whole screen, once, just after the toast has gone)."""
    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)
        await pilot.press("space")
        await pilot.pause()
        painted: list[bool] = []
        screen = app.screen
        original = screen.refresh

        def refresh(*regions: Any, **kwargs: Any) -> Any:
            painted.append(not regions)  # a whole-screen refresh
            return original(*regions, **kwargs)

        screen.refresh = refresh  # type: ignore[method-assign]
        app.notify("Screenshot saved: x.png", timeout=0.2)
        await asyncio.sleep(0.4)
        await pilot.pause()
        assert not any(painted)  # not while it shows
        await asyncio.sleep(0.6)
        await pilot.pause()
        assert any(painted)


async def test_the_repaint_after_a_toast_is_skipped_once_the_app_is_closing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quit while a toast showed, its repaint came as the screens were being removed: a
    ScreenStackError traceback (seen once in CI)."""
    from textual.app import ScreenStackError

    from apm_tui.ui.app import ApmApp

    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)

        def no_screen(self: ApmApp) -> None:
            raise ScreenStackError("No screens on stack")

        monkeypatch.setattr(ApmApp, "screen", property(no_screen))
        app._repaint_after_toast()  # nothing to paint, and no exception
        monkeypatch.undo()
