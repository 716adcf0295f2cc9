"""A log without response times: the panels say why they are empty; nothing shows zeros."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
        # Of the minute of the newest sample, whose error rate the mix is beside.
        samples = engine.window.metrics.view()
        minute = samples["timestamp"][np.isfinite(samples["error_rate_pct"])][-1]
        of_it = (requests["time"] >= minute) & (requests["time"] < minute + 60)
        codes = requests["status"][of_it]
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


def test_the_status_mix_is_of_the_minute_of_the_error_rate_beside_it() -> None:
    """A burst of 5xx after a clean minute read "0.00 % · threshold 1 % · 2xx 95 % 5xx 5 %":
    the rate was the clean minute's sample, the mix the last 60 s of requests."""
    from apm_tui.analysis.live import current_values
    from apm_tui.model import Table

    t0 = 1_767_225_600.0
    metrics = Table({"timestamp": np.array([t0 - 60, t0]), "error_rate_pct": np.array([0.0, 0.0])})
    times = np.concatenate([t0 + np.arange(20.0), t0 + 60 + np.arange(20.0)])
    status = np.array([200.0] * 20 + [500.0] * 4 + [200.0] * 16)
    requests = Table(
        {
            "time": times,
            "duration_ms": np.full(40, 10.0),
            "error": status >= 500,
            "status": status,
        }
    )
    cur = current_values(metrics, requests, t0 + 80, 60.0, Thresholds())
    assert cur["error_pct"] == 0.0
    assert cur["status_2xx"] == 100.0 and cur["status_count"] == 20  # the sample's minute
    assert cur.get("status_5xx", 0.0) == 0.0
    # Without a sample's error rate, the mix is of the last minute's requests.
    bare = Table({"timestamp": np.array([t0])})
    cur = current_values(bare, requests, t0 + 80, 60.0, Thresholds())
    assert cur["status_5xx"] == 20.0 and cur["status_count"] == 20  # t0 + 20 on


def test_before_the_first_sample_throughput_is_over_the_time_the_requests_cover() -> None:
    """A receiver 10 s old at 20 requests a second read 3.3 req/s (its requests over 60 s)
    beside a chart of 20."""
    from apm_tui.analysis.live import current_values
    from apm_tui.model import Table

    t0 = 1_767_225_600.0
    times = t0 + np.arange(200) / 20
    requests = Table({"time": times, "duration_ms": np.full(200, 10.0), "error": times < 0})
    cur = current_values(Table({}), requests, float(times[-1]), 60.0, Thresholds())
    assert 19.5 < cur["throughput"] < 20.5
    # A minute and more of them: the last 60 s, as before.
    times = t0 + np.arange(3000) / 20
    requests = Table({"time": times, "duration_ms": np.full(3000, 10.0), "error": times < 0})
    cur = current_values(Table({}), requests, float(times[-1]), 60.0, Thresholds())
    assert 19.9 < cur["throughput"] < 20.1


def test_a_reports_picture_draws_the_last_bucket_of_its_whole_data() -> None:
    """`report --png` of a short log drew empty time charts: the charts plot complete buckets
    only, and live the newest bucket is still filling, but a report's data is whole."""
    from apm_tui.analysis.full import analyse
    from apm_tui.commands.report_png import report_engine
    from apm_tui.model import Batch, Span
    from apm_tui.sources.batch import BatchSource
    from apm_tui.sources.samples import RequestSamples

    t0 = 1_767_225_600.0
    one = Span("t1", "s1", "", "web", "GET /a", t0 + 5, 120.0, kind="server")
    samples = RequestSamples(BatchSource(Batch.of(spans=[one]), "log"))
    first = samples.backfill()
    batch = Batch(metrics=samples.finish().metrics, spans=first.spans)
    assert len(batch.metrics) == 1  # the request's minute, as `report --log` makes it
    engine = report_engine(batch, analyse(batch.metrics, batch.spans), Thresholds(), "log")
    try:
        series = engine.step(t0 + 5).live.series
    finally:
        engine.close()
    throughput, rt = series.values["throughput"], series.values["rt_avg"]
    assert np.isfinite(throughput).sum() == 1 and throughput[-1] == 1 / 60
    assert rt[-1] == 120.0
    assert series.t[-1] <= t0 + 5 < series.t[-1] + series.bucket_s
