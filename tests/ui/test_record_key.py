"""The `r` key: start and stop recording from the live dashboard, and what it says."""

from __future__ import annotations

from pathlib import Path

from apm_tui.recording import Recording
from apm_tui.ui.app import make_app
from apm_tui.ui.widgets.header import StatusHeader
from tests.ui.conftest import FakeClock, dashboard_options, first_tick, notifications, tick


async def test_r_starts_and_stops_a_recording_the_header_and_a_notification_say_so(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "recs"
    clock = FakeClock()
    app = make_app(dashboard_options(window_hours=1.0, recordings_dir=str(folder)), clock=clock)
    app.engine.isolate_fits = False
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        header = app.query_one(StatusHeader)
        assert "REC" not in header.text.plain
        await pilot.press("r")
        await tick(app, pilot, clock, 3, settle=False)
        files = list(folder.glob("apm-tui-*.apmrec"))
        assert len(files) == 1
        assert "● REC" in header.text.plain
        assert any(f"recording to {files[0]}" in m for m, _ in notifications(app))
        await pilot.press("r")
        await tick(app, pilot, clock, 1, settle=False)
        assert "REC" not in header.text.plain
        assert any("recording stopped" in m for m, _ in notifications(app))
        # Pressed twice before the next tick: each press counts (stop, then start again).
        await pilot.press("r")
        await tick(app, pilot, clock, 1, settle=False)
        await pilot.press("r", "r")
        await tick(app, pilot, clock, 1, settle=False)
        assert "● REC" in header.text.plain
        assert len(list(folder.glob("apm-tui-*.apmrec"))) == 3
    ticks = list(Recording.open(files[0]).ticks())
    assert ticks[0].history and len(ticks[0].batch.metrics) >= 60  # the window so far
    assert sum(not t.history for t in ticks) == 3  # the three ticks between the two presses


async def test_stepping_through_a_pause_keeps_the_rec_badge(tmp_path: Path) -> None:
    """Regression: a step while paused drew the header without ● REC, recording still on."""
    clock = FakeClock()
    app = make_app(dashboard_options(window_hours=1.0, recordings_dir=str(tmp_path)), clock=clock)
    app.engine.isolate_fits = False
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("r")
        await tick(app, pilot, clock, 2, settle=False)
        await pilot.press("space")
        for key in ("left", "right", "home", "end"):
            await pilot.press(key)
            assert "● REC" in app.query_one(StatusHeader).text.plain, key


async def test_r_into_an_unwritable_folder_is_a_notification_and_the_dashboard_runs(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    clock = FakeClock()
    app = make_app(
        dashboard_options(window_hours=1.0, recordings_dir=str(blocker / "sub")), clock=clock
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("r")
        await tick(app, pilot, clock, 2, settle=False)
        said = [m for m, _ in notifications(app) if "cannot record" in m]
        assert said == [f"cannot record: cannot make the folder {blocker / 'sub'}: Not a directory"]
        assert "REC" not in app.query_one(StatusHeader).text.plain
        assert app.ticks_shown >= 3
        app.recordings_dir = blocker  # a file where the folder should be
        await pilot.press("r")
        await tick(app, pilot, clock, 1, settle=False)
        assert f"cannot record: {blocker} is not a folder" in [m for m, _ in notifications(app)]
