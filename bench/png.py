"""How long a PNG of the dashboard takes: `python bench/png.py [--quick]`.

A real 200×60 dashboard screen (the synthetic world of bench/make_screenshots.py, eight ticks
in, every chart drawn) is grabbed once from the compositor, as the `s` key grabs it; then the
bench times, over RUNS renders, the median of: painting the cells (`export.png.render`),
encoding the PNG (`export.png.encode`) and the two together — the work the `s` key's thread
worker does before writing the file. The first render, which loads the fonts and fills the
glyph cache, is reported apart. The grab itself (on the UI thread) is timed too.
Target: render + encode ≤ 150 ms. Prints one table, writes bench/results/png.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from charts import median_ms  # noqa: E402  (bench/charts.py: one warm-up call, then the median)

from apm_tui.commands.dashboard import DashboardOptions  # noqa: E402
from apm_tui.export.png import Screen, encode, glyphs_for, render  # noqa: E402
from apm_tui.ui.app import ApmApp, make_app  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "png.json"
START = 1767225600.0 + 15 * 3600  # 2026-01-01 15:00 UTC: the history ends mid-afternoon
SIZE = (200, 60)
TARGET_MS = 150.0


async def settled(app: ApmApp, pilot: Any, now: list[float], ticks: int = 8) -> None:
    """Step the app's engine `ticks` one-minute ticks and draw every chart."""
    for _ in range(ticks):
        now[0] += 3600
        snap = app.engine.step(now[0])
        app.engine.wait_for_background()
        app.show_snapshot(snap)
        await pilot.pause()
    app.redraw_stale_charts(limit=9)
    await pilot.pause()


def screenshot_app() -> tuple[ApmApp, list[float]]:
    """The dashboard on the fixed synthetic world (one-hour ticks at 1/60 speed: each step is
    one simulated minute, one sample)."""
    now = [START + 86_400]
    opts = DashboardOptions(start=START, interval=3600, speed=1 / 60)
    return make_app(opts, clock=lambda: now[0]), now


async def grab_screen(size: tuple[int, int] = SIZE) -> tuple[Screen, float]:
    """A settled dashboard's screen, and how long the grab took (ms)."""
    from apm_tui.ui.screenshot import grab

    app, now = screenshot_app()
    async with app.run_test(size=size) as pilot:
        await settled(app, pilot, now)
        t0 = time.perf_counter()
        screen = grab(app)
        return screen, (time.perf_counter() - t0) * 1e3


def collect(quick: bool = False) -> dict[str, Any]:
    runs = 5 if quick else 21
    screen, grab_ms = asyncio.run(grab_screen())
    glyphs_for.cache_clear()  # the first render below pays for the fonts and glyphs
    t0 = time.perf_counter()
    image = render(screen)
    first_ms = (time.perf_counter() - t0) * 1e3
    data = encode(image)
    render_ms = median_ms(lambda: render(screen), runs)
    encode_ms = median_ms(lambda: encode(image), runs)
    total_ms = median_ms(lambda: encode(render(screen)), runs)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "pixels": list(image.size),
        "png_kb": len(data) / 1024,
        "runs": runs,
        "grab_ms": grab_ms,
        "first_render_ms": first_ms,
        "render_ms_p50": render_ms,
        "encode_ms_p50": encode_ms,
        "total_ms_p50": total_ms,
        "target_ms": TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    out = collect(args.quick)
    w, h = out["pixels"]
    print(f"PNG of a {out['size']} dashboard ({w}×{h} px, {out['png_kb']:.0f} KB), "
          f"median of {out['runs']}:")  # fmt: skip
    print(f"  grab (UI thread)   {out['grab_ms']:7.1f} ms")
    print(f"  first render       {out['first_render_ms']:7.1f} ms  (fonts, glyph cache)")
    print(f"  render             {out['render_ms_p50']:7.1f} ms")
    print(f"  encode             {out['encode_ms_p50']:7.1f} ms")
    met = "met" if out["total_ms_p50"] <= TARGET_MS else "NOT met"
    print(f"  render + encode    {out['total_ms_p50']:7.1f} ms  (target ≤ {TARGET_MS:.0f}: {met})")
    print(f"  {out['date']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
