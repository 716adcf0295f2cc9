"""Regenerate the README's screenshots: PNGs painted by the app's own export (the `s` key's
`apm_tui.export.png`).

Run: python bench/make_screenshots.py. The synthetic world is fixed (start, seed, a fake clock),
so the pictures change only when the dashboard does. Writes screenshots/dashboard-WxH.png for
200×60, 120×40 and 80×24, and traces-120x40.png (the `t` screen on the slowest trace).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import png as png_bench  # noqa: E402  (bench/png.py: the same world and ticks)

from apm_tui.export.files import write_file  # noqa: E402
from apm_tui.export.png import render_png  # noqa: E402
from apm_tui.ui.screenshot import grab  # noqa: E402

OUT = ROOT / "screenshots"
SIZES = ((200, 60), (120, 40), (80, 24))


async def shot(width: int, height: int) -> None:
    app, now = png_bench.screenshot_app()
    async with app.run_test(size=(width, height)) as pilot:
        await png_bench.settled(app, pilot, now)
        name = f"dashboard-{width}x{height}"
        write_file(render_png(grab(app)), OUT / f"{name}.png")
        print(f"wrote screenshots/{name}.png")
        if (width, height) == (120, 40):
            await pilot.press("t")
            screen = app.screen
            for _ in range(500):  # the list and the waterfall are computed in a worker
                if getattr(screen, "rows", None):
                    break
                await pilot.pause(0.02)
            await pilot.pause()
            write_file(render_png(grab(app)), OUT / f"traces-{width}x{height}.png")
            print(f"wrote screenshots/traces-{width}x{height}.png")


async def main() -> None:
    for width, height in SIZES:
        await shot(width, height)


if __name__ == "__main__":
    asyncio.run(main())
