"""Findings → bottlenecks and recommendations, each impact estimated from the data.

Every recommendation comes from one finding (no finding, no recommendation). Impacts are
what-if recomputations on the requests in the window, under an assumption the text states:
"if this component took half its time", "if this statement ran at the median speed of the
others", "if this endpoint's errors were fixed".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from apm_tui.analysis.anomaly import FEATURE_TYPES, dominant_type, episodes
from apm_tui.analysis.apdex import apdex_counts
from apm_tui.analysis.bottlenecks import (
    Hotspot,
    IntArray,
    Leak,
    QueryStats,
    SpanFrame,
    endpoint_severity,
    query_severity,
)
from apm_tui.analysis.requests import Requests
from apm_tui.analysis.result import (
    Anomaly,
    Apdex,
    Bottleneck,
    EndpointStats,
    Recommendation,
    Resource,
    Severity,
)
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray


def short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def clock(ts: float, window: tuple[float, float], *, seconds: bool = False) -> str:
    """`14:05`, or `05 Dec 14:05` unless the window and the time are all on one UTC day (a
    time alone would not say which of a 48-hour window's days it is, nor when a leak's
    "full in 60 h" falls); `14:05:30` with `seconds`."""
    days = {time.gmtime(t)[:3] for t in (ts, *window) if math.isfinite(t)}
    hours = "%H:%M:%S" if seconds else "%H:%M"
    return time.strftime(hours if len(days) == 1 else f"%d %b {hours}", time.gmtime(ts))


@dataclass(frozen=True, slots=True)
class WhatIf:
    apdex: float
    p95: float
    endpoint_p95: float


def what_if(
    req: Requests, traces: IntArray, saving_ms: FloatArray, endpoint: str | None, th: Thresholds
) -> WhatIf:
    """Overall Apdex and P95 (and one endpoint's P95) if each trace were `saving_ms` faster.
    `traces`: each request's trace number, `saving_ms`: the saving by trace number."""
    saving = np.where(traces >= 0, saving_ms[traces], 0.0)
    new = np.maximum(req.duration_ms - saving, 0.0)
    score = apdex_counts(new, req.error, th.apdex_t_ms).score
    mask = req.endpoint == endpoint if endpoint else np.zeros(len(req), dtype=bool)
    ep95 = float(np.percentile(new[mask], 95)) if mask.any() else float("nan")
    return WhatIf(apdex=score, p95=float(np.percentile(new, 95)), endpoint_p95=ep95)


def slow_endpoint(
    e: EndpointStats,
    spot: Hotspot | None,
    req: Requests,
    traces: IntArray,
    overall: Apdex,
    p95: float,
    th: Thresholds,
) -> tuple[Bottleneck, Recommendation]:
    severity = endpoint_severity(e, th)
    traffic = e.requests / max(len(req), 1) * 100
    evidence = (
        f"{e.requests} requests ({traffic:.0f}% of traffic), avg {e.avg_ms:.0f} ms, "
        f"P95 {e.p95_ms:.0f} ms, {e.time_share * 100:.0f}% of all request time"
    )
    if spot is not None:
        action = (
            f"{short(spot.label, 50)} takes {spot.share * 100:.0f}% of its time: cache it "
            "or move it off the request path (async)"
        )
        outcome = what_if(req, traces, spot.saving_ms, e.name, th)
        impact = (
            f"if that part took half as long: {e.name} P95 {e.p95_ms:.0f} → "
            f"{outcome.endpoint_p95:.0f} ms, overall P95 {p95:.0f} → {outcome.p95:.0f} ms, "
            f"Apdex {overall.score:.3f} → {outcome.apdex:.3f} ({traffic:.0f}% of requests)"
        )
    else:
        action = f"profile {e.name}; consider caching or async processing"
        impact = f"affects {traffic:.0f}% of requests"
    bottleneck = Bottleneck(
        kind="slow_endpoint",
        title="Slow Endpoint",
        location=e.name,
        severity=severity,
        avg_duration_ms=e.avg_ms,
        recommendation=f"Optimize {e.name}: {action}",
        evidence=evidence,
        impact_share=e.time_share,
    )
    rec = Recommendation(
        priority=severity,
        title=f"Slow endpoint {e.name}: P95 {e.p95_ms:.0f} ms",
        action=f"Optimize {e.name}: {action}",
        impact=impact,
        evidence=evidence,
    )
    return bottleneck, rec


def slow_query(
    q: QueryStats,
    frame: SpanFrame,
    others_median_ms: float,
    req: Requests,
    traces: IntArray,
    overall: Apdex,
    p95: float,
    th: Thresholds,
) -> tuple[Bottleneck, Recommendation]:
    severity = query_severity(q, th)
    evidence = (
        f"{q.calls} calls, avg {q.avg_ms:.0f} ms, P95 {q.p95_ms:.0f} ms, "
        f"{q.share_of_db * 100:.0f}% of DB time"
    )
    action = (
        "add an index for its WHERE/ORDER BY columns (check EXPLAIN ANALYZE), or cache its result"
    )
    if math.isfinite(others_median_ms):
        target, basis = others_median_ms, "the fast statements' median"
    else:  # every statement is slow, none to compare with: half the slow-query threshold
        target, basis = th.slow_query_ms / 2, "half the slow-query threshold"
    cut = max(0.0, 1.0 - target / q.avg_ms) if q.avg_ms > 0 else 0.0
    outcome = what_if(req, traces, frame.saving(q.rows, cut), None, th)
    impact = (
        f"at {basis} ({target:.0f} ms): overall P95 {p95:.0f} → "
        f"{outcome.p95:.0f} ms, Apdex {overall.score:.3f} → {outcome.apdex:.3f}"
    )
    bottleneck = Bottleneck(
        kind="slow_query",
        title="Slow Database Query",
        location=q.statement,
        severity=severity,
        avg_duration_ms=q.avg_ms,
        recommendation=f"Optimize the query: {action}",
        evidence=evidence,
        impact_share=q.share_of_db,
    )
    rec = Recommendation(
        priority=severity,
        title=f"Slow query: {short(q.statement)}",
        action=sentence(action),
        impact=impact,
        evidence=evidence,
    )
    return bottleneck, rec


def memory_leak(leak: Leak, start: float, now: float) -> tuple[Bottleneck, Recommendation]:
    hours = leak.hours_to_full
    severity: Severity = "HIGH" if hours <= 24 else "MEDIUM"
    full_at = now + hours * 3600
    window = (start, now)
    since = clock(leak.segment_start, window)
    until = clock(leak.segment_end, window) if leak.segment_end is not None else ""
    rate = f"memory +{leak.trend.slope_per_hour:.2f} pts/h"
    tau = f"(Kendall tau {leak.trend.tau:.2f})"
    if leak.segment_end is None:
        evidence = f"{rate} since {since} {tau}, now {leak.now_pct:.1f}%"
    else:
        evidence = (
            f"{rate} from {since} to {until} {tau}, up "
            f"to {leak.trend.last:.1f}% before a restart; now {leak.now_pct:.1f}%"
        )
    if leak.restarts:
        evidence += f"; {leak.restarts} sudden drop(s) look like restarts"
    action = (
        "take heap snapshots an hour apart and diff them; look for unclosed connections, "
        "unbounded caches and growing collections"
    )
    impact = (
        f"at this rate memory is full in {hours:.1f} h (about {clock(full_at, window)} UTC); "
        f"a restart before then buys time, a fix stops the climb"
    )
    bottleneck = Bottleneck(
        kind="memory_leak",
        title="Memory Leak",
        location="application",
        severity=severity,
        avg_duration_ms=None,
        recommendation="Investigate memory leak - check for unclosed connections, large object "
        "retention",
        evidence=evidence,
    )
    rec = Recommendation(
        priority=severity,
        title=f"Memory leak: +{leak.trend.slope_per_hour:.2f}%/h",
        action=sentence(action),
        impact=impact,
        evidence=evidence,
    )
    return bottleneck, rec


def error_endpoint(
    e: EndpointStats,
    req: Requests,
    th: Thresholds,
    overall_error_pct: float,
    health_gain: Callable[[float, float], float],
) -> tuple[Bottleneck, Recommendation]:
    """`health_gain(error_rate_pct, apdex)`: the health score with those two figures, less
    today's — the whole formula, so its Apdex bonus and its 0–100 clamp count (the error
    penalty alone promised +500 on an all-errors log whose health can only go to 100)."""
    errors = round(e.error_rate_pct * e.requests / 100)
    all_errors = int(np.count_nonzero(req.error)) or 1
    severity: Severity = "HIGH" if e.error_rate_pct >= 4 * th.error_endpoint_pct else "MEDIUM"
    share = errors / all_errors
    evidence = f"{errors} of {e.requests} requests failed ({e.error_rate_pct:.1f}%)"
    after = overall_error_pct * (1 - share)
    # Fixed, its failed requests count by their durations like any other (an error is
    # frustrated whatever its time), so Apdex moves too.
    fixed = apdex_counts(req.duration_ms, req.error & (req.endpoint != e.name), th.apdex_t_ms)
    impact = (
        f"{share * 100:.0f}% of all errors; fixing them takes the error rate "
        f"{overall_error_pct:.2f}% → {after:.2f}% (health "
        f"{health_gain(after, fixed.score):+.1f})"
    )
    action = f"read the failing traces of {e.name} (status, exception) and fix the cause"
    bottleneck = Bottleneck(
        kind="error_endpoint",
        title="Error-Heavy Endpoint",
        location=e.name,
        severity=severity,
        avg_duration_ms=e.avg_ms,
        recommendation=sentence(action),
        evidence=evidence,
        impact_share=share,
    )
    rec = Recommendation(
        priority=severity,
        title=f"Errors on {e.name}: {e.error_rate_pct:.1f}%",
        action=sentence(action),
        impact=impact,
        evidence=evidence,
    )
    return bottleneck, rec


def cpu_saturation(
    cpu: Resource, th: Thresholds, busy_share: float
) -> tuple[Bottleneck, Recommendation]:
    needed = cpu.p95 / 70.0 - 1.0
    severity: Severity = "HIGH" if cpu.p95 >= 95 else "MEDIUM"
    evidence = (
        f"CPU P95 {cpu.p95:.0f}%, peak {cpu.peak:.0f}%, above {th.cpu_high_pct:.0f}% "
        f"{busy_share * 100:.0f}% of the time"
    )
    action = "profile the hot code paths, or scale out"
    impact = f"about {needed * 100:.0f}% more capacity brings P95 CPU to 70%"
    bottleneck = Bottleneck(
        kind="cpu_saturation",
        title="CPU Saturation",
        location="host",
        severity=severity,
        avg_duration_ms=None,
        recommendation=sentence(action),
        evidence=evidence,
        impact_share=busy_share,
    )
    rec = Recommendation(
        priority=severity,
        title=f"CPU saturated: P95 {cpu.p95:.0f}%",
        action=sentence(action),
        impact=impact,
        evidence=evidence,
    )
    return bottleneck, rec


def apdex_below_target(
    overall: Apdex, endpoints: list[EndpointStats], req: Requests, th: Thresholds
) -> Recommendation | None:
    if not math.isfinite(overall.score) or overall.score >= th.apdex_target or not endpoints:
        return None
    # The endpoint whose requests lose the most Apdex points.
    losses = {e.name: (1 - e.apdex) * e.requests for e in endpoints}
    worst = max(losses, key=lambda k: losses[k])
    mask = req.endpoint == worst
    fixed = np.where(mask, np.minimum(req.duration_ms, th.apdex_t_ms), req.duration_ms)
    errors = np.where(mask, False, req.error)
    after = apdex_counts(fixed, errors, th.apdex_t_ms).score
    share = losses[worst] / max(sum(losses.values()), 1e-9)
    # Why it loses them: a failed request is frustrated however fast it failed.
    failed = int(np.count_nonzero(req.error[mask]))
    slow = int(np.count_nonzero(~req.error[mask] & (req.duration_ms[mask] > th.apdex_t_ms)))
    causes = [f"{slow:,} over T"] * bool(slow) + [f"{failed:,} failed"] * bool(failed)
    t = f"T = {th.apdex_t_ms:.0f} ms"
    goal = f"met {t}" if not failed else f"met {t} without errors" if slow else "did not fail"
    return Recommendation(
        priority="MEDIUM",
        title=f"Apdex {overall.score:.3f} below target {th.apdex_target:.2f}",
        action=(
            f"Start with {worst}: it loses {share * 100:.0f}% of the Apdex points "
            f"({', '.join(causes)})"
        ),
        impact=f"if {worst} {goal}: Apdex {overall.score:.3f} → {after:.3f}",
        evidence=(
            f"{overall.satisfied} satisfied, {overall.tolerating} tolerating, "
            f"{overall.frustrated} frustrated of {overall.requests} requests"
        ),
    )


def anomaly_episodes(
    anomalies: tuple[Anomaly, ...],
    interval_s: float,
    columns: dict[str, FloatArray],
    window: tuple[float, float],
) -> list[Recommendation]:
    """One recommendation per episode that has a HIGH anomaly, the worst three by score.
    `columns`: the samples' timestamps and feature columns, by name."""
    groups = [
        g for g in episodes(anomalies, gap_s=3 * interval_s) if any(a.severity == "HIGH" for a in g)
    ]
    groups.sort(key=lambda g: max(a.score for a in g), reverse=True)
    out = []
    for group in groups[:3]:
        kind = dominant_type(group)
        start, end = group[0].timestamp, group[-1].timestamp + interval_s
        span = f"{clock(start, window)}–{clock(end, (start, start))} UTC"  # the day once
        samples = f"{len(group)} anomalous sample" + ("s" if len(group) != 1 else "")
        evidence = f"{samples}, {span}, led by {kind}"
        times = columns["timestamp"]
        inside = (times >= start) & (times < end)
        out.append(
            Recommendation(
                priority="LOW",
                title=f"{sentence(kind)} anomaly at {span}",
                action=EPISODE_ADVICE.get(kind, "Investigate what changed then"),
                impact=_episode_impact(kind, inside, columns),
                evidence=evidence,
            )
        )
    return out


EPISODE_ADVICE = {
    "errors": "Check deploys, dependencies and logs at that time; alert on error rate",
    "response time": "Correlate with deploys, GC pauses and downstream latency then",
    "CPU": "Find what ran then (batch jobs, traffic spikes); add a CPU alert",
    "DB": "Look at the database then: locks, batch jobs, slow-query log",
    "memory": "Check what allocated then (large requests, caches)",
    "throughput": "Check for a traffic spike or drop (bots, an outage upstream)",
}
#: Each anomaly type's metric column, and the unit its values read in.
EPISODE_COLUMNS = {kind: column for column, kind in FEATURE_TYPES.items()}
EPISODE_UNITS = {"response time": " ms", "DB": " ms", "throughput": " req/s"}  # else %


def _episode_impact(kind: str, inside: np.ndarray, columns: dict[str, FloatArray]) -> str:
    """What the episode's samples were against the rest of the window's: an anomaly is
    unusual, not always worse (a quiet minute, a fast one), so the figures say which."""
    count = int(np.count_nonzero(inside))
    unlike = f"{count} sample{'s' if count != 1 else ''} unlike the rest of the window"
    if kind == "errors":
        # Failed requests per sample: a rate weighted by the sample's traffic.
        errors = columns["error_rate_pct"] * np.nan_to_num(columns["throughput_rps"], nan=1.0)
        total = float(np.nansum(errors))
        if total > 0:
            share = float(np.nansum(errors[inside])) / total
            return f"this episode holds {share * 100:.0f}% of the window's errors"
    unit = EPISODE_UNITS.get(kind, "%")
    values = columns.get(EPISODE_COLUMNS.get(kind, ""))
    if values is None:
        return unlike
    then, rest = values[inside], values[~inside]
    then, rest = then[np.isfinite(then)], rest[np.isfinite(rest)]
    if not then.size or not rest.size:
        return unlike
    return (
        f"{kind} {level(float(np.median(then)))}{unit} then, "
        f"{level(float(np.median(rest)))}{unit} in the rest of the window (medians)"
    )


def level(value: float) -> str:
    """A figure with the digits that matter: 640, 12.5, 0.054."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
