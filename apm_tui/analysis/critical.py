"""Each span's time on its trace's critical path, and how far a trace can shrink through it.

A request that calls A (500 ms) and B (450 ms) in parallel waits 500 ms, not 950: A's time
is on the critical path, B's is not, and halving A saves 50 ms (then B is what the request
waits on), not 250. Summing own times as if every call were sequential said "A takes 53 % of
the request; half as long: P95 520 → 270 ms".

The rule, for a span and its siblings (the other children of its parent), with every child cut
to its parent's time (work left running after the parent returned is not waited on; a child
that seems to start before its parent is the two hosts' clocks disagreeing):
- a span is *blocked* when a sibling that ends later started before it ended: the parent waits
  on that sibling, so the span's speed does not matter (fork–join; for sequential calls the
  later one starts after this one ends, and both count);
- a span is on the path when neither it nor any of its ancestors is blocked; its *path time*
  is its duration less that of its own unblocked children (their time is theirs);
- its *slack* is how much it can shrink before a sibling that ended within it is the last to
  end: its end less the latest such sibling's end, or its whole duration if none ended within
  it. A trace shrinks through a span by at most the least slack from it up to the root.

This is the local form of the walk `traces._critical_path` draws on the trace screen (from
each span's end, the child that finished last before it): the same path for calls made in
sequence or in parallel groups, in numpy for a window of spans at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apm_tui.model import FloatArray

IntArray = np.ndarray[Any, np.dtype[np.int64]]

#: Calls this close are one after the other, not overlapping: a call made as the one before
#: returned starts at its end, give or take the clocks' rounding (a µs in Zipkin).
TOUCH_MS = 0.001
#: Levels of nesting followed from the roots; deeper spans (or a cycle of parent ids in a
#: hostile file) count as off the path.
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class CriticalPath:
    path_ms: FloatArray  # each span's own time on its trace's critical path (0 off it)
    slack_ms: FloatArray  # how far its trace can shrink through it (0 off the path)

    def saving_ms(self, rows: IntArray, fraction: float) -> FloatArray:
        """What each of `rows` saves its trace if its path time were cut by `fraction`."""
        return np.minimum(self.path_ms[rows] * fraction, self.slack_ms[rows])


def critical_path(parent: IntArray, start_s: FloatArray, duration_ms: FloatArray) -> CriticalPath:
    """`parent`: each span's parent row (-1: a root, or a parent not in the window)."""
    n = len(parent)
    has = parent >= 0
    up = np.where(has, parent, 0)
    start = np.asarray(start_s, dtype=np.float64)
    known = start[np.isfinite(start)]
    # From the first start, in ms: epoch milliseconds would keep only a quarter-µs of detail.
    begin = np.nan_to_num((start - (known.min() if known.size else 0.0)) * 1e3)
    end = begin + np.nan_to_num(np.asarray(duration_ms, dtype=np.float64))  # no duration: none
    for _ in range(MAX_DEPTH):  # each span within its parent, top down (clocks skew)
        inner_begin = np.where(has, np.clip(begin, begin[up], end[up]), begin)
        inner_end = np.where(has, np.clip(end, inner_begin, end[up]), end)
        if np.array_equal(inner_begin, begin) and np.array_equal(inner_end, end):
            break
        begin, end = inner_begin, inner_end

    kids = np.flatnonzero(has)
    order = kids[np.lexsort((end[kids], parent[kids]))]  # siblings together, by end
    group, b, e = parent[order], begin[order], end[order]
    same_next = np.append(group[1:] == group[:-1], False)
    same_prev = np.insert(group[1:] == group[:-1], 0, False)
    # The earliest start among the siblings that end later: a running minimum from the back,
    # kept within each group by lifting each group above the ones before it — on the starts'
    # ranks, integers, so the lift loses no precision.
    sorted_b = np.sort(b)
    lift = (np.cumsum(~same_prev) - 1) * max(len(b), 1)
    lifted = np.searchsorted(sorted_b, b) + lift
    later_min = sorted_b[np.minimum.accumulate(lifted[::-1])[::-1] - lift] if len(b) else b
    next_start = np.where(same_next, np.append(later_min[1:], np.inf), np.inf)
    blocked = np.zeros(n, dtype=bool)
    blocked[order] = next_start < e - TOUCH_MS
    prev_end = np.where(same_prev, np.insert(e[:-1], 0, -np.inf), -np.inf)
    slack = end - begin
    slack[order] = np.where(prev_end > b + TOUCH_MS, e - prev_end, e - b)

    on = ~has
    limit = np.where(has, 0.0, np.inf)
    for _ in range(MAX_DEPTH):
        next_on = ~has | (~blocked & on[up])
        next_limit = np.where(has, np.minimum(slack, limit[up]), np.inf)
        if np.array_equal(next_on, on) and np.array_equal(next_limit, limit):
            break
        on, limit = next_on, next_limit
    counted = has & ~blocked
    waited = np.bincount(parent[counted], weights=(end - begin)[counted], minlength=n)
    path = np.where(on, np.maximum(end - begin - waited, 0.0), 0.0)
    return CriticalPath(path_ms=path, slack_ms=np.where(on, limit, 0.0))
