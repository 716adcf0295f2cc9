"""Apdex: (satisfied + tolerating / 2) / total, with T the satisfied threshold.

Satisfied: duration <= T. Tolerating: T < duration <= 4T. Frustrated: slower, or errored
whatever its duration (an error is never a satisfying response).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from apm_tui.analysis.result import Apdex
from apm_tui.model import FloatArray


def apdex_counts(durations_ms: FloatArray, errors: np.ndarray[Any, Any], t_ms: float) -> Apdex:
    ok = np.isfinite(durations_ms)
    d = durations_ms[ok]
    e = np.asarray(errors, dtype=bool)[ok]
    satisfied = int(np.count_nonzero((d <= t_ms) & ~e))
    tolerating = int(np.count_nonzero((d > t_ms) & (d <= 4 * t_ms) & ~e))
    frustrated = int(d.size) - satisfied - tolerating
    total = d.size
    score = (satisfied + tolerating / 2) / total if total else float("nan")
    return Apdex(
        score=score, t_ms=t_ms, satisfied=satisfied, tolerating=tolerating, frustrated=frustrated
    )


def apdex_values(durations_ms: FloatArray, errors: np.ndarray[Any, Any], t_ms: float) -> FloatArray:
    """Each request's Apdex weight (1, 0.5 or 0), for per-group and per-time averages; NaN for
    a request without a response time (a log format without one), which Apdex cannot judge."""
    w = np.where(durations_ms <= t_ms, 1.0, np.where(durations_ms <= 4 * t_ms, 0.5, 0.0))
    w = np.where(np.asarray(errors, dtype=bool), 0.0, w)
    return np.where(np.isnan(durations_ms), np.nan, w)


def apdex_over_time(
    times: FloatArray,
    durations_ms: FloatArray,
    errors: np.ndarray[Any, Any],
    t_ms: float,
    bucket_s: float,
) -> tuple[FloatArray, FloatArray]:
    """Apdex per time bucket: (bucket start times, scores); empty buckets are left out."""
    if times.size == 0:
        return np.empty(0), np.empty(0)
    weights = apdex_values(durations_ms, errors, t_ms)
    buckets = np.floor(times / bucket_s).astype(np.int64)
    keys, inverse = np.unique(buckets, return_inverse=True)
    sums = np.bincount(inverse, weights=weights)
    counts = np.bincount(inverse)
    return keys.astype(np.float64) * bucket_s, sums / counts
