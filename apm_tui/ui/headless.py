"""The dashboard drawn off-screen, for `apm-tui report --png`: the same app and widgets, run
with Textual's headless driver (no terminal needed), stepped until every panel has its data.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from apm_tui.ui.app import ApmApp
from apm_tui.ui.screenshot import grab
from apm_tui.ui.widgets.footer import FittedFooter
from apm_tui.ui.widgets.panels import PANELS

if TYPE_CHECKING:
    from apm_tui.engine import Engine
    from apm_tui.export.png import Screen

#: The app's own timer never fires off-screen: the ticks are stepped here.
NEVER_S = 86_400.0
#: Ticks after the first: the anomaly model fitted after the first tick marks the history on
#: the next, and the endpoint table and histogram follow the series one tick later.
EXTRA_TICKS = 2
#: The first tick loads the data into the engine: minutes would mean something is wrong.
FIRST_TICK_S = 120.0


def dashboard_screen(engine: Engine, now: float, size: tuple[int, int]) -> Screen:
    """The dashboard's cells at `size` (columns, rows) once `engine` has shown its data as of
    `now` (the data's clock: the header shows it)."""
    return asyncio.run(_capture(engine, now, size))


async def _capture(engine: Engine, now: float, size: tuple[int, int]) -> Screen:
    app = ApmApp(engine, interval=NEVER_S, thresholds=engine.th, clock=lambda: now)
    async with app.run_test(headless=True, size=size) as pilot:
        deadline = time.monotonic() + FIRST_TICK_S
        while app.ticks_shown < 1:  # the app's own first tick, in its worker
            if not app.is_running or time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not show its first tick")
            await pilot.pause(0.01)
        await app.workers.wait_for_complete()
        for _ in range(EXTRA_TICKS):
            engine.wait_for_background()
            app.show_snapshot(engine.step(now))
            await pilot.pause()
        # A picture of a report takes no keys: its last row goes to the panels.
        app.query_one(FittedFooter).display = False
        app.redraw_stale_charts(limit=len(PANELS))
        await pilot.pause()
        return grab(app)
