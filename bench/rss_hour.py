"""Resident memory of the running dashboard over an hour (or --minutes), in a real terminal.

Run: python bench/rss_hour.py [--minutes 60] [--tree DIR]. Launches `apm-tui` (synthetic) and
`apm-tui --source system` side by side in 200×60 tmux panes of the bench's own tmux server,
reads each one's VmRSS every minute, and prints the series with the growth after the first
ten minutes. `--tree` runs the code of another checkout (a `git worktree` of the commit being
measured), so editing this one during the hour does not change what is measured.
Writes bench/results/rss_hour.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import launch, pane_pid, rss_mb, stop, tmux_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "rss_hour.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    tree = args.tree.resolve()
    # The checkout's code, whatever is installed; model fits (child processes) inherit it.
    os.environ["PYTHONPATH"] = str(tree)
    run = [sys.executable, "-c", "import sys; from apm_tui.cli import main; sys.exit(main())"]
    programs = {"synthetic": run, "--source system": [*run, "--source", "system"]}
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in programs}
    with tmux_server():
        pids = {}
        for i, (label, argv) in enumerate(programs.items()):
            launch(f"rss{i}", argv)
            pids[label] = pane_pid(f"rss{i}")
        t0 = time.monotonic()
        for minute in range(args.minutes + 1):
            time.sleep(max(0.0, t0 + 60 * minute - time.monotonic()))
            for label, pid in pids.items():
                samples[label].append((minute, rss_mb(pid)))
            print(minute, {k: round(v[-1][1], 1) for k, v in samples.items()}, flush=True)
        for i, pid in enumerate(pids.values()):
            stop(f"rss{i}", pid)
    summary = {}
    for label, series in samples.items():
        after10 = [mb for m, mb in series if m >= 10]
        summary[label] = {
            "end_mb": series[-1][1],
            "max_mb": max(mb for _, mb in series),
            "growth_after_10_min_mb": after10[-1] - after10[0] if after10 else None,
        }
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "minutes": args.minutes,
        "tree": str(tree),
        "summary": summary,
        "samples": samples,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    for label, s in summary.items():
        print(
            f"{label:18} end {s['end_mb']:.0f} MB, max {s['max_mb']:.0f} MB, "
            f"growth after 10 min {s['growth_after_10_min_mb']:+.1f} MB"
        )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
