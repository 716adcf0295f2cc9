"""The full analysis: a window of metric samples and spans in, one `Analysis` out.

No I/O, no Textual. `analyse` is what the report, the dashboard's worker and the PNG export call.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from typing import Literal

import numpy as np

from apm_tui.analysis import bottlenecks as bn
from apm_tui.analysis import recommend as rc
from apm_tui.analysis.anomaly import FEATURE_TYPES, Detection, detect
from apm_tui.analysis.apdex import apdex_counts, apdex_over_time
from apm_tui.analysis.health import health_score
from apm_tui.analysis.latency import latency_stats
from apm_tui.analysis.requests import extract_requests, first_of_each, labelled
from apm_tui.analysis.result import (
    Analysis,
    Bottleneck,
    CustomMetric,
    Recommendation,
    Resource,
)
from apm_tui.analysis.trend import theil_sen
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table, custom_metric_names

__all__ = ["Analysis", "analyse"]

TIMELINE_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86_400.0)
_PRIORITY = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
NAN = float("nan")
#: The window's requests are its whole traffic when they are at least this share of what its
#: samples count (a log's are all of it, give or take a minute not yet sampled; the synthetic
#: world's traces are under 1 % of its requests).
WHOLE_TRAFFIC = 0.5


def _column(metrics: Table, name: str) -> FloatArray:
    if name in metrics:
        return np.asarray(metrics[name], dtype=np.float64)
    return np.full(len(metrics), np.nan)


def _trace_count(spans: Table, frame: bn.SpanFrame | None) -> int:
    """The distinct traces: the frame's, or counted where none was built (every span a root)."""
    if frame is not None:
        return len(frame.traces)
    return int(first_of_each(spans["trace_id"]).sum()) if len(spans) else 0


def extent(metrics: Table, spans: Table) -> tuple[float, float]:
    """The first and last timestamp analysed: of the samples and the spans, the requests'
    among them (a log's last requests come after its last minute's sample starts; a trace
    file that has spans but no request still covers a time)."""
    times = [_column(metrics, "timestamp")]
    if len(spans):
        times.append(np.asarray(spans["start"], dtype=np.float64))
    every = np.concatenate(times)
    every = every[np.isfinite(every)]
    return (float(every.min()), float(every.max())) if every.size else (NAN, NAN)


def _nanmean(x: FloatArray) -> float:
    finite = x[np.isfinite(x)]
    return float(finite.mean()) if finite.size else NAN


def resource(x: FloatArray) -> Resource:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return Resource(NAN, NAN, NAN)
    return Resource(
        avg=float(finite.mean()), peak=float(finite.max()), p95=float(np.percentile(finite, 95))
    )


def error_rate(metrics: Table, req_errors: np.ndarray, interval_s: float = NAN) -> float:
    """Errors / requests when the window's requests are the traffic its samples count (a log,
    an OTLP receiver: their samples are made from those requests); else the samples' mean
    weighted by throughput (the synthetic world's traces are a sample of its requests).

    The samples' mean was the rule for all: a receiver's first minute, watched for a few
    seconds, is a rate over those seconds, and one error in them weighed as a minute of them
    (1.47 % shown for 1 error in 1,201 requests)."""
    err = _column(metrics, "error_rate_pct")
    thr = _column(metrics, "throughput_rps")
    ok = np.isfinite(err)
    counted = np.where(np.isfinite(thr), thr, 0.0).sum() * interval_s
    if req_errors.size and (not ok.any() or req_errors.size >= WHOLE_TRAFFIC * counted):
        return float(req_errors.mean() * 100.0)
    if ok.any():
        w = np.where(np.isfinite(thr) & ok, thr, 0.0)
        if w.sum() > 0:
            return float(np.sum(err[ok] * w[ok]) / w[ok].sum())
        return float(err[ok].mean())
    return NAN


def custom_metrics(metrics: Table) -> tuple[CustomMetric, ...]:
    out = []
    t = _column(metrics, "timestamp")
    for name in custom_metric_names(metrics):
        y = _column(metrics, name)
        finite = y[np.isfinite(y)]
        if finite.size == 0:
            continue
        trend = theil_sen(t, y)
        slope = trend.slope_per_hour if trend else 0.0
        spread = float(np.std(finite)) or abs(float(finite.mean())) or 1.0
        # "flat" unless the fitted change over the window is material against the spread.
        hours = (t[-1] - t[0]) / 3600 if t.size > 1 else 0.0
        direction: Literal["rising", "falling", "flat"] = "flat"
        if trend and abs(slope * hours) > 0.5 * spread and abs(trend.tau) >= 0.3:
            direction = "rising" if slope > 0 else "falling"
        out.append(
            CustomMetric(
                name=name,
                avg=float(finite.mean()),
                peak=float(finite.max()),
                last=float(finite[-1]),
                trend_per_hour=slope,
                trend=direction,
            )
        )
    return tuple(out)


def apdex_timeline(
    times: FloatArray, durations: FloatArray, errors: np.ndarray, t_ms: float
) -> tuple[tuple[float, float], ...]:
    """Apdex per bucket, with buckets of 1 min, 5 min, 15 min, 1 h, ... so there are ≤ ~100."""
    if times.size == 0:
        return ()
    span = float(times.max() - times.min())
    bucket = next((b for b in TIMELINE_BUCKETS if span / b <= 100), TIMELINE_BUCKETS[-1])
    starts, scores = apdex_over_time(times, durations, errors, t_ms, bucket)
    return tuple(zip(starts.tolist(), scores.tolist(), strict=True))


def median_interval(metrics: Table) -> float:
    t = _column(metrics, "timestamp")
    if t.size < 2:
        return 60.0
    return float(np.median(np.diff(t))) or 60.0


def analyse(
    metrics: Table,
    spans: Table,
    th: Thresholds | None = None,
    detection: Detection | None = None,
) -> Analysis:
    """Analyse one window. `detection` lets a caller pass anomalies it already computed."""
    th = th or Thresholds()
    req = labelled(extract_requests(spans))
    interval = median_interval(metrics)
    if len(req):
        basis = "requests"
        latency = latency_stats(req.duration_ms)
    elif len(metrics) and np.isfinite(_column(metrics, "response_time_ms")).any():
        basis = "samples"
        latency = latency_stats(_column(metrics, "response_time_ms"))
    else:
        basis = "none"
        latency = latency_stats(np.empty(0))
    overall = replace(
        apdex_counts(req.duration_ms, req.error, th.apdex_t_ms),
        timeline=apdex_timeline(req.time, req.duration_ms, req.error, th.apdex_t_ms),
    )
    cpu = resource(_column(metrics, "cpu_pct"))
    memory = resource(_column(metrics, "memory_pct"))
    err_pct = error_rate(metrics, req.error, interval)
    detection = detection or detect(metrics, th)

    endpoints = bn.endpoint_stats(req, th)
    found: list[tuple[Bottleneck, Recommendation]] = []
    # Spans that are all roots and none a DB call (an access log's requests) have no hotspot
    # and no slow statement: their frame (dicts of every span and trace id, a label string a
    # span) would only cost memory, ≈ 280 MB and 6 s at the window's million requests.
    inside = len(spans) and bool((spans["parent_id"] != "").any() or (spans["kind"] == "db").any())
    frame = bn.span_frame(spans) if inside else None
    traces = frame.numbers(req.trace_id) if frame is not None else np.full(len(req), -1)
    for e in bn.slow_endpoints(endpoints, th):
        spot = bn.hotspot(frame, traces[req.endpoint == e.name]) if frame is not None else None
        found.append(rc.slow_endpoint(e, spot, req, traces, overall, latency.p95, th))
    if frame is not None:
        queries = bn.query_stats(frame)
        slow = bn.slow_queries(queries, th)
        fast = [q.avg_ms for q in queries if all(q.statement != s.statement for s in slow)]
        others = float(np.median(fast)) if fast else NAN
        for q in slow:
            found.append(rc.slow_query(q, frame, others, req, traces, overall, latency.p95, th))
    start, end = extent(metrics, spans)
    leak = bn.memory_leak(metrics, th)
    if leak is not None:
        found.append(rc.memory_leak(leak, start, end))
    high = sum(1 for a in detection.anomalies if a.severity == "HIGH")
    scored = partial(
        health_score,
        avg_response_ms=latency.avg,
        cpu_p95=cpu.p95,
        memory_p95=memory.p95,
        high_anomaly_share=high / len(metrics) if len(metrics) else NAN,
        th=th,
    )
    health = scored(error_rate_pct=err_pct, apdex=overall.score)

    def health_gain(error_rate_pct: float, apdex: float) -> float:
        return scored(error_rate_pct=error_rate_pct, apdex=apdex).score - health.score

    for e in bn.error_endpoints(endpoints, th):
        found.append(rc.error_endpoint(e, req, th, err_pct, health_gain))
    if math.isfinite(cpu.p95) and cpu.p95 > th.cpu_high_pct:
        c = _column(metrics, "cpu_pct")
        busy = float(np.mean(c[np.isfinite(c)] > th.cpu_high_pct))
        found.append(rc.cpu_saturation(cpu, th, busy))

    recs = [r for _, r in found]
    apdex_rec = rc.apdex_below_target(overall, endpoints, req, th)
    if apdex_rec:
        recs.append(apdex_rec)
    recs.extend(
        rc.anomaly_episodes(
            detection.anomalies,
            interval,
            {name: _column(metrics, name) for name in ("timestamp", *FEATURE_TYPES)},
            (start, end),
        )
    )
    recs.sort(key=lambda r: _PRIORITY[r.priority])

    return Analysis(
        start=start,
        end=end,
        metrics_count=len(metrics),
        traces_count=_trace_count(spans, frame),
        spans_count=len(spans),
        requests_count=len(req),
        latency_basis=basis,  # type: ignore[arg-type]
        latency=latency,
        throughput_rps=_nanmean(_column(metrics, "throughput_rps")),
        error_rate_pct=err_pct,
        apdex=overall,
        cpu=cpu,
        memory=memory,
        db_query_ms=_nanmean(_column(metrics, "db_query_ms")),
        anomalies=detection.anomalies,
        anomaly_status=detection.status,
        bottlenecks=tuple(sorted((b for b, _ in found), key=lambda b: _PRIORITY[b.severity])),
        health=health,
        recommendations=tuple(recs),
        endpoints=tuple(endpoints),
        custom_metrics=custom_metrics(metrics),
    )
