"""The immutable values the analysis produces; the UI, the report and the PNG export read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["HIGH", "MEDIUM", "LOW"]
Status = Literal["EXCELLENT", "GOOD", "FAIR", "POOR", "UNKNOWN"]


@dataclass(frozen=True, slots=True)
class LatencyStats:
    count: int
    avg: float
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True, slots=True)
class Apdex:
    score: float  # NaN when there are no requests
    t_ms: float
    satisfied: int
    tolerating: int
    frustrated: int
    #: (bucket start, score) over time; buckets are sized so a window has at most ~100.
    timeline: tuple[tuple[float, float], ...] = ()

    @property
    def requests(self) -> int:
        return self.satisfied + self.tolerating + self.frustrated


@dataclass(frozen=True, slots=True)
class EndpointStats:
    name: str
    requests: int
    avg_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    apdex: float
    error_rate_pct: float
    time_share: float  # share of all request time spent in this endpoint, 0–1


@dataclass(frozen=True, slots=True)
class Anomaly:
    timestamp: float
    score: float  # IsolationForest's anomaly score s(x) in 0–1; > 0.5 is unusual
    severity: Severity
    types: tuple[str, ...]  # the features that made it anomalous, most deviant first
    deviations: dict[str, float] = field(default_factory=dict)  # feature -> robust z

    @property
    def type(self) -> str:
        return " + ".join(self.types)


@dataclass(frozen=True, slots=True)
class Bottleneck:
    kind: str  # slow_endpoint, slow_query, memory_leak, error_endpoint, cpu_saturation
    title: str
    location: str
    severity: Severity
    avg_duration_ms: float | None
    recommendation: str
    evidence: str
    impact_share: float = 0.0  # share of the relevant total (time, DB time, errors)


@dataclass(frozen=True, slots=True)
class HealthFactor:
    factor: str
    points: float


@dataclass(frozen=True, slots=True)
class Health:
    score: float
    status: Status
    breakdown: tuple[HealthFactor, ...]


@dataclass(frozen=True, slots=True)
class Recommendation:
    priority: Severity
    title: str
    action: str
    impact: str
    evidence: str


@dataclass(frozen=True, slots=True)
class CustomMetric:
    name: str
    avg: float
    peak: float
    last: float
    trend_per_hour: float
    trend: Literal["rising", "falling", "flat"]


@dataclass(frozen=True, slots=True)
class Resource:
    avg: float
    peak: float
    p95: float


@dataclass(frozen=True, slots=True)
class Analysis:
    start: float
    end: float
    metrics_count: int
    traces_count: int
    spans_count: int
    requests_count: int
    latency_basis: Literal["requests", "samples", "none"]
    latency: LatencyStats
    throughput_rps: float
    error_rate_pct: float
    apdex: Apdex
    cpu: Resource
    memory: Resource
    db_query_ms: float
    anomalies: tuple[Anomaly, ...]
    anomaly_status: str  # "ok", or why detection did not run ("needs 32 samples, have 10")
    bottlenecks: tuple[Bottleneck, ...]
    health: Health
    recommendations: tuple[Recommendation, ...]
    endpoints: tuple[EndpointStats, ...]
    custom_metrics: tuple[CustomMetric, ...]

    def to_dict(self) -> dict[str, Any]:
        """The `--json` document (schema in the README)."""
        return {
            "window": {"start": self.start, "end": self.end},
            "counts": {
                "metrics": self.metrics_count,
                "traces": self.traces_count,
                "spans": self.spans_count,
                "requests": self.requests_count,
            },
            "response_time_ms": {
                "basis": self.latency_basis,
                "avg": self.latency.avg,
                "p50": self.latency.p50,
                "p95": self.latency.p95,
                "p99": self.latency.p99,
            },
            "throughput_rps": {"avg": self.throughput_rps},
            "error_rate_pct": self.error_rate_pct,
            "apdex": {
                "score": self.apdex.score,
                "t_ms": self.apdex.t_ms,
                "satisfied": self.apdex.satisfied,
                "tolerating": self.apdex.tolerating,
                "frustrated": self.apdex.frustrated,
                "timeline": [list(p) for p in self.apdex.timeline],
            },
            "cpu_pct": asdict(self.cpu),
            "memory_pct": asdict(self.memory),
            "db_query_ms": {"avg": self.db_query_ms},
            "anomalies": [
                {
                    "timestamp": a.timestamp,
                    "severity": a.severity,
                    "type": a.type,
                    "types": list(a.types),
                    "score": a.score,
                }
                for a in self.anomalies
            ],
            "anomaly_status": self.anomaly_status,
            "bottlenecks": [
                {
                    "kind": b.kind,
                    "title": b.title,
                    "location": b.location,
                    "severity": b.severity,
                    "avg_duration_ms": b.avg_duration_ms,
                    "recommendation": b.recommendation,
                    "evidence": b.evidence,
                }
                for b in self.bottlenecks
            ],
            "health": {
                "score": self.health.score,
                "status": self.health.status,
                "breakdown": [asdict(f) for f in self.health.breakdown],
            },
            "recommendations": [asdict(r) for r in self.recommendations],
            "endpoints": [
                {
                    "name": e.name,
                    "requests": e.requests,
                    "avg_ms": e.avg_ms,
                    "p50_ms": e.p50_ms,
                    "p95_ms": e.p95_ms,
                    "p99_ms": e.p99_ms,
                    "apdex": e.apdex,
                    "error_rate_pct": e.error_rate_pct,
                    "time_share": e.time_share,
                }
                for e in self.endpoints
            ],
            "custom_metrics": {
                c.name: {
                    "avg": c.avg,
                    "peak": c.peak,
                    "last": c.last,
                    "trend": c.trend,
                    "trend_per_hour": c.trend_per_hour,
                }
                for c in self.custom_metrics
            },
        }
