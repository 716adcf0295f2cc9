"""Drift-robust features of one metric, each row against a rolling baseline of the rows before it.

A raw value (CPU 40 %) says little on its own: the same 40 % is normal at noon and odd at 3 a.m.,
and a series that drifts makes a model of its raw values call the drift anomalous. So each row is
described by robust z-scores against the recent past, computed causally (row i sees rows < i):

- level: (x − median) / scale, median and scale over the last `long_window` finite values;
- short: the same for the mean of the last `short_window` values including x (a shift that
  lasts, not one noisy sample);
- diff:  (x − previous x) / the steps' scale; 0 across a gap in time or a duplicate timestamp,
  where the step says nothing.

scale = max(1.4826·MAD, `std_floor`·std, the smallest step seen): the floors keep a quantised or
flat series (CPU at 0.1 % steps, MAD 0) from turning every change into a huge z.

A value seen at about this time of day on one of the previous `season_days` days is not unusual,
however far it is from the recent median: level and diff are capped by the distance to the
closest such value. Every feature is then squashed with sign(z)·log1p(|z|), so a few enormous
values do not stretch the whole model.

Measured on NAB's realAWSCloudwatch files (bench/nab.py): these features with the likelihood
alarm in `alarm.py` score ≈ 51–56 where the forest on raw values scored −470.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from apm_tui.model import FloatArray

FEATURES = ("level", "short", "diff")


@dataclass(frozen=True)
class BaselineSettings:
    long_window: int = 2016  # rows in the baseline (a week of 5-minute samples)
    short_window: int = 6
    min_history: int = 32  # rows before a row gets features
    std_floor: float = 0.1
    stats_every: int = 12  # rows between recomputing the baseline's median and scales
    season_days: int = 7
    season_tol_s: float = 900.0  # "about this time of day": ± this many seconds
    season_period_s: float = 86_400.0
    season_rows: int = 8064  # memory for the seasonal check: at most this many rows


class Sliding:
    """The last `maxlen` floats, contiguous and in order (amortised O(1) append)."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self.buf = np.empty(2 * maxlen)
        self.lo = self.hi = 0

    def __len__(self) -> int:
        return self.hi - self.lo

    def append(self, value: float) -> None:
        if self.hi == self.buf.size:
            n = self.hi - self.lo
            self.buf[:n] = self.buf[self.lo : self.hi]
            self.lo, self.hi = 0, n
        self.buf[self.hi] = value
        self.hi += 1
        if self.hi - self.lo > self.maxlen:
            self.lo += 1

    def drop(self, k: int) -> None:
        self.lo = min(self.lo + k, self.hi)

    def view(self) -> FloatArray:
        return self.buf[self.lo : self.hi]

    def extend(self, values: FloatArray) -> None:
        """As `append` of each value in turn (the view ends with the last `maxlen` of them)."""
        kept = np.concatenate([self.view(), values])[-self.maxlen :]
        self.buf[: len(kept)] = kept
        self.lo, self.hi = 0, len(kept)


def window_stats(
    h: FloatArray, time_steps: FloatArray, s: BaselineSettings
) -> tuple[float, float, float, float]:
    """(median, scale of values, scale of steps, usual time step) of a baseline's values `h`
    and its recent time steps: `window_stats_many` of one window, so the row-by-row and the
    block paths share one formula."""
    return window_stats_many(h[None, :], np.asarray(time_steps)[None, :], s)[0]


class _Faster:
    """Which of two exact ways to the middle values is faster with this machine's numpy: a
    full sort, or numpy's partition at the middle positions and the last (where a NaN would
    be). They find the same values, so the choice changes the time, never the result.

    It depends on the build and the CPU: on 2026-12-06's first machine a 2,016-value row
    took 10 µs to sort against 21 µs to partition; on its last (AMD EPYC, numpy 2.4, no
    vectorised sort) 36 µs against 5 µs on random values, 45 against 26 on the detector's.
    So the first `TRIALS` wide calls time both ways alternately, then keep the one with the
    lower best time a value (the best, not the sum: a call slowed by another process does
    not decide it)."""

    TRIALS = 32
    #: Rows this wide are timed (a day's baseline is 2,016); a narrower one is partitioned:
    #: it is a baseline still filling, and timing its few microseconds would pick at random.
    WIDE = 1024

    def __init__(self) -> None:
        self.best = [math.inf, math.inf]  # seconds a value: sort, partition
        self.trials = 0
        self.use_sort: bool | None = None

    def middle(self, a: FloatArray, kth: list[int], overwrite: bool) -> FloatArray:
        if a.shape[1] < self.WIDE:
            return _partitioned(a, kth, overwrite)
        trial = self.use_sort is None
        sort = self.trials % 2 == 0 if trial else bool(self.use_sort)
        began = time.perf_counter()
        out = _sorted(a, overwrite) if sort else _partitioned(a, kth, overwrite)
        if trial:
            way = 0 if sort else 1
            self.best[way] = min(self.best[way], (time.perf_counter() - began) / a.size)
            self.trials += 1
            if self.trials >= self.TRIALS:
                self.use_sort = self.best[0] < self.best[1]
        return out


def _sorted(a: FloatArray, overwrite: bool) -> FloatArray:
    if overwrite:
        a.sort(axis=1)
        return a
    return np.sort(a, axis=1)


def _partitioned(a: FloatArray, kth: list[int], overwrite: bool) -> FloatArray:
    # At one position alone numpy takes another path: 25 µs a row here, 130 µs on a row of
    # mostly zeros. With the last position too (as np.median asks) 5 µs.
    if overwrite:
        a.partition(kth, axis=1)
        return a
    return np.partition(a, kth, axis=1)


FASTER = _Faster()


def median_rows(a: FloatArray, *, overwrite: bool = False) -> FloatArray:
    """`np.median(a, axis=1)`, bit for bit (NaN, ±0 and infinities included), without its
    generic-axis overhead: the middle values in place (`_Faster`), then numpy's mean of them
    added to +0.0 first; NaN where the row's last value in order is NaN."""
    n = a.shape[1]
    half = n // 2
    kth = [half - 1, half, n - 1] if n % 2 == 0 else [half, n - 1]
    part = FASTER.middle(a, kth, overwrite)
    if n % 2 == 0:
        mid = (0.0 + part[:, half - 1] + part[:, half]) / 2.0
    else:
        mid = (0.0 + part[:, half]) / 1.0
    return np.where(np.isnan(part[:, -1]), np.nan, mid)


def window_stats_many(
    h: FloatArray, time_steps: FloatArray, s: BaselineSettings
) -> list[tuple[float, float, float, float]]:
    """`window_stats` of each row of `h` (windows of one length, at least one value) with the
    same row of `time_steps`: medians, minima and standard deviations along a row give the
    very values they give for that window alone, so one row or many agree."""
    med = median_rows(h)
    mad = 1.4826 * median_rows(np.abs(h - med[:, None]), overwrite=True)
    moves = np.diff(h, axis=1)
    steps = np.abs(moves)
    # The smallest move (0 when nothing moved): a quantised metric's scale is at least that.
    quantum = np.where(steps > 0, steps, np.inf).min(axis=1, initial=np.inf)
    quantum[np.isinf(quantum)] = 0.0
    std = h.std(axis=1)
    if steps.shape[1]:
        step_std = moves.std(axis=1)
        step_mad = 1.4826 * median_rows(steps, overwrite=True)
    else:
        step_mad = step_std = np.zeros(len(h))
    time_steps = np.asarray(time_steps, dtype=np.float64)
    usual = median_rows(time_steps) if time_steps.shape[1] else np.zeros(len(h))
    out = []
    for i in range(len(h)):
        q = float(quantum[i])
        scale = max(float(mad[i]), s.std_floor * float(std[i]), q, 1e-12)
        step_scale = max(float(step_mad[i]), s.std_floor * float(step_std[i]), q, 1e-12)
        out.append((float(med[i]), scale, step_scale, float(usual[i])))
    return out


class SeriesBaseline:
    """One metric's rolling baseline: `features(t, x)` for a row, then `push(t, x)`."""

    def __init__(self, s: BaselineSettings) -> None:
        self.s = s
        self.values = Sliding(s.long_window)
        self.steps = Sliding(64)  # recent time steps, for "is this step across a gap?"
        self.season_t = Sliding(s.season_rows)
        self.season_x = Sliding(s.season_rows)
        self.last_t: float | None = None
        self.last_x: float | None = None
        self._stats: tuple[float, float, float, float] | None = None
        self._since_stats = 0

    def stats(self) -> tuple[float, float, float, float]:
        """(median, scale of values, scale of steps, usual time step), refreshed every
        `stats_every` rows."""
        if self._stats is not None and self._since_stats < self.s.stats_every:
            return self._stats
        self._stats = window_stats(self.values.view(), self.steps.view(), self.s)
        self._since_stats = 0
        return self._stats

    def features(self, t: float, x: float) -> tuple[float, float, float] | None:
        """Row i's (level, short, diff) z-scores, unsquashed; None while warming up or for a
        missing value."""
        if not math.isfinite(x) or len(self.values) < self.s.min_history:
            return None
        med, scale, step_scale, usual = self.stats()
        cap = self.season_distance(t, x)
        level = (x - med) / scale
        k = self.s.short_window - 1
        recent = self.values.view()[-k:] if k > 0 else self.values.view()[:0]
        short = ((float(recent.sum()) + x) / (len(recent) + 1) - med) / scale
        diff = 0.0
        if self.last_t is not None and self.last_x is not None:
            dt = t - self.last_t
            if dt > 0 and (usual == 0 or dt <= 2.5 * usual):
                diff = (x - self.last_x) / step_scale
        if cap is not None:
            level = math.copysign(min(abs(level), cap / scale), level)
            diff = math.copysign(min(abs(diff), cap / scale), diff)
        return level, short, diff

    def season_distance(self, t: float, x: float) -> float | None:
        """min |x − x_j| over remembered rows j within ± tol of t − d·period, d = 1…days."""
        s = self.s
        if s.season_days <= 0 or not len(self.season_t):
            return None
        ts, xs = self.season_t.view(), self.season_x.view()
        centres = t - np.arange(1, s.season_days + 1) * s.season_period_s
        lo = np.searchsorted(ts, centres - s.season_tol_s, side="left")
        hi = np.searchsorted(ts, centres + s.season_tol_s, side="right")
        best = math.inf
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            if b > a:
                best = min(best, float(np.min(np.abs(xs[a:b] - x))))
        return best if math.isfinite(best) else None

    def push(self, t: float, x: float) -> None:
        if not math.isfinite(x):
            return
        if self.last_t is not None and t > self.last_t:
            self.steps.append(t - self.last_t)
        self.values.append(x)
        self._since_stats += 1
        self.last_t, self.last_x = t, x
        if self.s.season_days > 0:
            self.season_t.append(t)
            self.season_x.append(x)
            horizon = t - self.s.season_days * self.s.season_period_s - self.s.season_tol_s
            old = int(np.searchsorted(self.season_t.view(), horizon, side="left"))
            if old:
                self.season_t.drop(old)
                self.season_x.drop(old)


def squash(z: FloatArray) -> FloatArray:
    return np.asarray(np.sign(z) * np.log1p(np.abs(z)), dtype=np.float64)
