"""Replay keys: + / - change the speed, ] / [ move a minute on / back."""

from __future__ import annotations

from pathlib import Path

from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import Thresholds
from apm_tui.sources.recorded import ReplaySource
from apm_tui.ui.app import ApmApp, make_app
from apm_tui.ui.widgets.header import StatusHeader
from tests.conftest import WORLD_START
from tests.ui.conftest import TICK_S, FakeClock, first_tick, lines_of, tick, worker_tick


def recorded(tmp_path: Path, ticks: int = 200, at: float = WORLD_START + 7200) -> Path:
    """A recording of the synthetic world (60 world seconds a tick), its ticks made at `at`."""
    path = tmp_path / "r.apmrec"
    engine = make_engine(
        DashboardOptions(start=WORLD_START, window_hours=2, record=str(path)), Thresholds()
    )
    for i in range(ticks):
        engine.step(at + i)
    engine.close()
    return path


def replay_app(tmp_path: Path, at: float = WORLD_START + 7200) -> tuple[ApmApp, FakeClock]:
    clock = FakeClock()
    # (The app's timer at TICK_S never fires: the tests tick it by hand.)
    opts = DashboardOptions(
        sources=(), replay=str(recorded(tmp_path, at=at)), window_hours=2, interval=TICK_S
    )
    return make_app(opts, clock=clock), clock


def source_of(app) -> ReplaySource:  # type: ignore[no-untyped-def]
    found = app.replay_source()
    assert found is not None
    return found


async def test_speed_and_seek_keys(tmp_path: Path) -> None:
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        header = app.query_one(StatusHeader)
        assert header.text.plain.startswith(" REPLAY ") and "×1" in header.text.plain
        await pilot.press("plus", "plus")
        assert source_of(app).speed == 4
        await pilot.press("minus")
        assert source_of(app).speed == 2
        for _ in range(8):
            await pilot.press("plus")
        assert source_of(app).speed == 64  # the fastest
        await pilot.press("minus", "minus", "minus", "minus", "minus", "minus")
        assert source_of(app).speed == 1
        start = source_of(app).position(clock())
        await pilot.press("right_square_bracket")
        await pilot.pause()
        await tick(app, pilot, clock, 1, settle=False)
        ahead = source_of(app).position(clock())
        assert ahead >= start + 60
        newest = app.engine.window.newest()
        await pilot.press("left_square_bracket")
        await pilot.pause()
        await worker_tick(app, pilot, clock, 1.0)  # the app's own tick path rebuilds the engine
        back = source_of(app).position(clock())
        assert ahead - 60 <= back <= ahead - 58  # a fresh engine, played up to a minute back
        assert app.engine.window.newest() < newest
        assert source_of(app).speed == 1


async def type_goto(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("g")
    await pilot.pause()
    await pilot.press(*text, "enter")
    await pilot.pause()


async def test_go_to_a_time(tmp_path: Path) -> None:
    import time

    from apm_tui.ui.screens.goto import GoToScreen

    # Recorded a month after the world's own clock: `g` reads the header's clock, the world's.
    app, clock = replay_app(tmp_path, at=WORLD_START + 30 * 86_400)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        source = source_of(app)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GoToScreen)
        # It says which clock each form is on: a synthetic recording's replayed second is a
        # minute of its data, so "+10m" was read as ten minutes of the header's clock.
        hints = " ".join(str(w.render()) for w in app.screen.query(".dim"))
        assert "header's clock" in hints and "move through the recording" in hints
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GoToScreen)

        await type_goto(pilot, "+2m")  # an offset
        await worker_tick(app, pilot, clock, 1.0)
        ahead = source_of(app).position(clock())
        assert 120 <= ahead <= 123
        data = source.data_span()
        assert data is not None
        assert app.engine.window.newest() >= data[0] + 119 * 60  # 60 world seconds a tick

        # A UTC clock time as the header shows it, earlier than now: the engine is rebuilt.
        shown = app.query_one(StatusHeader).text.plain
        assert time.strftime("%H:%M:%S", time.gmtime(app.engine.window.newest())) in shown
        at = time.strftime("%H:%M:%S", time.gmtime(data[0] + 30 * 60))  # 30 ticks in
        newest = app.engine.window.newest()
        await type_goto(pilot, at)
        await worker_tick(app, pilot, clock, 1.0)
        back = source_of(app).position(clock())
        assert 30 <= back <= 32
        assert app.engine.window.newest() < newest

        await type_goto(pilot, "yesterday")  # nonsense: a notification, nothing moves
        messages = [n.message for n in app._notifications]
        assert any("use a UTC time" in m for m in messages)
        assert 30 <= source_of(app).position(clock()) <= 33


async def test_a_paused_replay_holds_its_place_and_follows_a_seek(tmp_path: Path) -> None:
    """A file can wait: paused, the replay clock stands still, so resuming goes on from there
    (a live source keeps filling the window instead); `]` while paused moves the view too."""
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await tick(app, pilot, clock, 5, seconds=1.0, settle=False)
        before = source_of(app).position(clock())
        clock.now += 0.7  # pressed between two ticks: held where the view is, not 0.7 s on
        await pilot.press("space")
        held = source_of(app).position(clock())
        assert held == before
        shown = app.snapshot.live.newest
        await tick(app, pilot, clock, 10, seconds=1.0, settle=False)
        assert source_of(app).position(clock()) == held
        assert app.engine.window.newest() == shown  # nothing more was played
        assert "‖" in app.query_one(StatusHeader).text.plain

        await pilot.press("right_square_bracket")
        await pilot.pause()
        await tick(app, pilot, clock, 1, seconds=1.0, settle=False)
        assert app.paused is not None  # still paused, at the new place
        assert source_of(app).position(clock()) == held + 60
        assert app.snapshot.live.newest == app.engine.window.newest() > shown

        await pilot.press("space")
        await tick(app, pilot, clock, 3, seconds=1.0, settle=False)
        assert source_of(app).position(clock()) == held + 60 + 3  # on from there, at ×1
        assert app.paused is None


async def test_at_80_columns_a_replay_keeps_its_place_health_and_every_key_it_shows(
    tmp_path: Path,
) -> None:
    """The header drops the product name, the sources and the date, then says the health and
    the anomaly count shortly, before it loses any of them or the position; the footer leaves
    out whole keys (never `?`) rather than cutting one."""
    from tests.ui.conftest import lines_of

    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot, settle=True)
        await tick(app, pilot, clock, 2, seconds=1.0, settle=True)
        await pilot.pause()
        header = app.query_one(StatusHeader)
        full = header.text.plain
        assert "apm-tui" in full and "replay r.apmrec" in full and len(full) > 80
        drawn = lines_of(header)[0].rstrip()
        assert drawn.startswith(" REPLAY  │ ") and "…" not in drawn
        for kept in ("UTC", "▶ 0:0", " / 3:19 ×1", "│ 100 EXCELLENT │ anom 0 (warming up)"):
            assert kept in drawn, kept
        for dropped in ("apm-tui", "r.apmrec", "2026-"):
            assert dropped not in drawn, dropped

        footer = lines_of(app.query_one("Footer"))[0].rstrip()
        assert footer.endswith(" ? Help")  # whole keys, the last one whole too
        for key in ("q Quit", "space Pause", "[] ∓1 min", "g Go to", "+- Speed"):
            assert key in footer, key
        assert "r Record" not in footer and "Maximise" not in footer  # the first left out

        await pilot.press("t")  # the trace screen adds its own keys before the app's
        await pilot.pause()
        await pilot.pause()
        footer = lines_of(app.screen.query_one("Footer"))[0].rstrip()
        assert footer.startswith("esc Close / Filter") and footer.endswith(" ? Help")
        assert "Speed" not in footer  # a group goes with its label
        await pilot.press("escape")
        await pilot.pause()

        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.pause()
        footer = lines_of(app.query_one("Footer"))[0]
        assert "r Record" in footer and "t Traces ? Help ⏎ Maximise" in footer
        assert lines_of(header)[0].startswith(" REPLAY  apm-tui  │ replay r.apmrec │ 2026-")


async def test_a_paused_replay_moved_back_shows_its_analysis_once_it_is_ready(
    tmp_path: Path,
) -> None:
    """Regression: after `[` (or `g`) in a paused replay the view showed the first tick of the
    rebuilt engine, "Analysing the window…", until the replay was resumed."""
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot)
        await tick(app, pilot, clock, 90, seconds=1.0)
        await pilot.press("space")
        await pilot.press("left_square_bracket")
        await pilot.pause()
        for _ in range(4):
            await worker_tick(app, pilot, clock, 1.0)
            app.engine.wait_for_background()
        assert app.paused is not None and app.snapshot is not None
        assert app.snapshot.analysis is not None
        health = "\n".join(lines_of(app.query_one("#health")))
        assert "Analysing" not in health and "/100" in health


async def minutes_on(app: ApmApp, pilot, clock: FakeClock, minutes: int) -> None:  # type: ignore[no-untyped-def]
    """`]` pressed `minutes` times, a one-second tick after each."""
    for _ in range(minutes):
        await pilot.press("right_square_bracket")
        await tick(app, pilot, clock, 1, seconds=1.0, settle=False)


async def test_seeks_pressed_quickly_all_count_and_keys_work_while_it_rebuilds(
    tmp_path: Path,
) -> None:
    import threading

    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await minutes_on(app, pilot, clock, 3)
        far = source_of(app).position(clock())
        assert far >= 180
        # Twice back before the next tick: two minutes back (the second press used to start
        # from where the replay was, not from where the first was taking it).
        await pilot.press("left_square_bracket", "left_square_bracket")
        await worker_tick(app, pilot, clock, 1.0)
        assert far - 120 <= source_of(app).position(clock()) <= far - 118

        # While the fresh engine opens the recording (slow for a salvaged file) the keys still
        # work, on the old one, and what they ask for is where the fresh one goes.
        build, gate = app._make_engine, threading.Event()
        assert build is not None

        def slow_build():  # type: ignore[no-untyped-def]
            gate.wait(30)
            return build()

        app._make_engine = slow_build
        here = source_of(app).position(clock())
        await pilot.press("left_square_bracket")
        clock.advance(1.0)
        app.request_tick()  # the worker waits in the build
        await pilot.pause()
        await pilot.press("plus", "right_square_bracket")  # the old engine is still there
        # Paused meanwhile, the arrows say why they wait (they froze the screen until the
        # fresh engine had read the recording).
        await pilot.press("space", "left")
        assert "Moving back in the replay: the arrows work once it is there." in [
            n.message for n in app._notifications
        ]
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert source_of(app).speed == 2
        assert here <= source_of(app).position(clock()) <= here + 2  # back a minute, on one
        assert app.paused == app.engine.window.newest()  # the paused view went there too
        await pilot.press("left")
        assert app.paused is not None and app.paused < app.engine.window.newest()


async def test_paused_right_after_a_seek_the_view_goes_where_it_lands(tmp_path: Path) -> None:
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await minutes_on(app, pilot, clock, 2)
        before = app.snapshot.live.newest  # type: ignore[union-attr]
        await pilot.press("left_square_bracket", "space")  # paused before the seek landed
        assert app.paused == before
        await worker_tick(app, pilot, clock, 1.0)
        assert app.paused is not None and app.paused < before - 50 * 60  # it went back
        assert app.paused == app.engine.window.newest()
        # A step back goes through the fresh engine's history, not to a tick shown before.
        samples = app.engine.window.metrics.column("timestamp")
        landed = app.paused
        await pilot.press("left")
        assert app.paused == samples[samples < landed].max()
        await pilot.press("right")
        assert app.paused == landed
        back = source_of(app).position(clock())
        # On: the source is not rebuilt, and pausing used to put it back where it was.
        await pilot.press("space", "right_square_bracket", "space")
        await worker_tick(app, pilot, clock, 1.0)
        assert back + 60 <= source_of(app).position(clock()) <= back + 61
        assert app.paused == app.engine.window.newest() > before - 50 * 60


async def test_a_recording_gone_while_moving_back_is_a_notification(tmp_path: Path) -> None:
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await minutes_on(app, pilot, clock, 1)
        engine, where = app.engine, source_of(app).position(clock())

        def gone():  # type: ignore[no-untyped-def]
            raise OSError("r.apmrec: no such file")

        app._make_engine = gone
        await pilot.press("left_square_bracket")
        await worker_tick(app, pilot, clock, 1.0)
        said = [n.message for n in app._notifications]
        assert "tick failed: cannot move back in the replay: r.apmrec: no such file" in said
        assert app.engine is engine and app._replay_from is None  # it plays on from there
        await worker_tick(app, pilot, clock, 1.0)
        assert source_of(app).position(clock()) >= where + 1


async def test_a_step_back_is_one_tick_back(tmp_path: Path) -> None:
    import numpy as np

    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await pilot.press("plus", "plus", "plus")  # 8 recorded ticks a tick
        await tick(app, pilot, clock, 6, seconds=1.0, settle=False)
        await pilot.press("space")
        ticks = sorted(set(app.tick_times))
        seen = [app.paused]
        for _ in range(4):
            await pilot.press("left")
            seen.append(app.paused)
        assert seen == ticks[::-1][:5]  # each press the tick before, no sample in between
        samples = app.engine.window.metrics.column("timestamp")
        between = samples[(samples > ticks[-5]) & (samples < ticks[-1])]
        assert np.setdiff1d(between, ticks).size  # (there were samples between them)


async def test_a_replay_at_its_end_is_marked_stopped(tmp_path: Path) -> None:
    app, clock = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        header = app.query_one(StatusHeader)
        assert "▶" in header.text.plain and " end" not in header.text.plain
        await tick(app, pilot, clock, 2, settle=False)  # an hour a tick: past the end
        assert "■ 3:19 / 3:19 end" in header.text.plain and "▶" not in header.text.plain


async def test_r_pressed_while_moving_back_still_counts(tmp_path: Path) -> None:
    import threading

    app, clock = replay_app(tmp_path)
    app.recordings_dir = tmp_path / "clips"
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        await minutes_on(app, pilot, clock, 2)
        build = app._make_engine
        assert build is not None

        async def back_pressing(keys: tuple[str, ...]) -> None:
            """`[`, then `keys` while the fresh engine is being built (on the old one)."""
            gate = threading.Event()

            def slow_build():  # type: ignore[no-untyped-def]
                gate.wait(30)
                return build()

            app._make_engine = slow_build
            old = app.engine
            await pilot.press("left_square_bracket")
            clock.advance(1.0)
            app.request_tick()
            await pilot.pause()
            await pilot.press(*keys)
            gate.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.engine is not old

        await back_pressing(("r",))  # not recording: r starts a clip, on the fresh engine
        assert app.engine.recorder is not None
        clips = list((tmp_path / "clips").glob("*.apmrec"))
        assert len(clips) == 1
        # Recording: the move back stops the clip, and an r meanwhile asked for that too.
        await back_pressing(("r",))
        assert app.engine.recorder is None
        said = [n.message for n in app._notifications]
        assert any("(the replay moved back)" in m for m in said)
        # Not recording: r twice is on and off again.
        await back_pressing(("r", "r"))
        assert app.engine.recorder is None
        assert len(list((tmp_path / "clips").glob("*.apmrec"))) == 1
