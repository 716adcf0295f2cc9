"""`apm-tui report` speed: wall time of the whole command, and the analysis alone after imports.

Run: python bench/report_speed.py [--quick] [--repeat N]. Prints medians; the machines are shared
and noisy, so each figure is the median of N runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORLDS = {"1 day": ("24", "1000"), "30 days": ("720", "30000")}


def wall(hours: str, traces: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--hours", hours, "--traces", traces],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return time.perf_counter() - start


def after_imports(hours: str, traces: str) -> tuple[float, float, float]:
    """(import s, generate s, analyse s) in a fresh interpreter."""
    code = f"""
import time, json
t0 = time.perf_counter()
import sklearn.ensemble, pandas
from apm_tui.analysis.full import analyse
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
t1 = time.perf_counter()
batch = SyntheticSource(WorldSettings(hours={hours}, traces={traces}, start=0)).backfill()
t2 = time.perf_counter()
analyse(batch.metrics, batch.spans)
t3 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    imp, gen, ana = json.loads(out)
    return imp, gen, ana


def collect(quick: bool = False, repeat: int = 5) -> dict[str, dict[str, float]]:
    repeat = 1 if quick else repeat
    worlds = {"1 day": WORLDS["1 day"]} if quick else WORLDS
    results: dict[str, dict[str, float]] = {}
    for label, (hours, traces) in worlds.items():
        walls = [wall(hours, traces) for _ in range(repeat)]
        parts = [after_imports(hours, traces) for _ in range(repeat)]
        results[label] = {
            "report_wall_s": statistics.median(walls),
            "imports_s": statistics.median(p[0] for p in parts),
            "generate_s": statistics.median(p[1] for p in parts),
            "analyse_s": statistics.median(p[2] for p in parts),
        }
    return results


def main() -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1 run each, 1-day world only")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = collect(args.quick, args.repeat)
    print(f"{'world':<10}{'report wall':>13}{'imports':>10}{'generate':>10}{'analyse':>10}")
    for label, r in results.items():
        print(
            f"{label:<10}{r['report_wall_s']:>12.2f}s{r['imports_s']:>9.2f}s"
            f"{r['generate_s']:>9.2f}s{r['analyse_s']:>9.2f}s"
        )
    return results


if __name__ == "__main__":
    main()
