"""The bounded rolling window: column buffers that grow at the end and drop at the front.

Appending a tick copies only the new rows; reading returns zero-copy slices. When the free
space at the end runs out, the live rows are copied into fresh arrays (never moved in place,
so a slice handed out earlier keeps its values). Memory is bounded by age and by row count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from apm_tui.model import Table


def _empty_column(name: str, dtype: np.dtype[Any], n: int) -> np.ndarray[Any, Any]:
    if dtype.kind == "O":
        out = np.empty(n, dtype=object)
        out[:] = [{} for _ in range(n)] if name == "attributes" else ""
        return out
    if dtype.kind == "b":
        return np.zeros(n, dtype=bool)
    if dtype.kind in "iu":
        return np.full(n, -1 if dtype.kind == "i" else 0, dtype=dtype)
    return np.full(n, np.nan, dtype=dtype)


class ColumnBuffer:
    """A Table that rows are appended to and trimmed from the front of."""

    def __init__(self, time_column: str, max_rows: int) -> None:
        self.time_column = time_column
        self.max_rows = max_rows
        self._cols: dict[str, np.ndarray[Any, Any]] = {}
        self._start = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def capacity(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def append(self, table: Table) -> None:
        k = len(table)
        for name in table.names:  # (also from no rows: the columns are known from then on)
            if name not in self._cols:
                dtype = table[name].dtype
                col = _empty_column(name, dtype, self.capacity)
                self._cols[name] = col
        if k == 0:
            return
        if k > self.max_rows:
            table = table.tail(self.max_rows)
            k = self.max_rows
        if self._start + self._len + k > self.capacity:
            self._regrow(self._len + k)
        end = self._start + self._len
        for name, col in self._cols.items():
            if name in table:
                col[end : end + k] = table[name]
            else:
                col[end : end + k] = _empty_column(name, col.dtype, k)
        self._len += k
        if self._len > self.max_rows:
            self.drop_front(self._len - self.max_rows)

    def _regrow(self, needed: int) -> None:
        capacity = max(1024, min(2 * needed, self.max_rows + max(1024, self.max_rows // 4)))
        capacity = max(capacity, needed)
        fresh: dict[str, np.ndarray[Any, Any]] = {}
        for name, col in self._cols.items():
            # Free slots are written before they are ever read: no need to fill them (filling
            # an object column with fresh {} per slot was most of the window's memory growth).
            new = np.empty(capacity, dtype=col.dtype)
            new[: self._len] = col[self._start : self._start + self._len]
            fresh[name] = new
        self._cols = fresh
        self._start = 0

    def drop_front(self, n: int) -> None:
        n = min(n, self._len)
        self._start += n
        self._len -= n

    def drop_before(self, cutoff: float) -> None:
        """Drop rows whose time is before `cutoff` (rows are assumed roughly time-ordered)."""
        if not self._len:
            return
        times = self._cols[self.time_column][self._start : self._start + self._len]
        self.drop_front(int(np.searchsorted(times, cutoff, side="left")))

    def view(self) -> Table:
        s, e = self._start, self._start + self._len
        return Table({name: col[s:e] for name, col in self._cols.items()})

    def column(self, name: str) -> np.ndarray[Any, Any]:
        return self._cols[name][self._start : self._start + self._len]

    def __contains__(self, name: object) -> bool:
        return name in self._cols


class Window:
    """Metrics, spans and requests of the last `max_age_s` seconds (and at most so many rows)."""

    def __init__(
        self, max_age_s: float = 86_400.0, max_samples: int = 100_000, max_spans: int = 1_000_000
    ) -> None:
        self.max_age_s = max_age_s
        self.metrics = ColumnBuffer("timestamp", max_samples)
        self.spans = ColumnBuffer("start", max_spans)
        self.requests = ColumnBuffer("time", max_spans)
        self._newest = float("nan")
        #: Rows from this time on are kept even once older than the window (NaN: none held):
        #: a paused view's own 24 h, so stepping away from it and back shows the same rows.
        self.keep_from = float("nan")

    def append(self, metrics: Table, spans: Table, requests: Table) -> None:
        # (Spans too: a source of spans alone — internal or client spans, no request — gave
        # no newest time, and its spans never aged out.)
        newest = np.fmax.reduce(
            [
                self._newest,
                _latest(metrics, "timestamp"),
                _latest(requests, "time"),
                _latest(spans, "start"),
            ]
        )
        if np.isfinite(newest):
            self._newest = float(newest)
            cutoff = newest - self.max_age_s
            # Rows already older than the window never enter: an old log's beside a live
            # source would sit behind the live rows, where trimming the front never reaches
            # them, and show as the current values.
            metrics = between(metrics, "timestamp", cutoff)
            spans = between(spans, "start", cutoff)
            requests = between(requests, "time", cutoff)
        self.metrics.append(metrics)
        self.spans.append(spans)
        self.requests.append(requests)
        self.trim()

    def trim(self) -> None:
        """Drop what is older than the window and no longer held (`keep_from`). (The row
        limits still bound a long pause: a buffer's `append` drops its front past them.)"""
        if np.isfinite(self._newest):
            front = float(np.fmin(self._newest - self.max_age_s, self.keep_from))
            for buf in (self.metrics, self.spans, self.requests):
                buf.drop_before(front)

    def views(self) -> tuple[Table, Table, Table]:
        """Metrics, spans and requests of the window's length up to its newest time: while a
        pause holds older rows (`keep_from`), not those (the analysis of a day is of a day)."""
        m, s, r = self.metrics.view(), self.spans.view(), self.requests.view()
        if math.isnan(self.keep_from) or math.isnan(self._newest):
            return m, s, r
        cutoff = self._newest - self.max_age_s
        return (
            between(m, "timestamp", cutoff),
            between(s, "start", cutoff),
            between(r, "time", cutoff),
        )

    def oldest(self) -> float:
        candidates = [
            float(buf.column(buf.time_column)[0])
            for buf in (self.metrics, self.requests)
            if len(buf)
        ]
        return min(candidates) if candidates else float("nan")

    def newest(self) -> float:
        """The newest sample, request or span time appended (rows arrive in about, not exactly,
        time order: a log's minute after the host's second)."""
        return self._newest


def earliest(metrics: Table, requests: Table) -> float:
    """The earliest sample or request time of these rows (NaN: none)."""
    firsts = [float(t[c].min()) for t, c in ((metrics, "timestamp"), (requests, "time")) if len(t)]
    return min(firsts) if firsts else math.nan


def _latest(table: Table, column: str) -> float:
    if not len(table) or column not in table:
        return float("nan")
    return float(np.fmax.reduce(table[column]))


def between(table: Table, column: str, since: float, until: float = math.inf) -> Table:
    """The rows with `since` <= `column` <= `until` (the table itself when all are)."""
    if not len(table) or column not in table:
        return table
    times = table[column]
    keep = (times >= since) & (times <= until) if until < math.inf else times >= since
    return table if keep.all() else table.take(np.flatnonzero(keep))


__all__ = ["ColumnBuffer", "Window", "between", "earliest"]
