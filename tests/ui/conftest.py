"""Helpers for the dashboard's Pilot tests: the app users run, driven tick by tick.

- `dashboard(clock)` builds the app through `make_app`, as the CLI does, with the synthetic world's
  start fixed and a `FakeClock`, so every run sees the same data.
- The app's timer is set to `TICK_S` (an hour), so it never fires during a test; `speed` is chosen
  so one tick is still one 60 s synthetic sample (the synthetic source's sample interval is
  `interval × speed`, see `commands.dashboard.make_sources`).
- The first tick is the app's own (its worker, right after the first frame: `first_tick`); later
  ticks are stepped by hand (`tick`): `Engine.step` → `show_snapshot` → `pilot.pause`, and
  `wait_for_background` so the anomaly fit and the full analysis are always at the same point.
- `lines_of(widget)` reads what the terminal shows, from the compositor (not the widgets' state).
- `assert_snapshot` compares `export_screenshot()` with `snapshots/NAME.svg` (our own helper:
  pytest-textual-snapshot pins syrupy 4.8, which needs pytest < 9).
  `python -m pytest tests/ui --snapshot-update` rewrites them; a missing one is written and its
  test skipped.
"""

from __future__ import annotations

import difflib
import html
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget

from apm_tui.commands.dashboard import DashboardOptions
from apm_tui.engine import Snapshot
from apm_tui.model import Batch, MetricSample
from apm_tui.ui.app import ApmApp, make_app

#: 2026-01-01 00:00 UTC, the synthetic history's start: a fixed day, whatever today is.
WORLD_START = 1_767_225_600.0
#: The app's tick interval in the tests: long enough that its timer never fires on its own.
TICK_S = 3600.0
#: Simulated seconds per wall second: one tick of TICK_S is one 60 s synthetic sample.
SPEED = 60.0 / TICK_S
#: Seconds between the fake metric sources' samples.
SAMPLE_S = 60.0
SNAPSHOTS = Path(__file__).with_name("snapshots")


class FakeClock:
    """The wall clock the app reads; it moves only when a test moves it."""

    def __init__(self, now: float = WORLD_START + 86_400.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def dashboard_options(**changes: Any) -> DashboardOptions:
    return DashboardOptions(start=WORLD_START, interval=TICK_S, speed=SPEED, **changes)


def dashboard(clock: FakeClock, *, window_hours: float = 24.0, isolate_fits: bool = True) -> ApmApp:
    """The dashboard as users get it (`make_app`, the synthetic world, fits in a child process).

    Two knobs keep the file fast where a test does not need the default world: `window_hours`
    (the `--window` option: a 1-hour world starts ≈ 0.6 s sooner than the default day, and
    with fewer than 64 samples no anomaly model is fitted during the test) and
    `isolate_fits=False`, which fits the anomaly model in this process (the same model and
    the same screen, ≈ 3 s cheaper per app: each child process imports scikit-learn again).
    """
    app = make_app(dashboard_options(window_hours=window_hours), clock=clock)
    app.engine.isolate_fits = isolate_fits
    return app


async def wait_until(
    pilot: Pilot[Any], ready: Callable[[], bool], what: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not pilot.app.is_running:
            raise AssertionError(f"the app exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


async def first_tick(app: ApmApp, pilot: Pilot[Any], *, settle: bool = True) -> None:
    """Wait for the app's own first tick (its worker), and with `settle` for the background work
    it started (the first anomaly fit and the full analysis)."""
    await wait_until(pilot, lambda: app.ticks_shown >= 1, "the first tick")
    await app.workers.wait_for_complete()
    await pilot.pause()
    if settle:
        app.engine.wait_for_background()


async def tick(
    app: ApmApp,
    pilot: Pilot[Any],
    clock: FakeClock,
    count: int = 1,
    *,
    seconds: float = TICK_S,
    settle: bool = True,
) -> Snapshot:
    """Step `count` ticks by hand, as the app's timer would, and return the last snapshot."""
    snap = None
    for _ in range(count):
        snap = app.engine.step(clock.advance(seconds))
        app.show_snapshot(snap)
        await pilot.pause()
        if settle:
            app.engine.wait_for_background()
    assert snap is not None
    return snap


async def worker_tick(app: ApmApp, pilot: Pilot[Any], clock: FakeClock, seconds: float) -> None:
    """One tick through the app's own path (timer callback → thread worker → message)."""
    shown = app.ticks_shown
    failures = len([n for n in app._notifications if n.severity == "error"])
    clock.advance(seconds)
    app.request_tick()
    await wait_until(
        pilot,
        lambda: (
            app.ticks_shown > shown
            or len([n for n in app._notifications if n.severity == "error"]) > failures
        ),
        "a tick (shown or failed)",
    )
    await app.workers.wait_for_complete()
    await pilot.pause()


def lines_of(widget: Widget) -> list[str]:
    """The terminal's text where `widget` is, as the compositor of its screen draws it."""
    region = widget.region
    strips = widget.screen._compositor.render_strips()
    return [strip.crop(region.x, region.right).text for strip in strips[region.y : region.bottom]]


def screen_lines(app: App[Any]) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def notifications(app: App[Any]) -> list[tuple[str, str]]:
    return [(n.message, n.severity) for n in app._notifications]


# -- fake sources -----------------------------------------------------------------------------


def cpu_at(i: int) -> float:
    return 20.0 + (i * 7) % 31 + 0.25


def memory_at(i: int) -> float:
    return 40.0 + 3 * math.sin(i / 4) + (i % 5)


class MetricsSource:
    """Host metrics only (CPU and memory), one sample a minute from WORLD_START: no requests.

    The counters let tests check the Source contract (`open` and `backfill` are called once).
    """

    def __init__(self, name: str = "host-metrics", history: int = 90) -> None:
        self.name = name
        self.history = history
        self.next = 0
        self.opens = self.backfills = self.polls = 0

    def sample(self, i: int) -> MetricSample:
        return MetricSample(
            timestamp=WORLD_START + SAMPLE_S * i, cpu_pct=cpu_at(i), memory_pct=memory_at(i)
        )

    def open(self) -> None:
        self.opens += 1

    def backfill(self) -> Batch:
        self.backfills += 1
        self.next = self.history
        return Batch.of(samples=[self.sample(i) for i in range(self.history)])

    def poll(self, now: float) -> Batch:
        self.polls += 1
        batch = Batch.of(samples=[self.sample(self.next)])
        self.next += 1
        return batch

    def close(self) -> None:
        pass

    @property
    def last(self) -> MetricSample:
        return self.sample(self.next - 1)


class FailingSource:
    """A source that raises `error` from `where` ("poll" or "backfill") on the calls listed."""

    def __init__(
        self,
        error: Exception,
        *,
        where: str = "poll",
        calls: Callable[[int], bool] = lambda n: True,
        name: str = "flaky-feed",
    ) -> None:
        self.name = name
        self.error = error
        self.where = where
        self.calls = calls
        self.counts = {"poll": 0, "backfill": 0}

    def _maybe_fail(self, method: str) -> None:
        self.counts[method] += 1
        if method == self.where and self.calls(self.counts[method]):
            raise self.error

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        self._maybe_fail("backfill")
        return Batch()

    def poll(self, now: float) -> Batch:
        self._maybe_fail("poll")
        return Batch()

    def close(self) -> None:
        pass


# -- SVG snapshots ----------------------------------------------------------------------------


#: One run of text in Rich's SVG export: its row (y) and its characters.
SVG_TEXT = re.compile(r'<text class="[^"]*-r\d+" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)</text>')


def svg_text(svg: str) -> list[str]:
    """The screen's text, row by row, from an SVG screenshot (to show what changed)."""
    rows: dict[float, list[str]] = {}
    for y, run in SVG_TEXT.findall(svg):
        rows.setdefault(float(y), []).append(html.unescape(run))
    return ["".join(runs).rstrip() for _, runs in sorted(rows.items())]


@pytest.fixture
def assert_snapshot(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str, str], None]]:
    """`assert_snapshot(name, svg)`: compare with snapshots/NAME.svg, or write it.

    Nothing is stripped from the SVG: with the fake clock it has no volatile part (Rich names
    its CSS classes after a hash of the content, and the header's clock is the data's clock).
    """
    update = bool(request.config.getoption("--snapshot-update", default=False))

    def check(name: str, svg: str) -> None:
        path = SNAPSHOTS / f"{name}.svg"
        if update or not path.exists():
            existed = path.exists()
            SNAPSHOTS.mkdir(exist_ok=True)
            path.write_text(svg, encoding="utf-8")
            pytest.skip(f"snapshot {'updated' if existed else 'created'}: {path}; run again")
        expected = path.read_text(encoding="utf-8")
        if svg != expected:
            actual = tmp_path / f"{name}.actual.svg"
            actual.write_text(svg, encoding="utf-8")
            diff = list(
                difflib.unified_diff(
                    svg_text(expected), svg_text(svg), "stored", "actual", lineterm="", n=0
                )
            )
            shown = "\n".join(diff[:30]) if diff else "(same text: colours or styles differ)"
            pytest.fail(
                f"{name}.svg differs from the rendering; actual saved as {actual}. "
                f"Update with --snapshot-update if the change is intended.\n{shown}"
            )

    yield check
