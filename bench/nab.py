"""The streaming detector on NAB's realAWSCloudwatch files, scored with NAB's standard profile.

Run: python bench/nab.py [DATA_DIR] [--contamination C] (default: the dashboard's 0.05).
For each CSV the bench runs `apm-tui detect`'s scoring
(`read_series` + `detect_flags`: the dashboard's causal IsolationForest, value in `cpu_pct`),
turns its flags into NAB detections, and scores them against `labels/combined_windows.json`
with `apm_tui.analysis.nab`. It prints per-file raw/null/perfect scores, the share of rows
flagged, the normalised score over all files, and — for scale — a seeded random detector that
flags the same share of rows in each file.

The published standard-profile figures for these 13 files (from the issue) are printed beside
ours. They come from NAB's own runs, where each detector's threshold was tuned on the corpus;
ours is the detector's fixed threshold (the contamination quantile), untuned.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from apm_tui.analysis.nab import FileScore, normalised, parse_windows, score_file
from apm_tui.commands.detect import detect_flags, read_series
from apm_tui.config import Thresholds
from apm_tui.model import Table

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
CORPUS = "realAWSCloudwatch"
PUBLISHED = {
    "Numenta HTM": 67.7,
    "Random Cut Forest": 46.9,
    "Windowed Gaussian": 17.5,
    "random": 16.0,
}


def score_one(
    path: Path, windows: list[tuple[float, float]], th: Thresholds
) -> tuple[FileScore, FileScore, float]:
    """Our detector's score, a same-rate random detector's score, and the share flagged."""
    series = read_series(str(path), "timestamp", "value")
    metrics = Table({"timestamp": series.seconds, "cpu_pct": series.values})
    _, flags = detect_flags(metrics, th)
    rate = float(flags.mean())
    rng = np.random.default_rng(len(series.seconds))
    random_flags = rng.random(len(flags)) < rate
    return (
        score_file(series.seconds, flags, windows),
        score_file(series.seconds, random_flags, windows),
        rate,
    )


def main(data_dir: Path = DEFAULT_DIR, th: Thresholds | None = None) -> float:
    th = th or Thresholds()
    labels = json.loads((data_dir / "labels" / "combined_windows.json").read_text())
    ours: list[FileScore] = []
    randoms: list[FileScore] = []
    flagged = 0.0
    print(
        f"{'file':44} {'rows%':>6} {'win':>3} {'TP':>3} {'FP':>4} {'raw':>7} {'null':>5} "
        f"{'perfect':>7}"
    )
    files = sorted((data_dir / CORPUS).glob("*.csv"))
    for path in files:
        windows = parse_windows(labels[f"{CORPUS}/{path.name}"])
        result, random_result, rate = score_one(path, windows, th)
        ours.append(result)
        randoms.append(random_result)
        flagged += rate
        print(
            f"{path.stem:44} {100 * rate:6.1f} {result.windows:3d} {result.true_positives:3d} "
            f"{result.false_positives:4d} {result.raw:7.2f} {result.null + 0.0:5.1f} "
            f"{result.perfect:7.2f}"
        )
    score = normalised(ours)
    print(f"\nrows flagged (mean over files): {100 * flagged / len(files):.1f} %")
    print("NAB standard profile, normalised, these 13 files:")
    ours_name = f"apm-tui streaming IF, contam. {th.contamination:g}"
    print(f"  {ours_name:36} {score:6.1f}   (measured)")
    print(f"  {'random, same flag rate per file':36} {normalised(randoms):6.1f}   (measured)")
    for name, published in PUBLISHED.items():
        print(f"  {name:36} {published:6.1f}   (published)")
    return score


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--contamination", type=float, default=Thresholds().contamination)
    args = parser.parse_args()
    main(args.data_dir, Thresholds(contamination=args.contamination))
