"""Bottlenecks: slow endpoints, slow DB statements, memory leaks, error-heavy endpoints, CPU.

Endpoints are ranked by impact, the share of all request time they take (an endpoint that is
slow but rarely called matters less than a moderately slow one that serves half the traffic).
Statements are ranked by their total time. Each finding carries the numbers it rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from apm_tui.analysis.critical import CriticalPath, critical_path
from apm_tui.analysis.live import endpoint_table
from apm_tui.analysis.requests import Requests, cycle_breaks, statements
from apm_tui.analysis.result import EndpointStats, Severity
from apm_tui.analysis.trend import Trend, theil_sen
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table, factorize, numbering

IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: A part called by an endpoint is named as its hotspot from this share of the endpoint's
#: request time: below it the time is the endpoint's own (or spread thin), and "cache it" was
#: advised for a call on 0 % of it (an asynchronous publish off the critical path).
HOTSPOT_MIN_SHARE = 0.10


def endpoint_stats(req: Requests, th: Thresholds) -> list[EndpointStats]:
    """Per-endpoint latency, Apdex and errors, largest share of request time first: the live
    view's endpoint table over the window's requests, so the report and the dashboard agree."""
    if len(req) == 0:
        return []
    requests = Table({"endpoint": req.endpoint, "duration_ms": req.duration_ms, "error": req.error})
    return list(endpoint_table(requests, th))


@dataclass(frozen=True, slots=True)
class SpanFrame:
    """Spans with their time on the critical path, a label (the statement, else service +
    operation) and their trace as a number.

    numpy, not pandas: the dashboard's full analysis runs this every few seconds, and loading
    pandas for it held ≈ 33 MB of the dashboard's memory (126 → 93 MB after 90 s at 200×60,
    2026-12-06), with no loss of speed (the 30-day report's analysis: 0.54 → 0.51 s)."""

    trace: IntArray  # each span's trace, numbered as in `traces`
    traces: dict[Any, int]  # trace id → number
    has_parent: BoolArray
    kind: np.ndarray[Any, Any]
    duration_ms: FloatArray
    statement: np.ndarray[Any, Any]
    label: np.ndarray[Any, Any]
    critical: CriticalPath  # each span's time on its trace's critical path

    def numbers(self, trace_ids: np.ndarray[Any, Any]) -> IntArray:
        """The number of each trace id (-1 for a trace the spans do not have)."""
        get = self.traces.get
        return np.fromiter((get(t, -1) for t in trace_ids.tolist()), np.int64, len(trace_ids))

    def per_trace(self, rows: IntArray, values: FloatArray) -> FloatArray:
        """The sum of `values` of `rows` for each trace number (0 for the others; a NaN
        counts as 0, as in a pandas sum)."""
        sums = np.bincount(
            self.trace[rows], weights=_zero_nan(values[rows]), minlength=len(self.traces)
        )
        return sums.astype(np.float64, copy=False)

    def saving(self, rows: IntArray, fraction: float) -> FloatArray:
        """What each trace would save if `rows` took `fraction` less of their time on its
        critical path (a call the trace did not wait on saves nothing), by trace number."""
        values = np.zeros(len(self.trace))
        values[rows] = self.critical.saving_ms(rows, fraction)
        return self.per_trace(rows, values)


def parent_rows(spans: Table, trace_codes: IntArray) -> IntArray:
    """Each span's parent row: the span of its trace with its parent id (-1 when there is
    none). Within the trace: ids are unique only there (a test's traces may reuse them)."""
    n = len(spans)
    codes, number = numbering(spans["span_id"])
    parent = np.fromiter((number.get(p, -1) for p in spans["parent_id"].tolist()), np.int64, n)
    width = len(number)
    own, wanted = trace_codes * width + codes, trace_codes * width + parent
    order = np.argsort(own, kind="stable")  # a repeated id: its first span
    at = np.minimum(np.searchsorted(own[order], wanted), max(n - 1, 0))
    found = (parent >= 0) & (own[order][at] == wanted)
    rows = np.where(found, order[at], -1)
    # A span named as its own parent is a root (as `requests.root_mask` takes it): as its
    # own parent it had no time on the critical path, and its trace no root.
    rows = np.where(spans["parent_id"] == spans["span_id"], -1, rows)  # (a repeated id too)
    # So is the earliest span of each cycle of parent ids, as in the waterfall.
    rows[cycle_breaks(rows, np.asarray(spans["start"], dtype=float))] = -1
    return rows


def _zero_nan(values: FloatArray) -> FloatArray:
    return np.where(np.isnan(values), 0.0, values)


def span_frame(spans: Table) -> SpanFrame:
    duration = np.asarray(spans["duration_ms"], dtype=np.float64)
    trace_codes, traces = numbering(spans["trace_id"])
    stmt = statements(spans)
    label = np.where(stmt != "", stmt, spans["service"] + " " + spans["operation"])
    return SpanFrame(
        trace=trace_codes,
        traces=traces,
        has_parent=spans["parent_id"] != "",
        kind=spans["kind"],
        duration_ms=duration,
        statement=stmt,
        label=label,
        critical=critical_path(parent_rows(spans, trace_codes), spans["start"], duration),
    )


@dataclass(frozen=True, slots=True)
class Hotspot:
    """The component (a statement, or service + operation) that takes most of an endpoint's time."""

    label: str
    share: float  # of the endpoint's request time: its time on the critical path
    saving_ms: FloatArray  # what each trace saves if it took half as long (`SpanFrame`)


def hotspot(frame: SpanFrame, traces: IntArray) -> Hotspot | None:
    """`traces`: the numbers of the endpoint's traces."""
    chosen = np.zeros(len(frame.traces), dtype=bool)
    chosen[traces[traces >= 0]] = True
    inside = chosen[frame.trace]
    part = np.flatnonzero(inside & frame.has_parent)
    if part.size == 0:
        return None
    codes, labels = factorize(frame.label[part])
    path_ms = frame.critical.path_ms
    by_label = np.bincount(codes, weights=path_ms[part], minlength=len(labels))
    best = int(np.argmax(by_label))  # the first label seen of those with the most time
    total = float(path_ms[inside].sum()) or 1.0  # the traces' durations, roots' own time too
    share = float(by_label[best]) / total
    if share < HOTSPOT_MIN_SHARE:
        return None
    return Hotspot(
        label=str(labels[best]), share=share, saving_ms=frame.saving(part[codes == best], 0.5)
    )


@dataclass(frozen=True, slots=True)
class QueryStats:
    statement: str
    calls: int
    avg_ms: float
    p95_ms: float
    total_ms: float
    share_of_db: float
    rows: IntArray  # the statement's spans in the `SpanFrame`


def query_stats(frame: SpanFrame) -> list[QueryStats]:
    db = np.flatnonzero((frame.kind == "db") & (frame.statement != ""))
    if db.size == 0:
        return []
    total = float(np.nansum(frame.duration_ms[db])) or 1.0
    codes, names = factorize(frame.statement[db])
    order = np.argsort(codes, kind="stable")  # each statement's calls in table order
    bounds = np.cumsum(np.bincount(codes, minlength=len(names)))
    out = []
    for stmt, rows in zip(names, np.split(db[order], bounds[:-1]), strict=True):
        d = frame.duration_ms[rows]
        d = d[np.isfinite(d)]  # a span without a duration (Zipkin's is optional) is a call
        out.append(
            QueryStats(
                statement=str(stmt),
                calls=len(rows),
                avg_ms=float(d.mean()) if d.size else math.nan,
                p95_ms=float(np.percentile(d, 95)) if d.size else math.nan,
                total_ms=float(d.sum()),
                share_of_db=float(d.sum()) / total,
                rows=rows,
            )
        )
    return sorted(out, key=lambda q: q.total_ms, reverse=True)


def slow_queries(queries: list[QueryStats], th: Thresholds) -> list[QueryStats]:
    return [
        q for q in queries if q.avg_ms > th.slow_query_ms and q.calls >= th.slow_query_min_calls
    ]


def query_severity(q: QueryStats, th: Thresholds) -> Severity:
    return "HIGH" if q.avg_ms >= 2 * th.slow_query_ms or q.share_of_db >= 0.5 else "MEDIUM"


def slow_endpoints(endpoints: list[EndpointStats], th: Thresholds) -> list[EndpointStats]:
    return [
        e
        for e in endpoints
        if e.p95_ms > th.slow_endpoint_p95_ms and e.requests >= th.slow_endpoint_min_requests
    ]


def endpoint_severity(e: EndpointStats, th: Thresholds) -> Severity:
    return "HIGH" if e.avg_ms > th.slow_endpoint_p95_ms or e.time_share >= 0.25 else "MEDIUM"


def error_endpoints(endpoints: list[EndpointStats], th: Thresholds) -> list[EndpointStats]:
    return [
        e
        for e in endpoints
        if e.error_rate_pct >= th.error_endpoint_pct
        and e.requests >= th.slow_endpoint_min_requests
        and round(e.error_rate_pct * e.requests / 100) >= 3
    ]


@dataclass(frozen=True, slots=True)
class Leak:
    trend: Trend
    hours_to_full: float  # from the memory now, at the climb's rate; inf when not rising
    segment_start: float
    restarts: int  # sudden drops of memory in the window (restarts that hid the leak)
    now_pct: float  # the newest memory sample
    #: Where the climb ended when it was found before the latest restart (the segment since
    #: is too short to say), else None.
    segment_end: float | None = None


def restart_points(memory: FloatArray, drop_pct: float = 10.0) -> np.ndarray[Any, Any]:
    """Indices where memory fell by more than `drop_pct` points from one sample to the next."""
    finite = np.where(np.isfinite(memory), memory, np.nan)
    return np.flatnonzero(np.diff(finite) < -drop_pct) + 1


def memory_leak(metrics: Table, th: Thresholds) -> Leak | None:
    """A steady climb of memory since the last restart, fitted robustly."""
    if "memory_pct" not in metrics or len(metrics) < 10:
        return None
    t = metrics["timestamp"]
    mem = metrics["memory_pct"]
    cuts = restart_points(mem)
    begin = int(cuts[-1]) if cuts.size else 0
    # A segment shorter than an hour or 30 samples says little; look at the one before it.
    segment_end = None
    if (t[-1] - t[begin] < 3600 or len(t) - begin < 30) and cuts.size:
        end, begin = begin, int(cuts[-2]) if cuts.size > 1 else 0
        t_seg, m_seg = t[begin:end], mem[begin:end]
        segment_end = float(t[end - 1])
    else:
        t_seg, m_seg = t[begin:], mem[begin:]
    if t_seg.size < 10 or t_seg[-1] - t_seg[0] < 3600:
        return None
    trend = theil_sen(t_seg, m_seg)
    if trend is None:
        return None
    if trend.slope_per_hour < th.leak_min_slope_pct_per_hour or trend.tau < th.leak_min_trend:
        return None
    finite = mem[np.isfinite(mem)]
    now = float(finite[-1]) if finite.size else trend.last
    # From where memory is now: after a restart that is far below where the climb ended.
    hours = (100.0 - now) / trend.slope_per_hour
    return Leak(
        trend=trend,
        hours_to_full=max(hours, 0.0),
        segment_start=float(t_seg[0]),
        restarts=int(cuts.size),
        now_pct=now,
        segment_end=segment_end,
    )
