"""The shared vocabulary: metric samples, spans, and the columnar tables and batches of them.

Sources may build data record by record (`MetricSample`, `Span`) or hand over columns directly;
either way a `Batch` holds columns (numpy arrays), because the analysis, the window and the
recording all work on columns and converting 180,000 span objects per report would dominate its
run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Up to this many values a dict numbers them about as fast as pandas (1 vs 0.7 ms for a day's
#: 8,600 requests; 4 vs 2 ms at 40,000); past it pandas is 2× faster (30 vs 14 ms at 250,000).
FACTORIZE_SMALL = 50_000

#: A column as (a number per row, the distinct values in first-seen order): `factorize`'s answer.
Grouping = tuple[np.ndarray[Any, Any], list[Any]]


def factorize(values: np.ndarray[Any, Any]) -> Grouping:
    """Each value as a number into the distinct values in first-seen order (`pd.factorize`),
    without loading pandas for the dashboard's first tick."""
    if len(values) > FACTORIZE_SMALL:
        import pandas as pd

        # NA is a value like any other here (None must not become -1), as in the dict below.
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), list(uniques)
    codes, seen = _numbered(values)
    return codes, list(seen)


def numbering(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], dict[Any, int]]:
    """`factorize` with the distinct values as a dict (value → number), for a caller that
    looks values up afterwards: the dict the numbering builds anyway, not a second one."""
    if len(values) > FACTORIZE_SMALL:
        codes, uniques = factorize(values)
        return codes, {v: i for i, v in enumerate(uniques)}
    return _numbered(values)


def _numbered(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], dict[Any, int]]:
    seen: dict[Any, int] = {}
    codes = np.fromiter(
        (seen.setdefault(v, len(seen)) for v in values.tolist()), np.int64, len(values)
    )
    return codes, seen


#: The six metric features every sample carries (NaN where a source does not measure one).
METRIC_FIELDS: tuple[str, ...] = (
    "response_time_ms",
    "throughput_rps",
    "cpu_pct",
    "memory_pct",
    "db_query_ms",
    "error_rate_pct",
)

#: Span columns in table order. `parent_id` is "" for a root span.
SPAN_STR_FIELDS: tuple[str, ...] = (
    "trace_id",
    "span_id",
    "parent_id",
    "service",
    "operation",
    "kind",
)
AttributeValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One interval's application and host metrics. NaN means "not measured by this source"."""

    timestamp: float
    response_time_ms: float = float("nan")
    throughput_rps: float = float("nan")
    cpu_pct: float = float("nan")
    memory_pct: float = float("nan")
    db_query_ms: float = float("nan")
    error_rate_pct: float = float("nan")
    custom: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """One timed operation of a trace. Times are Unix seconds; `duration_ms` is milliseconds."""

    trace_id: str
    span_id: str
    parent_id: str
    service: str
    operation: str
    start: float
    duration_ms: float
    error: bool = False
    kind: str = "internal"
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


class Table:
    """Named numpy columns of equal length: the unit the window, analysis and recording share."""

    __slots__ = ("_columns", "_length")

    def __init__(self, columns: Mapping[str, np.ndarray[Any, Any]]) -> None:
        lengths = {len(col) for col in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        self._columns: dict[str, np.ndarray[Any, Any]] = dict(columns)
        self._length = lengths.pop() if lengths else 0

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, name: str) -> np.ndarray[Any, Any]:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def columns(self) -> dict[str, np.ndarray[Any, Any]]:
        return dict(self._columns)

    def take(self, index: slice | np.ndarray[Any, Any]) -> Table:
        return Table({name: col[index] for name, col in self._columns.items()})

    def tail(self, n: int) -> Table:
        return self if n >= self._length else self.take(slice(self._length - n, None))

    @staticmethod
    def concat(tables: Sequence[Table]) -> Table:
        """Stack tables row-wise; a column some tables lack is filled with its empty value."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return Table({})
        if len(tables) == 1:
            return tables[0]
        names: dict[str, None] = {}
        for t in tables:
            names.update(dict.fromkeys(t.names))
        out: dict[str, np.ndarray[Any, Any]] = {}
        for name in names:
            parts = []
            for t in tables:
                if name in t:
                    parts.append(t[name])
                else:
                    parts.append(_empty_like_column(name, len(t)))
            out[name] = np.concatenate(parts)
        return Table(out)


def _empty_like_column(name: str, n: int) -> np.ndarray[Any, Any]:
    if name in SPAN_STR_FIELDS:
        return np.full(n, "", dtype=object)
    if name == "error":
        return np.zeros(n, dtype=bool)
    if name == "attributes":
        return np.array([{} for _ in range(n)], dtype=object)
    return np.full(n, np.nan)


def metrics_table(samples: Iterable[MetricSample]) -> Table:
    """Columns from metric records; each custom metric becomes a column (NaN where absent)."""
    samples = list(samples)
    cols: dict[str, np.ndarray[Any, Any]] = {
        "timestamp": np.array([s.timestamp for s in samples], dtype=np.float64)
    }
    for name in METRIC_FIELDS:
        cols[name] = np.array([getattr(s, name) for s in samples], dtype=np.float64)
    custom_names: dict[str, None] = {}
    for s in samples:
        custom_names.update(dict.fromkeys(s.custom))
    for name in custom_names:
        if name in cols:
            raise ValueError(f"custom metric {name!r} shadows a built-in column")
        cols[name] = np.array([s.custom.get(name, np.nan) for s in samples], dtype=np.float64)
    return Table(cols)


def spans_table(spans: Iterable[Span]) -> Table:
    spans = list(spans)
    cols: dict[str, np.ndarray[Any, Any]] = {}
    for name in SPAN_STR_FIELDS:
        cols[name] = np.array([getattr(s, name) for s in spans], dtype=object)
    cols["start"] = np.array([s.start for s in spans], dtype=np.float64)
    cols["duration_ms"] = np.array([s.duration_ms for s in spans], dtype=np.float64)
    cols["error"] = np.array([s.error for s in spans], dtype=bool)
    attrs = np.empty(len(spans), dtype=object)
    attrs[:] = [dict(s.attributes) for s in spans]
    cols["attributes"] = attrs
    return Table(cols)


def custom_metric_names(metrics: Table) -> list[str]:
    return [
        n
        for n in metrics.names
        if n != "timestamp" and n not in METRIC_FIELDS and not n.startswith(HOST_PREFIX)
    ]


#: Metric columns with this prefix are host details (swap, load, disk and network rates, per-core
#: CPU): the resource panel shows them, and they are not reported as custom metrics.
HOST_PREFIX = "host."


@dataclass(frozen=True, slots=True)
class Batch:
    """What a source yields per poll: metric rows and span rows, as columns.

    `status` is the source's latest state that is not a time series (top processes, the
    followed process, notices such as "pid 123 ended"); plain JSON-able values only, because it
    is recorded with the batch.
    """

    metrics: Table = field(default_factory=lambda: Table({}))
    spans: Table = field(default_factory=lambda: Table({}))
    status: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, samples: Iterable[MetricSample] = (), spans: Iterable[Span] = ()) -> Batch:
        """Build a batch from records; the convenient form for a user's own source."""
        samples = list(samples)
        spans = list(spans)
        return cls(
            metrics=metrics_table(samples) if samples else Table({}),
            spans=spans_table(spans) if spans else Table({}),
        )

    def __bool__(self) -> bool:
        return bool(len(self.metrics) or len(self.spans) or self.status)


def newest_time(batch: Batch) -> float:
    """The latest timestamp in a batch (0 when it has none): a history batch's recorded time."""
    times = [float(np.nanmax(batch.metrics["timestamp"]))] if len(batch.metrics) else []
    if len(batch.spans):
        times.append(float(np.nanmax(batch.spans["start"])))
    return max(times, default=0.0)
