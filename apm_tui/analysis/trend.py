"""Robust trends: Theil–Sen slope and Kendall's tau on a series reduced to bucket medians.

Theil–Sen is O(n²) in pairs, so the series is first reduced to at most `buckets` medians; the
medians also make the slope ignore short spikes, which is what a leak detector wants.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from apm_tui.model import FloatArray


@dataclass(frozen=True, slots=True)
class Trend:
    slope_per_hour: float
    tau: float  # Kendall's tau of the bucket medians against time, -1..1
    last: float  # the last bucket's median


def bucket_medians(t: FloatArray, y: FloatArray, buckets: int) -> tuple[FloatArray, FloatArray]:
    ok = np.isfinite(y) & np.isfinite(t)
    t, y = t[ok], y[ok]
    if t.size <= buckets:
        return t, y
    edges = np.linspace(0, t.size, buckets + 1).astype(int)
    tm = np.array([np.median(t[a:b]) for a, b in itertools.pairwise(edges)])
    ym = np.array([np.median(y[a:b]) for a, b in itertools.pairwise(edges)])
    return tm, ym


def theil_sen(t: FloatArray, y: FloatArray, buckets: int = 120) -> Trend | None:
    """Slope per hour of y over t (seconds), or None with fewer than 3 usable points."""
    tm, ym = bucket_medians(t, y, buckets)
    if tm.size < 3:
        return None
    i, j = np.triu_indices(tm.size, k=1)
    dt = tm[j] - tm[i]
    dy = ym[j] - ym[i]
    keep = dt > 0
    if not keep.any():
        return None
    slope = float(np.median(dy[keep] / dt[keep])) * 3600.0
    signs = np.sign(dy[keep])
    tau = float(signs.sum() / keep.sum())
    return Trend(slope_per_hour=slope, tau=tau, last=float(ym[-1]))
