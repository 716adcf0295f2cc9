from __future__ import annotations

import math

from apm_tui.analysis.health import health_score, status_for
from apm_tui.config import Thresholds

TH = Thresholds()


def score(**kw: float) -> tuple[float, list[tuple[str, float]]]:
    args = dict(
        avg_response_ms=50.0,
        error_rate_pct=0.0,
        cpu_p95=40.0,
        memory_p95=40.0,
        high_anomaly_share=0.0,
        apdex=0.7,
    )
    args.update(kw)
    h = health_score(th=TH, **args)
    return h.score, [(f.factor, f.points) for f in h.breakdown]


def test_a_quiet_app_scores_100() -> None:
    s, lines = score()
    assert s == 100.0 and lines == [("base", 100.0)]


def test_each_seed_rule_costs_what_the_seed_says() -> None:
    assert score(avg_response_ms=501.0)[0] == 70.0
    assert score(error_rate_pct=2.0)[0] == 90.0
    assert score(cpu_p95=86.0)[0] == 80.0
    assert score(memory_p95=86.0)[0] == 85.0
    assert score(high_anomaly_share=0.05)[0] == 85.0  # every flagged sample HIGH: the max
    assert score(high_anomaly_share=0.025)[0] == 92.5


def test_apdex_bonus_offsets_penalties_up_to_20() -> None:
    s, lines = score(cpu_p95=90.0, apdex=1.0)
    assert s == 100.0
    assert ("Apdex 1.000 bonus", 20.0) in lines
    assert score(cpu_p95=90.0, apdex=0.85)[0] == 90.0  # half-way from 0.7 to 1.0: +10


def test_clamping_is_a_line_so_the_breakdown_sums_to_the_score() -> None:
    for kw in ({"apdex": 1.0}, {"error_rate_pct": 40.0, "avg_response_ms": 900.0}):
        s, lines = score(**kw)
        assert 0.0 <= s <= 100.0
        assert math.isclose(sum(p for _, p in lines), s)
        assert lines[-1][0] == "capped to 0–100"


def test_status_bands() -> None:
    assert [status_for(x) for x in (95, 90, 80, 75, 65, 60, 10)] == [
        "EXCELLENT",
        "EXCELLENT",
        "GOOD",
        "GOOD",
        "FAIR",
        "FAIR",
        "POOR",
    ]
    assert status_for(float("nan")) == "UNKNOWN"


def test_nothing_measured_is_unknown() -> None:
    nan = float("nan")
    h = health_score(
        avg_response_ms=nan,
        error_rate_pct=nan,
        cpu_p95=nan,
        memory_p95=nan,
        high_anomaly_share=nan,
        apdex=nan,
        th=TH,
    )
    assert h.status == "UNKNOWN" and math.isnan(h.score) and h.breakdown == ()


def test_host_only_health_says_what_it_does_not_cover() -> None:
    nan = float("nan")
    h = health_score(
        avg_response_ms=nan,
        error_rate_pct=nan,
        cpu_p95=40.0,
        memory_p95=50.0,
        high_anomaly_share=0.0,
        apdex=nan,
        th=TH,
    )
    assert h.score == 100.0
    assert [f.factor for f in h.breakdown][-1].startswith("no request data")
    assert sum(f.points for f in h.breakdown) == h.score
