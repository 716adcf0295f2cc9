"""The 0–100 health score, following the seed's rules, with each term as a breakdown line.

score = 100 − penalties + Apdex bonus, clamped to 0–100; the clamp is a line of its own so the
breakdown always sums to the score. Where the seed is vague the choices are:
- "response time" is the average request latency (the seed's rule), against `response_time_slo_ms`;
- CPU and memory use their P95 over the window: a single spike should not cost 20 points, and an
  average would hide a saturated afternoon;
- IsolationForest always flags `contamination` of the samples, so counting anomalies would cost
  the same on every window; the penalty instead grows with the share of HIGH anomalies (a leading
  feature ≥ `anomaly_high_z` sigmas out), reaching its maximum when every flagged sample is HIGH;
- the Apdex bonus grows linearly from 0 at `health_apdex_bonus_floor` (0.7, where the
  seed's "poor" Apdex band ends) to its max at 1.0.
"""

from __future__ import annotations

import math

from apm_tui.analysis.result import Health, HealthFactor, Status
from apm_tui.config import Thresholds


def status_for(score: float) -> Status:
    if not math.isfinite(score):
        return "UNKNOWN"
    if score >= 90:
        return "EXCELLENT"
    if score >= 75:
        return "GOOD"
    if score >= 60:
        return "FAIR"
    return "POOR"


def health_score(
    *,
    avg_response_ms: float,
    error_rate_pct: float,
    cpu_p95: float,
    memory_p95: float,
    high_anomaly_share: float,
    apdex: float,
    th: Thresholds,
) -> Health:
    lines = [HealthFactor("base", 100.0)]
    measured = False
    if math.isfinite(avg_response_ms):
        measured = True
        if avg_response_ms > th.response_time_slo_ms:
            lines.append(
                HealthFactor(
                    f"avg response {avg_response_ms:.0f} ms > {th.response_time_slo_ms:.0f} ms",
                    -th.health_response_penalty,
                )
            )
    if math.isfinite(error_rate_pct):
        measured = True
        if error_rate_pct > 0:
            lines.append(
                HealthFactor(
                    f"error rate {error_rate_pct:.2f}%",
                    -th.health_error_penalty_per_pct * error_rate_pct,
                )
            )
    if math.isfinite(cpu_p95):
        measured = True
        if cpu_p95 > th.cpu_high_pct:
            lines.append(
                HealthFactor(
                    f"CPU P95 {cpu_p95:.0f}% > {th.cpu_high_pct:.0f}%", -th.health_cpu_penalty
                )
            )
    if math.isfinite(memory_p95):
        measured = True
        if memory_p95 > th.memory_high_pct:
            lines.append(
                HealthFactor(
                    f"memory P95 {memory_p95:.0f}% > {th.memory_high_pct:.0f}%",
                    -th.health_memory_penalty,
                )
            )
    if math.isfinite(high_anomaly_share) and high_anomaly_share > 0:
        ratio = min(1.0, high_anomaly_share / th.contamination)
        lines.append(
            HealthFactor(
                f"HIGH anomalies {high_anomaly_share * 100:.1f}% of samples",
                -th.health_anomaly_penalty_max * ratio,
            )
        )
    if math.isfinite(apdex):
        measured = True
        floor = th.health_apdex_bonus_floor
        bonus = th.health_apdex_bonus_max * min(1.0, max(0.0, (apdex - floor) / (1 - floor)))
        if bonus > 0:
            lines.append(HealthFactor(f"Apdex {apdex:.3f} bonus", bonus))
    if not measured:
        return Health(score=float("nan"), status="UNKNOWN", breakdown=())
    if not (math.isfinite(avg_response_ms) or math.isfinite(apdex)):
        # Say what the score does not cover rather than look perfect: a host-only source, or
        # requests without response times (a log format without them).
        if math.isfinite(error_rate_pct):
            lines.append(HealthFactor("no response times: latency and Apdex not scored", 0.0))
        else:
            lines.append(HealthFactor("no request data: latency, errors and Apdex not scored", 0.0))
    raw = sum(f.points for f in lines)
    score = min(100.0, max(0.0, raw))
    if score != raw:
        lines.append(HealthFactor("capped to 0–100", score - raw))
    return Health(score=score, status=status_for(score), breakdown=tuple(lines))
