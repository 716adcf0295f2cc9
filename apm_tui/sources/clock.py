"""The times real data can carry: a log line or a span from before 1990 or more than five
minutes ahead of this machine's clock is a broken clock or a typo, not traffic.

One such row must not reach the window: the window keeps the 24 h up to its newest time, so a
single line dated 9999 would drop every real request from view, and one dated year 1 would
stretch a report's minute samples over two thousand years. The readers reject them, counted
with this reason, like any other line or span they cannot use.

Ahead, a day was allowed until 2026-12-07: one line or span dated 20 hours ahead among live
traffic became the dashboard's "now" — its clock 20 h on, the current minute empty, throughput
0.0 req/s, the real traffic a dot at a chart's edge. Five minutes allows for clocks that drift
(NTP keeps them within a second). A time without a zone written in local time east of UTC
(HAProxy's accept date, read as UTC) is now rejected as ahead, with this reason, rather than
shown hours off.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

EARLIEST = 631_152_000.0  # 1990-01-01 00:00 UTC, before the web
AHEAD_S = 300.0
OUT_OF_RANGE = "time before 1990 or over 5 minutes ahead of this clock"


def plausible(times: np.ndarray[Any, Any], now: float | None = None) -> np.ndarray[Any, Any]:
    """Which of `times` (Unix seconds) a real source can have; NaN is not."""
    latest = (time.time() if now is None else now) + AHEAD_S
    return (times >= EARLIEST) & (times <= latest)
