"""NAB-style scoring of a detector's yes/no detections against labelled anomaly windows.

Follows numenta/NAB's `nab/sweeper.py` (standard profile: tpWeight 1, fnWeight 1, fpWeight 0.11):

* the first min(⌊15 % of rows⌋, 750) rows are the probationary period and are not scored at all;
* inside a window at row i, with the window spanning rows [left, right] (width
  w = right − left + 1), the position is y = −(right − i + 1) / w, so the left edge is −1;
  a detection scores tpWeight · σ(y) / σ(−1) with σ(y) = 2/(1 + e^(5y)) − 1, i.e. exactly
  tpWeight at the left edge, falling towards 0 at the right edge. Only the best (= earliest)
  detection in a window counts;
* a window with no detection costs −fnWeight;
* a detection outside every window costs fpWeight · σ(y), with y = rows past the previous window's
  right edge / (that window's width − 1) (σ is −1 from y ≥ 3): slightly negative just after a
  window, −fpWeight far after one, and −fpWeight before the first window. Every one counts.

Pure functions: rows are given as Unix-second timestamps (sorted), windows as (start, end) pairs in
Unix seconds; `parse_windows` converts NAB's label strings. A window's rows are those whose
timestamp lies in [start, end] (NAB matches the edges by exact timestamp; on NAB's own data the
two agree). A window none of whose rows is past the probationary period is not scored, as in NAB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from apm_tui.model import FloatArray

PROBATION_PERCENT = 0.15
#: NAB caps the probationary period at 15 % of 5,000 rows.
PROBATION_CAP_ROWS = PROBATION_PERCENT * 5000


@dataclass(frozen=True)
class Profile:
    """NAB's cost matrix."""

    tp_weight: float = 1.0
    fn_weight: float = 1.0
    fp_weight: float = 0.11


STANDARD = Profile()


@dataclass(frozen=True)
class FileScore:
    """One file's raw score beside the null (never detects) and perfect detectors' scores."""

    raw: float
    null: float
    perfect: float
    windows: int
    true_positives: int
    false_positives: int


def scaled_sigmoid(y: float) -> float:
    """NAB's 2/(1 + e^(5y)) − 1, clamped to −1 from y ≥ 3."""
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_rows(n_rows: int) -> int:
    """How many leading rows are not scored."""
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_CAP_ROWS))


def parse_timestamp(text: str) -> float:
    """A NAB timestamp ("2014-02-19 00:22:00.000000", UTC) as Unix seconds."""
    stamp = datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def parse_windows(windows: Iterable[Sequence[str]]) -> list[tuple[float, float]]:
    """NAB's `[[start, end], ...]` label strings as (start, end) Unix seconds."""
    return [(parse_timestamp(start), parse_timestamp(end)) for start, end in windows]


def window_rows(
    timestamps: FloatArray, windows: Sequence[tuple[float, float]]
) -> list[tuple[int, int]]:
    """(left, right) row indices (inclusive) of each window that contains at least one row."""
    out = []
    for start, end in sorted(windows):
        left = int(np.searchsorted(timestamps, start, side="left"))
        right = int(np.searchsorted(timestamps, end, side="right")) - 1
        if right >= left:
            out.append((left, right))
    return out


def _fp_score(i: int, prev: tuple[int, int] | None, profile: Profile) -> float:
    if prev is None:
        return -profile.fp_weight
    left, right = prev
    width = right - left + 1
    # A one-row window would divide by zero in NAB; treat every later row as far past it.
    y = abs(right - i) / (width - 1) if width > 1 else 3.0
    return scaled_sigmoid(y) * profile.fp_weight


def _tp_score(i: int, window: tuple[int, int], profile: Profile) -> float:
    left, right = window
    y = -(right - i + 1) / (right - left + 1)
    return scaled_sigmoid(y) * profile.tp_weight / scaled_sigmoid(-1.0)


def score_file(
    timestamps: FloatArray,
    detections: npt.NDArray[np.bool_],
    windows: Sequence[tuple[float, float]],
    profile: Profile = STANDARD,
) -> FileScore:
    """Score one file's detections (one bool per row, rows sorted by time)."""
    timestamps = np.asarray(timestamps, dtype=np.float64)
    detections = np.asarray(detections, dtype=bool)
    if len(timestamps) != len(detections):
        raise ValueError("timestamps and detections differ in length")
    first = probation_rows(len(timestamps))
    spans = [w for w in window_rows(timestamps, windows) if w[1] >= first]
    window_of = np.full(len(timestamps), -1, dtype=np.int64)
    for k, (left, right) in enumerate(spans):
        window_of[left : right + 1] = k
    best: dict[int, float] = {}
    fp_total, fp_count, prev = 0.0, 0, None
    ends = {right: (left, right) for left, right in window_rows(timestamps, windows)}
    for i in range(len(timestamps)):
        k = int(window_of[i])
        if i >= first and detections[i]:
            if k >= 0:
                best.setdefault(k, _tp_score(i, spans[k], profile))
            else:
                fp_total += _fp_score(i, prev, profile)
                fp_count += 1
        if i in ends:
            prev = ends[i]
    raw = fp_total + sum(best.values()) - profile.fn_weight * (len(spans) - len(best))
    perfect = sum(_tp_score(max(left, first), (left, right), profile) for left, right in spans)
    return FileScore(
        raw=raw,
        null=-profile.fn_weight * len(spans),
        perfect=perfect,
        windows=len(spans),
        true_positives=len(best),
        false_positives=fp_count,
    )


def normalised(results: Iterable[FileScore]) -> float:
    """100 · (raw − null) / (perfect − null), summed over files (NaN when no file has a window)."""
    items = list(results)
    raw = sum(r.raw for r in items)
    null = sum(r.null for r in items)
    perfect = sum(r.perfect for r in items)
    if perfect == null:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)
