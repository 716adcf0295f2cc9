"""A log without response times: the panels say why they are empty; nothing shows zeros."""

from __future__ import annotations

import math
from pathlib import Path

from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import Thresholds
from tests.conftest import SHARED


def test_a_log_without_response_times_gives_counts_not_zeros(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes((SHARED / "data" / "logs" / "apache_combined.log").read_bytes())
    engine = make_engine(
        DashboardOptions(sources=("log",), logs=(str(log),), backlog_s=math.inf), Thresholds()
    )
    try:
        engine.step(1.7e9)
        engine.wait_for_background()
        snap = engine.step(1.7e9 + 1)
        in_window = len(engine.window.requests.view())  # the log's last 24 hours
        samples = len(engine.window.metrics.view())
    finally:
        engine.close()
    live = snap.live
    assert live.has == {"requests": True, "timed": False}
    assert math.isnan(live.current["apdex"]) and math.isnan(live.current["rt_p95"])
    assert live.histogram is None
    # Endpoints by traffic, without made-up latencies.
    counts = [e.requests for e in live.endpoints]
    assert counts == sorted(counts, reverse=True) and sum(counts) == in_window > 1000
    assert all(math.isnan(e.p95_ms) and math.isnan(e.apdex) for e in live.endpoints)
    # The analysis says what it cannot score.
    assert snap.analysis is not None
    factors = [f.factor for f in snap.analysis.health.breakdown]
    assert "no response times: latency and Apdex not scored" in factors
    # Per-minute samples of the requests feed the detector: throughput and errors, no latency.
    assert samples > 1000 and live.current["throughput"] > 0
    assert math.isnan(live.current["rt_sample"])
