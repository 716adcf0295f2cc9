"""One chart, drawn by plotext and by apm-tui's renderer (`apm_tui.ui.plot`), side by side.

Run: python bench/charts.py [--quick]. Installs plotext with pip if it is missing (it is not a
dependency any more: this bench is why). For a 64×16 and a 200×56 (maximised) chart with two
112-point lines, a threshold line and anomaly markers — the response-time panel — it measures
the median time of: plotext `build()`, plotext's output parsed into a Rich Text (what a widget
has to do with it), and our `Figure.lines()` (Segments, what the Chart widget paints).
Prints one table with the ratio plotext / ours, and writes bench/results/charts.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "charts.json"
SIZES = ((64, 16), (200, 56))


PLOTEXT = "plotext>=5.3,<6"  # 6.x moved the figure class this bench drives


def ensure_plotext() -> Any:
    try:
        from plotext._figure import _figure_class  # type: ignore[import-untyped]
    except ImportError:
        print(f"plotext 5 missing: python3 -m pip install '{PLOTEXT}'", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PLOTEXT], check=True)
        importlib.invalidate_caches()  # the finders cached site-packages before the install
        for name in [m for m in sys.modules if m == "plotext" or m.startswith("plotext.")]:
            del sys.modules[name]
        from plotext._figure import _figure_class

    return _figure_class


def data() -> tuple[list[float], list[float], list[float], list[float], list[float]]:
    rng = np.random.default_rng(0)
    x = (np.arange(112) * 900.0).tolist()
    avg = (60 + 10 * np.sin(np.arange(112) / 9) + rng.normal(0, 3, 112)).tolist()
    p95 = (np.array(avg) * 4 + rng.normal(0, 20, 112)).tolist()
    marks = sorted(rng.choice(112, 6, replace=False).tolist())
    return x, avg, p95, [x[i] for i in marks], [p95[i] for i in marks]


def plotext_chart(figure_class: Any, w: int, h: int) -> str:
    x, avg, p95, mx, my = data()
    fig = figure_class()
    fig._limit_size(False, False)
    fig.plotsize(w, h)
    fig.theme("clear")
    fig.plot(x, avg, marker="braille", color=(0, 120, 200), label="avg")
    fig.plot(x, p95, marker="braille", color=(200, 120, 0), label="P95")
    fig.scatter(mx, my, marker="x", color=(255, 0, 0))
    fig.horizontal_line(300, color=(255, 0, 0))
    fig.xticks(x[::28], ["12:00"] * len(x[::28]))
    return str(fig.build())


def our_chart(w: int, h: int) -> list[Any]:
    from apm_tui.ui.plot import Figure

    x, avg, p95, mx, my = data()
    fig = Figure(w, h)
    fig.plot(x, avg, color=(0, 120, 200), label="avg")
    fig.plot(x, p95, color=(200, 120, 0), label="P95")
    fig.scatter(mx, my, color=(255, 0, 0))
    fig.horizontal_line(300, (255, 0, 0))
    fig.xticks(x[::28], ["12:00"] * len(x[::28]))
    return fig.lines()


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def collect(quick: bool = False) -> dict[str, Any]:
    from rich.text import Text

    runs = 5 if quick else 41
    figure_class = ensure_plotext()
    rows = []
    for w, h in SIZES:
        # Interleaved, so both see the same machine load.
        built = plotext_chart(figure_class, w, h)
        p_build = median_ms(partial(plotext_chart, figure_class, w, h), runs)
        p_parse = median_ms(partial(Text.from_ansi, built, no_wrap=True), runs)
        ours = median_ms(partial(our_chart, w, h), runs)
        rows.append(
            {
                "size": f"{w}x{h}",
                "plotext_build_ms": p_build,
                "plotext_parse_ms": p_parse,
                "ours_ms": ours,
                "ratio_plotext_over_ours": (p_build + p_parse) / ours,
            }
        )
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    out = collect(args.quick)
    print(f"{'chart':<8} {'plotext build':>14} {'+ parse':>9} {'ours':>8} {'plotext/ours':>13}")
    for r in out["rows"]:
        print(
            f"{r['size']:<8} {r['plotext_build_ms']:>11.2f} ms {r['plotext_parse_ms']:>6.2f} ms"
            f" {r['ours_ms']:>5.2f} ms {r['ratio_plotext_over_ours']:>12.1f}×"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
