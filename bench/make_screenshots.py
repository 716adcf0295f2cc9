"""Regenerate the README's screenshots with the app's own SVG export.

Run: python bench/make_screenshots.py. The synthetic world is fixed (start, seed, a fake clock),
so the pictures change only when the dashboard does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apm_tui.commands.dashboard import DashboardOptions  # noqa: E402
from apm_tui.ui.app import make_app  # noqa: E402

START = 1767225600.0 + 15 * 3600  # 2026-01-01 15:00 UTC: the history ends mid-afternoon


async def shot(width: int, height: int, name: str) -> None:
    now = [START + 86_400]
    # A one-hour tick at 1/60 speed: each step is one simulated minute, one sample.
    opts = DashboardOptions(start=START, interval=3600, speed=1 / 60)
    app = make_app(opts, clock=lambda: now[0])
    async with app.run_test(size=(width, height)) as pilot:
        for _ in range(8):
            now[0] += 3600
            snap = app.engine.step(now[0])
            app.engine.wait_for_background()
            app.show_snapshot(snap)
            await pilot.pause()
        app.redraw_stale_charts(limit=9)
        await pilot.pause()
        app.save_screenshot(filename=name, path=str(ROOT / "screenshots"))


async def main() -> None:
    await shot(200, 60, "dashboard-200x60.svg")
    await shot(80, 24, "dashboard-80x24.svg")


if __name__ == "__main__":
    asyncio.run(main())
