"""A block of rows through one metric's baseline at once: the same z-scores, bit for bit, as
`SeriesBaseline.features` then `push` row by row, with numpy instead of a Python loop per row.

A 64× replay hands the detector 64 rows a tick; row by row, the rolling medians and the
"same hour on earlier days" search cost ≈ 0.1 ms a metric a row, most of the tick's budget.
Here every row's baseline window is a slice of one array (the baseline's rows, then the
block's), so each row sees exactly the rows it would have seen: the season search is a
`searchsorted` on that array clipped to what the row-by-row memory still held, and the
median/scale statistics are recomputed at the same rows with the same function
(`window_stats`). Only exact operations are vectorised (differences, quotients, minima,
copysign); the few sums keep numpy's order for short arrays (left to right).

`features_block` returns None when a block is outside what this path reproduces — times that
do not strictly increase, a season memory that is not in time order, a short window of eight
or more rows (numpy sums those pairwise) — and the caller goes row by row.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from apm_tui.analysis.baseline import SeriesBaseline, window_stats, window_stats_many
from apm_tui.model import FloatArray

#: Rows per pass: bounds the season search's gathered values (rows × days × rows per window).
CHUNK = 256
IntArray = npt.NDArray[np.int64]


def eligible(b: SeriesBaseline, t: FloatArray, x: FloatArray) -> bool:
    s = b.s
    w = s.short_window - 1
    if w >= 8 or min(s.min_history, s.long_window) < max(w, 1):
        return False
    if s.season_days > 0 and not (s.season_period_s > 0 and s.season_tol_s >= 0):
        return False
    tf = t[np.isfinite(x)]
    if not tf.size:
        return True
    if not (np.isfinite(tf).all() and (np.diff(tf) > 0).all()):
        return False
    if b.last_t is not None and not tf[0] > b.last_t:
        return False
    ts = b.season_t.view()
    return bool((np.diff(ts) >= 0).all()) and (not ts.size or bool(tf[0] >= ts[-1]))


def features_block(
    b: SeriesBaseline, t: FloatArray, x: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]] | None:
    """(z, ok) for rows (t, x) that then join the baseline: z[i] is row i's unsquashed
    (level, short, diff); ok[i] False where the row-by-row path gives None (warming up, or a
    missing value before the baseline is warm); a missing value once warm is (0, 0, 0).
    None, with the baseline untouched, when the block must go row by row."""
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if not eligible(b, t, x):
        return None
    z = np.zeros((len(x), 3))
    ok = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), CHUNK):
        end = start + CHUNK
        z[start:end], ok[start:end] = _chunk(b, t[start:end], x[start:end])
    return z, ok


class _Block:
    """One chunk's finite rows against the baseline as it was before them: index i of the
    `all_*` arrays is the baseline's own rows, then the chunk's finite rows in order."""

    def __init__(self, b: SeriesBaseline, tf: FloatArray, xf: FloatArray) -> None:
        s = b.s
        self.tf, self.xf = tf, xf
        self.n_values = len(b.values)
        self.values = np.concatenate([b.values.view(), xf])
        has_last = b.last_t is not None and b.last_x is not None
        self.prev_t = np.concatenate([[b.last_t if has_last else np.nan], tf])
        self.prev_x = np.concatenate([[b.last_x if has_last else np.nan], xf])
        self.has_last = has_last
        # The time steps the baseline keeps: one per finite row after the first ever.
        new_steps = np.diff(self.prev_t) if b.last_t is not None else np.diff(tf)
        self.n_steps, self.max_steps = len(b.steps), b.steps.maxlen
        self.steps = np.concatenate([b.steps.view(), new_steps])
        self.first_ever = b.last_t is None
        self.season = s.season_days > 0
        self.n_season = len(b.season_t)
        self.season_t = np.concatenate([b.season_t.view(), tf])
        self.season_x = np.concatenate([b.season_x.view(), xf])
        # Where the season memory starts before each finite row (and after the last): the
        # row-by-row path drops from the front after each push, past `season_rows` and
        # before the horizon of the oldest day still compared.
        horizon = tf - s.season_days * s.season_period_s - s.season_tol_s
        after = np.maximum(
            self.n_season + np.arange(1, len(tf) + 1) - b.season_t.maxlen,
            np.searchsorted(self.season_t, horizon, side="left"),
        )
        self.season_lo = np.maximum.accumulate(np.concatenate([[0], after]))

    def steps_before(self, k: int) -> FloatArray:
        count = self.n_steps + (max(0, k - 1) if self.first_ever else k)
        return self.steps[max(0, count - self.max_steps) : count]


def _chunk(
    b: SeriesBaseline, t: FloatArray, x: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    s = b.s
    fin = np.isfinite(x)
    rank = np.cumsum(fin) - fin  # the chunk's finite rows before each row
    block = _Block(b, t[fin], x[fin])
    warm = np.minimum(block.n_values + rank, s.long_window) >= s.min_history
    z = np.zeros((len(x), 3))
    ok = ~fin & warm
    rows = np.flatnonzero(fin & warm)
    stats = _stats(b, block, rank[rows])
    if rows.size:
        z[rows] = _features(b, block, t[rows], x[rows], rank[rows], stats)
        ok[rows] = True
    _push(b, block)
    return z, ok


Stats = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _stats(b: SeriesBaseline, block: _Block, ranks: IntArray) -> Stats:
    """Each warm row's (median, scale, step scale, usual step), recomputed at the rows the
    row-by-row path recomputes them (every `stats_every` pushes, which depends only on the
    counts), all at once; the baseline's counter and cache are left as that path leaves them.

    The warm finite rows' ranks run on without a gap (a row is warm from some rank on), so the
    recomputes are every `stats_every` ranks from the first one due."""
    every = b.s.stats_every
    step = max(every, 1)  # a setting of 0 or less: every row, as `pushes >= every` always holds
    since = b._since_stats
    n = len(block.tf)
    if ranks.size:
        first, end = int(ranks[0]), int(ranks[-1]) + 1
        due = first if b._stats is None else max(first, every - since)
        points = list(range(due, end, step))
    else:
        points = []
    computed = _window_stats_at(b, block, points)
    cached = b._stats or (math.nan,) * 4
    table = np.array([cached, *computed], dtype=np.float64).reshape(-1, 4)
    if points:
        b._stats = computed[-1]
        b._since_stats = n - points[-1]
        which = np.where(ranks >= points[0], (ranks - points[0]) // step + 1, 0)
    else:
        b._since_stats = since + n
        which = np.zeros(len(ranks), dtype=np.int64)
    cols = table[which].T
    return cols[0], cols[1], cols[2], cols[3]


def _window_stats_at(
    b: SeriesBaseline, block: _Block, ranks: list[int]
) -> list[tuple[float, float, float, float]]:
    """`window_stats` before each of these finite rows; windows of one length (a warm
    baseline's, every time) in one numpy pass."""
    s = b.s
    his = [block.n_values + k for k in ranks]
    spans = [(max(0, hi - s.long_window), hi) for hi in his]
    steps = [block.steps_before(k) for k in ranks]
    widths = {hi - lo for lo, hi in spans}
    if (
        len(ranks) > 1
        and len(widths) == 1
        and min(widths) >= 2
        and len({len(t) for t in steps}) == 1
    ):
        width = widths.pop()
        starts = np.array([lo for lo, _ in spans])
        h = block.values[starts[:, None] + np.arange(width)]
        return window_stats_many(h, np.array(steps).reshape(len(ranks), -1), s)
    return [
        window_stats(block.values[lo:hi], t, s) for (lo, hi), t in zip(spans, steps, strict=True)
    ]


def _features(
    b: SeriesBaseline, block: _Block, t: FloatArray, x: FloatArray, k: IntArray, stats: Stats
) -> FloatArray:
    """Warm rows with a finite value; `k` is each one's rank among the chunk's finite rows."""
    s = b.s
    med, scale, step_scale, usual = stats
    hi = block.n_values + k
    level = (x - med) / scale
    w = s.short_window - 1
    total = np.zeros(len(x))
    for j in range(w):  # numpy sums fewer than eight values left to right, from 0
        total = total + block.values[hi - w + j]
    short = ((total + x) / (w + 1) - med) / scale
    prev_t, prev_x = block.prev_t[k], block.prev_x[k]
    dt = t - prev_t
    with np.errstate(invalid="ignore"):
        moved = (k > 0) | block.has_last
        steady = moved & (dt > 0) & ((usual == 0) | (dt <= 2.5 * usual))
        diff = np.where(steady, (x - prev_x) / step_scale, 0.0)
    cap = _season(b, block, t, x, k)
    capped = np.isfinite(cap)
    limit = cap / scale
    level = np.where(capped, np.copysign(np.minimum(np.abs(level), limit), level), level)
    diff = np.where(capped, np.copysign(np.minimum(np.abs(diff), limit), diff), diff)
    return np.column_stack([level, short, diff])


def _season(
    b: SeriesBaseline, block: _Block, t: FloatArray, x: FloatArray, k: IntArray
) -> FloatArray:
    """Each row's `season_distance` (inf for None): its searches run on the whole array,
    clipped to the part the row-by-row memory held, which is the same for sorted times."""
    s = b.s
    best = np.full(len(x), np.inf)
    if not block.season:
        return best
    lo = block.season_lo[k][:, None]
    hi = (block.n_season + k)[:, None]
    centres = t[:, None] - np.arange(1, s.season_days + 1) * s.season_period_s
    a = np.clip(np.searchsorted(block.season_t, centres - s.season_tol_s, side="left"), lo, hi)
    z = np.clip(np.searchsorted(block.season_t, centres + s.season_tol_s, side="right"), lo, hi)
    seg_row, seg_day = np.nonzero(z > a)
    if not seg_row.size:
        return best
    starts, lengths = a[seg_row, seg_day], (z - a)[seg_row, seg_day]
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    idx = np.arange(int(lengths.sum())) + np.repeat(starts - first, lengths)
    gaps = np.abs(block.season_x[idx] - np.repeat(x[seg_row], lengths))
    np.minimum.at(best, seg_row, np.minimum.reduceat(gaps, first))
    return best


def _push(b: SeriesBaseline, block: _Block) -> None:
    """The baseline after the chunk's finite rows, as `push` row by row leaves it."""
    tf, xf = block.tf, block.xf
    if not tf.size:
        return
    b.steps.extend(block.steps[block.n_steps :])
    b.values.extend(xf)
    b.last_t, b.last_x = float(tf[-1]), float(xf[-1])
    if block.season:
        b.season_t.extend(tf)
        b.season_x.extend(xf)
        start = max(0, len(block.season_t) - b.season_t.maxlen)
        drop = int(block.season_lo[-1]) - start
        if drop > 0:
            b.season_t.drop(drop)
            b.season_x.drop(drop)
