"""From anomaly scores to alarms a person can act on: rare, and one per incident.

A fixed threshold on a forest's score (its contamination quantile) flags that share of *every*
day, incident or not: on NAB's AWS series it raised ≈ 2,600 false alarms in 13 files. Instead,
as Numenta's HTM detector does with its "anomaly likelihood", each score is judged against the
scores before it: the average of the last `avg_window` scores is compared with the mean and
spread of the last `score_window` ones, and the tail probability of that average is the
likelihood. A row is flagged when the likelihood is at least 1 − `tail` and no flag was raised
in the previous `refractory` rows (one incident, one alarm). A hard cap keeps the flag rate at
or below the contamination setting whatever the data does.

Causal: a row's likelihood uses the scores of earlier rows and its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from apm_tui.analysis.baseline import Sliding


@dataclass(frozen=True)
class AlarmSettings:
    score_window: int = 1000
    avg_window: int = 6
    tail: float = 3e-3
    min_scores: int = 100  # scores needed before the likelihood means anything
    refractory: int = 72  # rows after a flag in which no other flag is raised
    contamination: float = 0.05  # the flag rate never exceeds this


class Alarm:
    def __init__(self, s: AlarmSettings) -> None:
        self.s = s
        self.history = Sliding(s.score_window)
        self.since_flag = 1 << 30
        self.rows = 0
        self.flags = 0

    def update(self, score: float) -> tuple[float, bool]:
        """(likelihood in 0–1, NaN while warming up or for a missing score; flag)."""
        s = self.s
        self.rows += 1
        self.since_flag += 1
        if not math.isfinite(score):
            return math.nan, False
        likelihood = math.nan
        if len(self.history) >= s.min_scores:
            h = self.history.view()
            k = s.avg_window - 1
            avg = (float(h[-k:].sum()) + score) / (k + 1) if k > 0 else score
            likelihood = _likelihood(avg, float(h.mean()), max(float(h.std()), 1e-6))
        self.history.append(score)
        return likelihood, self._flag(likelihood)

    def _flag(self, likelihood: float) -> bool:
        """Whether this row (already counted) raises an alarm; counts the alarm if so."""
        s = self.s
        flag = (
            math.isfinite(likelihood)
            and likelihood >= 1.0 - s.tail
            and self.since_flag > s.refractory
            and self.flags + 1 <= s.contamination * self.rows
        )
        if flag:
            self.since_flag = 0
            self.flags += 1
        return flag

    def update_many(self, scores: Sequence[float]) -> list[tuple[float, bool]]:
        """`update` of each score in turn. Once the history is full, each score's window is
        one row of a 2-D array of the block's windows, and numpy's mean, std and short sum
        along a row give what they give for that window alone (a 64× replay scores 64 rows
        a tick; one at a time the windows' statistics were most of the alarm's cost)."""
        s = self.s
        k = s.avg_window - 1
        if len(self.history) < s.score_window or k < 1 or k >= 8:
            return [self.update(v) for v in scores]
        values = np.asarray(scores, dtype=np.float64)
        finite = values[np.isfinite(values)]
        joined = np.concatenate([self.history.view(), finite])
        before = len(joined) - len(finite)
        # Row j: the `score_window` scores before finite score j (copied: contiguous rows).
        windows = np.ascontiguousarray(
            sliding_window_view(joined, s.score_window)[
                before - s.score_window : len(joined) - s.score_window
            ]
        )
        means = windows.mean(axis=1)
        spreads = np.maximum(windows.std(axis=1), 1e-6)
        shorts = windows[:, -k:].sum(axis=1)  # fewer than 8 values: summed left to right
        out: list[tuple[float, bool]] = []
        j = 0
        for score in values.tolist():
            self.rows += 1
            self.since_flag += 1
            if not math.isfinite(score):
                out.append((math.nan, False))
                continue
            avg = (float(shorts[j]) + score) / (k + 1)
            likelihood = _likelihood(avg, float(means[j]), float(spreads[j]))
            j += 1
            out.append((likelihood, self._flag(likelihood)))
        self.history.extend(finite)
        return out


def _likelihood(avg: float, mean: float, spread: float) -> float:
    """The upper-tail probability of the recent average against the scores before it."""
    z = (avg - mean) / spread
    return 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
