"""Bottlenecks: slow endpoints, slow DB statements, memory leaks, error-heavy endpoints, CPU.

Endpoints are ranked by impact, the share of all request time they take (an endpoint that is
slow but rarely called matters less than a moderately slow one that serves half the traffic).
Statements are ranked by their total time. Each finding carries the numbers it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from apm_tui.analysis.apdex import apdex_values
from apm_tui.analysis.latency import latency_stats
from apm_tui.analysis.requests import Requests, statements
from apm_tui.analysis.result import EndpointStats, Severity
from apm_tui.analysis.trend import Trend, theil_sen
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table


def endpoint_stats(req: Requests, th: Thresholds) -> list[EndpointStats]:
    """Per-endpoint latency, Apdex and errors, largest share of request time first."""
    if len(req) == 0:
        return []
    frame = pd.DataFrame(
        {
            "endpoint": req.endpoint,
            "d": req.duration_ms,
            "err": req.error,
            "apdex": apdex_values(req.duration_ms, req.error, th.apdex_t_ms),
        }
    )
    total = float(np.nansum(req.duration_ms)) or 1.0
    out = []
    for name, group in frame.groupby("endpoint", sort=False):
        d = group["d"].to_numpy(dtype=float)
        stats = latency_stats(d)
        out.append(
            EndpointStats(
                name=str(name),
                requests=len(group),
                avg_ms=stats.avg,
                p50_ms=stats.p50,
                p95_ms=stats.p95,
                p99_ms=stats.p99,
                apdex=float(group["apdex"].mean()),
                error_rate_pct=float(group["err"].mean() * 100.0),
                time_share=float(np.nansum(d)) / total,
            )
        )
    return sorted(out, key=lambda e: e.time_share, reverse=True)


@dataclass(frozen=True, slots=True)
class Hotspot:
    """The component (a statement, or service + operation) that takes most of an endpoint's time."""

    label: str
    share: float  # of the endpoint's total request time
    per_trace_ms: pd.Series  # exclusive ms of the component, indexed by trace id


def span_frame(spans: Table) -> pd.DataFrame:
    """Spans with their exclusive time (own time minus their children's) and a label."""
    n = len(spans)
    # Integer codes for ids: pandas groupby on string columns costs ~10x more at 150k spans.
    codes, _ = pd.factorize(np.concatenate([spans["span_id"], spans["parent_id"]]))
    own, parent = codes[:n], codes[n:]
    child_ms = np.bincount(parent, weights=spans["duration_ms"], minlength=codes.max() + 1)
    exclusive = np.clip(spans["duration_ms"] - child_ms[own], 0.0, None)
    stmt = statements(spans)
    label = np.where(stmt != "", stmt, spans["service"] + " " + spans["operation"])
    return pd.DataFrame(
        {
            "trace_id": spans["trace_id"],
            "parent_id": spans["parent_id"],
            "kind": spans["kind"],
            "duration_ms": spans["duration_ms"],
            "statement": stmt,
            "label": label,
            "exclusive_ms": exclusive,
        }
    )


def hotspot(frame: pd.DataFrame, trace_ids: np.ndarray[Any, Any]) -> Hotspot | None:
    part = frame[frame["trace_id"].isin(trace_ids) & (frame["parent_id"] != "")]
    if part.empty:
        return None
    by_label = part.groupby("label", sort=False)["exclusive_ms"].sum()
    label = str(by_label.idxmax())
    total = float(frame.loc[frame["trace_id"].isin(trace_ids), "exclusive_ms"].sum()) or 1.0
    per_trace = part[part["label"] == label].groupby("trace_id")["exclusive_ms"].sum()
    return Hotspot(label=label, share=float(by_label.max()) / total, per_trace_ms=per_trace)


@dataclass(frozen=True, slots=True)
class QueryStats:
    statement: str
    calls: int
    avg_ms: float
    p95_ms: float
    total_ms: float
    share_of_db: float
    per_trace_ms: pd.Series  # total ms of the statement per trace


def query_stats(frame: pd.DataFrame) -> list[QueryStats]:
    db = frame[(frame["kind"] == "db") & (frame["statement"] != "")]
    if db.empty:
        return []
    total = float(db["duration_ms"].sum()) or 1.0
    out = []
    for stmt, group in db.groupby("statement", sort=False):
        d = group["duration_ms"].to_numpy(dtype=float)
        out.append(
            QueryStats(
                statement=str(stmt),
                calls=len(group),
                avg_ms=float(d.mean()),
                p95_ms=float(np.percentile(d, 95)),
                total_ms=float(d.sum()),
                share_of_db=float(d.sum()) / total,
                per_trace_ms=group.groupby("trace_id")["duration_ms"].sum(),
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
    hours_to_full: float  # inf when not rising
    segment_start: float
    restarts: int  # sudden drops of memory in the window (restarts that hid the leak)


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
    if (t[-1] - t[begin] < 3600 or len(t) - begin < 30) and cuts.size:
        end, begin = begin, int(cuts[-2]) if cuts.size > 1 else 0
        t_seg, m_seg = t[begin:end], mem[begin:end]
    else:
        t_seg, m_seg = t[begin:], mem[begin:]
    if t_seg.size < 10 or t_seg[-1] - t_seg[0] < 3600:
        return None
    trend = theil_sen(t_seg, m_seg)
    if trend is None:
        return None
    if trend.slope_per_hour < th.leak_min_slope_pct_per_hour or trend.tau < th.leak_min_trend:
        return None
    hours = (100.0 - trend.last) / trend.slope_per_hour
    return Leak(
        trend=trend,
        hours_to_full=max(hours, 0.0),
        segment_start=float(t_seg[0]),
        restarts=int(cuts.size),
    )
