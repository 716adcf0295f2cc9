"""Latency percentiles.

Percentiles use numpy's default `linear` method (Hyndman & Fan type 7), the convention of
numpy, pandas and most dashboards; nearest-rank would be `method="inverted_cdf"`.
"""

from __future__ import annotations

import numpy as np

from apm_tui.analysis.result import LatencyStats
from apm_tui.model import FloatArray

NAN = float("nan")


def latency_stats(values: FloatArray) -> LatencyStats:
    """Average and P50/P95/P99 of the finite values; NaN fields when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return LatencyStats(count=0, avg=NAN, p50=NAN, p95=NAN, p99=NAN)
    p50, p95, p99 = np.percentile(finite, [50, 95, 99])
    return LatencyStats(
        count=int(finite.size),
        avg=float(finite.mean()),
        p50=float(p50),
        p95=float(p95),
        p99=float(p99),
    )
