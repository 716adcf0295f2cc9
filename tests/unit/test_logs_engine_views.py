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
    assert live.has == {"requests": True, "timed": False, "data": True}
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


def test_the_status_mix_and_rejected_lines_are_shown(tmp_path: Path) -> None:
    from apm_tui.ui.widgets.header import input_counts

    log = tmp_path / "access.log"
    log.write_bytes((SHARED / "data" / "logs" / "ingress_nginx.log").read_bytes() + b"junk\n")
    engine = make_engine(
        DashboardOptions(sources=("log",), logs=(str(log),), backlog_s=math.inf), Thresholds()
    )
    try:
        snap = engine.step(1.7e9)
        requests = engine.window.requests.view()
        recent = requests["time"] >= snap.live.newest - 60  # the title's "last minutes"
        codes = requests["status"][recent]
    finally:
        engine.close()
    cur = snap.live.current
    mix = {k: cur.get(f"status_{k}xx", 0.0) for k in range(1, 6)}
    assert sum(mix.values()) == 100
    expected = {k: float(((codes // 100) == k).mean() * 100) for k in range(1, 6)}
    assert mix == expected and codes.size > 0
    said = input_counts(snap.status).plain
    assert "log: 1 of " in said and "lines rejected" in said


def test_an_empty_log_is_followed_from_the_first_tick(tmp_path: Path) -> None:
    # A new log (or one with nothing inside --backlog) has no history: the source must start
    # anyway and count the lines that come. It once failed at start (a sample for the minute
    # before -inf) and the dashboard said "no source".
    from tests.unit.test_logs_follow import T0, append, line

    log = tmp_path / "new.log"
    log.write_text("")
    engine = make_engine(
        DashboardOptions(sources=("log",), logs=(str(log),), backlog_s=900.0), Thresholds()
    )
    try:
        snap = engine.step(T0)
        assert snap.sources == ("log new.log",) and not snap.notices
        append(log, line(T0 + 1, "/a", rt=0.2) + line(T0 + 2, "/b", status=500, rt=0.4))
        snap = engine.step(T0 + 3)
        assert len(engine.window.requests.view()) == 2 and not snap.notices
        snap = engine.step(T0 + 200)  # the minute is over: one sample of those requests
        metrics = engine.window.metrics.view()
        assert metrics["timestamp"].tolist()[0] == T0
        assert metrics["error_rate_pct"].tolist()[0] == 50.0
    finally:
        engine.close()


def test_the_otlp_receiver_starts_with_no_history() -> None:
    import socket

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = make_engine(
        DashboardOptions(sources=("otlp",), listen=f"127.0.0.1:{port}"), Thresholds()
    )
    try:
        snap = engine.step(1.7e9)
        assert snap.sources == ("otlp",)
        assert snap.notices == (f"OTLP: receiving traces at http://127.0.0.1:{port}/v1/traces",)
    finally:
        engine.close()
