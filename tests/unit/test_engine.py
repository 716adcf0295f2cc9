from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import Thresholds
from apm_tui.engine import Engine
from apm_tui.model import Batch, MetricSample, Span, Table
from apm_tui.sources.base import SourceError
from tests.conftest import WORLD_START

NOW = WORLD_START + 86_400


def test_engine_steps_the_synthetic_world() -> None:
    engine = make_engine(DashboardOptions(start=WORLD_START), Thresholds())
    first = engine.step(NOW)
    assert first.sources == ("synthetic",)
    assert 1439 <= len(engine.window.metrics) <= 1441  # 24 h of history at 60 s + the first tick
    engine.wait_for_background()
    snap = engine.step(NOW + 1)
    assert snap.analysis is not None and snap.live.detector_status == "ok"
    # One wall second later the world is one simulated minute further (speed 60).
    assert engine.window.metrics.column("timestamp")[-1] == WORLD_START + 86_400 + 60.0
    assert snap.live.newest >= WORLD_START + 86_400 + 60.0
    assert snap.live.endpoints[0].name == "/api/orders/create"
    assert snap.slowest["/api/orders/create"][0].duration_ms >= snap.live.endpoints[0].p95_ms
    assert snap.live.histogram is not None and snap.live.histogram.requests > 1000
    series = snap.live.series
    assert series.bucket_s == 900.0 and series.t.size == 96
    assert np.isfinite(series.values["rt_p95"]).sum() > 90
    assert len(snap.live.anomalies) > 0


def test_window_stays_bounded_as_time_passes() -> None:
    engine = make_engine(DashboardOptions(start=WORLD_START, window_hours=2), Thresholds())
    for i in range(300):
        engine.step(NOW + i)
    assert len(engine.window.metrics) <= 2 * 60 + 1
    span = engine.window.metrics.column("timestamp")
    assert span[-1] - span[0] <= 2 * 3600


class Flaky:
    name = "flaky"

    def __init__(self) -> None:
        self.polls = 0

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        return Batch()

    def poll(self, now: float) -> Batch:
        self.polls += 1
        if self.polls == 3:
            raise SourceError("connection refused")
        return Batch.of(samples=[MetricSample(timestamp=now, cpu_pct=10.0, memory_pct=20.0)])

    def close(self) -> None:
        pass


class Steady(Flaky):
    name = "steady"

    def poll(self, now: float) -> Batch:
        return Batch.of(samples=[MetricSample(timestamp=now, cpu_pct=30.0, memory_pct=40.0)])


def test_a_failing_source_is_a_notice_and_the_others_keep_running() -> None:
    engine = Engine([Flaky(), Steady()], interval_s=1.0)
    notices = []
    for i in range(5):
        notices.extend(engine.step(1000.0 + i).notices)
    assert notices == ["flaky: connection refused"]
    assert engine.step(1006.0).sources == ("steady",)


class QuietLog(Flaky):
    """Requests in its history (a log's backlog), then no new lines."""

    name = "quiet-log"

    def backfill(self) -> Batch:
        t = 1000.0 - 60.0 * np.arange(400, 0, -1)
        return Batch.of(
            samples=[
                MetricSample(timestamp=x, response_time_ms=80.0 + i % 7, throughput_rps=5.0)
                for i, x in enumerate(t)
            ]
        )

    def poll(self, now: float) -> Batch:
        return Batch()


def test_a_quiet_request_source_beside_the_host_does_not_fail_the_ticks() -> None:
    """`--source log --source system` with a log that stops: the detector watches the log's
    metrics from its history, and the ticks' rows have only the host's (this failed every
    tick with KeyError: 'throughput_rps')."""
    engine = Engine([QuietLog(), Steady()], interval_s=1.0)
    for i in range(5):
        snap = engine.step(1000.0 + i)
        assert snap.notices == ()  # no tick failed, no source failed
    assert snap.sources == ("quiet-log", "steady")
    assert snap.live.current["cpu"] == 30.0
    assert {"response_time_ms", "cpu_pct"} <= set(engine.detector.names or ())


NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class OldLog(QuietLog):
    """A log from long ago: its requests end ten days before the host's live samples."""

    name = "log old.log"

    def backfill(self) -> Batch:
        batch = super().backfill()
        metrics = batch.metrics.columns()
        metrics["timestamp"] = metrics["timestamp"] + NOW - 1000.0 - 10 * 86_400.0
        return Batch(metrics=Table(metrics))


def test_a_source_older_than_the_window_is_said_once_not_dropped_in_silence() -> None:
    """An old log beside the live host: the window (the last 24 h of the newest data) holds
    none of its requests, and the panels would only say there are no requests."""
    engine = Engine([OldLog(), Steady()], interval_s=1.0)
    said = [engine.step(NOW + i).notices for i in range(4)]
    assert len(said[0]) == 1 and said[1:] == [(), (), ()]  # once, not every tick
    assert said[0][0].startswith("log old.log: its newest data (2025-12-21 23:59 UTC) is older")
    assert "than the window (the 24 h up to the newest data, 2026-01-01 00:00 UTC)" in said[0][0]
    assert engine.window.oldest() == NOW  # the host's samples only: none of the log's is kept
    fresh = Engine([QuietLog(), Steady()], interval_s=1.0)
    assert all(fresh.step(1000.0 + i).notices == () for i in range(3))


class OldMinutes(Flaky):
    """A log from long ago whose per-minute samples come with the ticks, after the host's."""

    name = "log older.log"

    def poll(self, now: float) -> Batch:
        old = now - 10 * 86_400.0
        return Batch.of(
            samples=[MetricSample(timestamp=old, response_time_ms=676.0, throughput_rps=0.2)]
        )


def test_an_old_sources_rows_after_the_hosts_are_not_the_current_values() -> None:
    """They sat behind the host's rows, where trimming the window's front never reached, and
    showed as the current response time and throughput (health 50 POOR from 2019's
    latencies) while the notice said none of it was shown."""
    engine = Engine([Steady(), OldMinutes()], interval_s=1.0)
    for i in range(4):
        snap = engine.step(NOW + i)
    assert snap.live.current["cpu"] == 30.0
    assert math.isnan(snap.live.current["rt_sample"])
    assert math.isnan(snap.live.current["throughput"])
    assert engine.window.oldest() == NOW and len(engine.window.metrics) == 4


def test_metrics_only_source_has_no_request_figures() -> None:
    engine = Engine([Steady()], interval_s=1.0)
    snap = engine.step(1000.0)
    assert not snap.live.has["requests"]
    assert np.isnan(snap.live.current["rt_p95"]) and np.isnan(snap.live.current["apdex"])
    assert snap.live.current["cpu"] == 30.0
    assert snap.live.endpoints == () and snap.live.histogram is None


def test_beside_the_host_the_synthetic_world_runs_on_the_wall_clock_and_leaves_cpu_to_it() -> None:
    import time

    from apm_tui.commands.dashboard import make_sources

    sources, interval, notices = make_sources(
        DashboardOptions(sources=("system", "synthetic"), window_hours=1)
    )
    assert [s.name for s in sources] == ["system", "synthetic"] and notices == []
    assert interval == 1.0  # speed 1: one sample per one-second tick
    history = sources[1].backfill()
    assert "cpu_pct" not in history.metrics and "memory_pct" not in history.metrics
    assert "response_time_ms" in history.metrics and len(history.spans) > 0
    assert abs(history.metrics["timestamp"][-1] - time.time()) < 5


def test_pid_log_or_listen_alone_choose_the_source_not_the_demo() -> None:
    from apm_tui.cli import build_parser
    from apm_tui.commands.dashboard import options_from

    def sources(*argv: str) -> tuple[str, ...]:
        return options_from(build_parser().parse_args(argv)).sources

    assert sources() == ("synthetic",)
    assert sources("--pid", "1") == ("system",)
    assert sources("--log", "a.log") == ("log",)
    assert sources("--listen", ":4318") == ("otlp",)
    assert sources("--pid", "1", "--log", "a.log") == ("system", "log")
    assert sources("--source", "synthetic", "--source", "otlp") == ("synthetic", "otlp")
    opts = options_from(build_parser().parse_args(["--log", "a.log", "--backlog", "2h"]))
    assert opts.logs == ("a.log",) and opts.backlog_s == 7200


def test_one_sample_from_each_source_in_a_tick_becomes_one_row() -> None:
    from apm_tui.engine import merge_tick
    from apm_tui.model import Table

    host = Batch(
        metrics=Table({"timestamp": np.array([100.0]), "cpu_pct": np.array([50.0])}),
        status={"cores": 2, "notices": ["pid 9 ended"]},
    )
    app = Batch(
        metrics=Table({"timestamp": np.array([100.5]), "response_time_ms": np.array([80.0])})
    )
    [merged] = merge_tick([host, app])
    assert len(merged.metrics) == 1 and merged.metrics["timestamp"][0] == 100.5
    assert merged.metrics["cpu_pct"][0] == 50.0 and merged.metrics["response_time_ms"][0] == 80.0
    assert merged.status == {"cores": 2, "notices": ["pid 9 ended"]}
    catch_up = Batch(
        metrics=Table({"timestamp": np.array([1.0, 2.0]), "cpu_pct": np.array([1.0, 2.0])})
    )
    assert merge_tick([catch_up, app]) == [catch_up, app]


def test_two_request_sources_rows_are_both_counted() -> None:
    """An OTLP receiver at 20 req/s without errors and a log at 10 req/s all 5xx showed
    20.0 req/s and 0.00 %: the first source's row stood for both."""
    from apm_tui.engine import merge_tick
    from apm_tui.model import Table

    def minute(rps: float, err: float, rt: float, db: float) -> Batch:
        return Batch(metrics=Table({
            "timestamp": np.array([120.0]), "throughput_rps": np.array([rps]),
            "error_rate_pct": np.array([err]), "response_time_ms": np.array([rt]),
            "db_query_ms": np.array([db]),
        }))  # fmt: skip

    otlp, log = minute(20.0, 0.0, 30.0, np.nan), minute(10.0, 100.0, 90.0, np.nan)
    host = Batch(metrics=Table({"timestamp": np.array([121.0]), "cpu_pct": np.array([40.0])}))
    [merged] = merge_tick([otlp, host, log])
    row = {name: float(col[0]) for name, col in merged.metrics.columns().items()}
    assert row["throughput_rps"] == 30.0 and row["cpu_pct"] == 40.0
    assert row["error_rate_pct"] == pytest.approx(100 / 3)
    assert row["response_time_ms"] == pytest.approx(50.0)  # (20·30 + 10·90) / 30
    assert math.isnan(row["db_query_ms"])
    # A quiet source (no requests this minute, 0 % errors, no latency) weighs nothing.
    [quiet] = merge_tick([otlp, minute(0.0, 0.0, np.nan, np.nan)])
    assert quiet.metrics["error_rate_pct"][0] == 0.0
    assert quiet.metrics["response_time_ms"][0] == 30.0
    assert quiet.metrics["throughput_rps"][0] == 20.0


def test_history_anomalies_reach_the_charts_on_the_next_tick() -> None:
    """Regression: the history scored by the first model was marked on the charts only when the
    next bucket completed — up to 15 minutes on a day's window."""
    engine = make_engine(DashboardOptions(start=WORLD_START), Thresholds())
    first = engine.step(NOW)
    assert first.live.series.values["anomalies"].sum() == 0  # no model yet
    engine.wait_for_background()
    snap = engine.step(NOW + 1)
    marked = snap.live.series.values["anomalies"].sum()
    in_range = [a for a in snap.live.anomalies if a.timestamp < snap.live.series.t[-1] + 900]
    assert marked > 0 and marked == len(in_range)


def test_when_a_bucket_completes_every_tick_series_and_details_take_turns() -> None:
    """A fast world (or a 64× replay) completes a chart bucket every tick: the request
    details (endpoint table, histogram, slowest traces) must still be refreshed — they once
    froze — and the series too, each at least every other tick, never both in one tick."""
    engine = make_engine(DashboardOptions(start=WORLD_START, speed=3600.0), Thresholds())
    last = engine.step(NOW)
    engine.wait_for_background()
    counts, charts, both = [], [], 0
    for k in range(1, 9):
        snap = engine.step(NOW + k)
        assert snap.live.histogram is not None
        counts.append(snap.live.histogram.requests)
        charts.append(float(snap.live.series.t[-1]))
        # A recomputed series or set of details is a new object; a kept one is the same.
        new_series = snap.live.series is not last.live.series
        new_details = snap.live.histogram is not last.live.histogram
        both += new_series and new_details
        last = snap
    # Each tick adds an hour of requests: the figures move at least every other tick.
    assert all(b > a for a, b in zip(counts[::2], counts[2::2], strict=False)), counts
    assert all(b > a for a, b in zip(charts[::2], charts[2::2], strict=False)), charts
    assert len(set(counts)) >= 4 and len(set(charts)) >= 4, (counts, charts)
    assert both == 0


def test_a_source_that_failed_is_not_later_said_to_be_older_than_the_window() -> None:
    engine = Engine([Flaky(), Steady()], interval_s=1.0)
    said = [n for i in range(3) for n in engine.step(NOW + i).notices]
    assert said == ["flaky: connection refused"]
    later = engine.step(NOW + 3 * 86_400.0).notices  # its last sample is now days old
    assert later == ()


class Filling(Flaky):
    """An empty receiver that then gets 10 requests a tick, one in ten failed."""

    name = "filling"

    def poll(self, now: float) -> Batch:
        from apm_tui.model import Span

        self.polls += 1
        spans = [
            Span(f"t{self.polls}-{i}", f"s{self.polls}-{i}", "", "web", "GET /x",
                 now - 0.5 + i / 100, 50.0, error=(self.polls * 10 + i) % 10 == 0, kind="server")
            for i in range(10)
        ]  # fmt: skip
        return Batch.of(spans=spans)


def test_the_analysis_follows_a_window_that_is_still_filling() -> None:
    """Regression: the first full analysis, on the first tick's few requests, stood for the
    next 60 ticks (an OTLP session showed health 22 POOR from 1 error in 7 requests)."""
    engine = Engine([Filling()], interval_s=1.0)
    counts = []
    for i in range(20):
        engine.step(NOW + i)
        engine.wait_for_background()
        assert engine.analysis is not None
        counts.append(engine.analysis.requests_count)
    assert counts[0] == 10 and counts[-1] >= 150  # not the first tick's ten, 19 ticks on
    assert len(set(counts)) >= 5
    assert engine.tick < engine.full_every


def test_the_request_details_follow_requests_within_a_bucket() -> None:
    """Regression: the histogram and endpoint table were remade only when a chart bucket
    completed (15 minutes on a day's window): a live log's distribution lagged its requests."""
    from apm_tui.engine import DETAILS_EVERY

    # Samples every 5 minutes: buckets of 5 minutes at least, none completes in these ticks.
    start = 300.0 * math.ceil(NOW / 300.0)
    engine = Engine([Filling()], interval_s=300.0, window_s=86_400.0)
    seen = []
    for i in range(DETAILS_EVERY * 2 + 2):
        snap = engine.step(start + i)
        assert snap.live.histogram is not None
        seen.append(snap.live.histogram.requests)
    assert snap.live.series.bucket_s >= 300.0
    # Remade every DETAILS_EVERY ticks with the requests since, not only when a bucket ends.
    assert seen[0] == 10 and seen[-1] >= 10 * DETAILS_EVERY
    assert len(set(seen)) == 3 and seen.index(seen[-1]) <= DETAILS_EVERY + 3


class LateServices(Flaky):
    """No requests for five ticks, then each tick the same route from two services: a fast
    `web` and a slow `billing` (two OTLP exporters sending to one receiver)."""

    name = "late"

    def poll(self, now: float) -> Batch:
        from apm_tui.model import Span

        self.polls += 1
        if self.polls <= 5:
            return Batch()
        spans = [
            Span(f"t{self.polls}-{i}", f"s{self.polls}-{i}", "", service, "GET /health",
                 now - 0.5, ms, kind="server", attributes={"http.route": "/health"})
            for i, (service, ms) in enumerate([("web", 2.0), ("billing", 900.0)] * 3)
        ]  # fmt: skip
        return Batch.of(spans=spans)


def test_the_first_requests_show_in_the_endpoint_table_at_once() -> None:
    """Regression: requests arriving after a few empty ticks (an OTLP receiver's first
    export) waited up to DETAILS_EVERY ticks for the endpoint table and distribution, which
    said "No requests in view" beside a bottlenecks panel that named their endpoints."""
    engine = Engine([LateServices()], interval_s=1.0)
    for i in range(5):
        assert engine.step(NOW + i).live.endpoints == ()
    snap = engine.step(NOW + 5)
    assert snap.live.histogram is not None and snap.live.histogram.requests == 6
    assert len(snap.live.endpoints) == 2


def test_one_route_of_two_services_is_two_endpoints() -> None:
    """Regression: endpoints were named by route alone, so `/health` of a 2 ms service and of
    a 900 ms one were one endpoint with a P95 of 900 ms (and "optimize /health")."""
    engine = Engine([LateServices()], interval_s=1.0)
    for i in range(8):
        snap = engine.step(NOW + i)
    p95 = {e.name: e.p95_ms for e in snap.live.endpoints}
    assert p95 == {"billing /health": 900.0, "web /health": 2.0}
    assert set(snap.slowest) == set(p95)
    engine.wait_for_background()
    engine.step(NOW + 8)
    assert engine.analysis is not None
    assert {e.name: e.p95_ms for e in engine.analysis.endpoints} == p95
    slow = [b.location for b in engine.analysis.bottlenecks if b.kind == "slow_endpoint"]
    assert slow == ["billing /health"]


def test_anomalies_older_than_the_window_are_not_shown_or_recommended() -> None:
    """Regression: a log read with a backlog longer than the window (apache_combined.log, two
    days into a 24-hour window) had the first model's in-sample anomalies from before the
    window in the header's count and the recommendations ("0 samples unlike the rest")."""
    import time

    from tests.conftest import SHARED

    log = SHARED / "data" / "logs" / "apache_combined.log"
    opts = DashboardOptions(sources=("log",), logs=(str(log),), backlog_s=2 * 86_400.0)
    engine = make_engine(opts, Thresholds())
    now = time.time()
    for k in range(4):
        snap = engine.step(now + k)
        engine.wait_for_background()
    oldest = engine.window.oldest()
    assert engine.analysis is not None and snap.live.anomalies
    assert min(a.timestamp for a in snap.live.anomalies) >= oldest
    assert min(a.timestamp for a in engine.analysis.anomalies) >= oldest
    # The detector saw the log's first day (its model trained on it), the window does not hold it.
    assert engine.detector.train_times[0] < oldest


def test_the_view_says_the_windows_own_span_every_tick() -> None:
    """Regression: the panels' "over 24 h" took the oldest time of the charts' series, which is
    kept for a bucket: newest minus a stale oldest flipped "24 h" / "25 h" every tick of a fast
    replay, and each flip repainted two whole panels (≈ 3 ms a tick)."""
    engine = make_engine(DashboardOptions(start=WORLD_START, speed=3600.0), Thresholds())
    for i in range(6):
        snap = engine.step(NOW + i)  # an hour of the world a tick: a bucket completes each
        assert snap.live.oldest == engine.window.oldest()
        assert snap.live.newest - snap.live.oldest <= 86_400.0


def test_the_request_panels_span_only_the_requests_the_window_holds() -> None:
    """At thousands of requests a second the window's row limit keeps minutes of requests
    while its samples go back a day: the histogram and endpoint table said "over 24 h" of
    what covered minutes. The view gives the oldest request apart."""
    from apm_tui.window import Window

    engine = make_engine(DashboardOptions(start=WORLD_START, speed=3600.0), Thresholds())
    engine.window = Window(engine.window.max_age_s, engine.window.metrics.max_rows, 500)
    for i in range(3):
        snap = engine.step(NOW + i)
    requests = engine.window.requests.column("time")
    assert len(requests) == 500 and snap.live.oldest_request == requests[0]
    held = snap.live.newest - snap.live.oldest_request
    assert 0 < held < 0.5 * (snap.live.newest - snap.live.oldest)


def test_a_recording_of_a_quiet_source_notes_its_quiet_ticks(tmp_path: Path) -> None:
    from apm_tui.recording import Recorder, Recording

    path = tmp_path / "quiet.apmrec"
    engine = Engine([QuietLog()], interval_s=1.0)
    engine.recorder = Recorder(path, sources=["quiet-log"], settings={}, interval_s=1.0)
    for i in range(30):
        engine.step(1000.0 + i)
    engine.close()
    # No tick had anything new, so only the history is stored: the quiet ticks' times still
    # give the recording its length.
    recording = Recording.open(path)
    assert recording.span() == (1000.0, 1029.0)
    assert [t.history for t in recording.ticks()] == [True]
    recording.close()


def test_the_oldest_request_is_the_earliest_not_the_first_read() -> None:
    # A log's lines need not be in time order (Apache logs a request's start when it ends):
    # the endpoint panel said "over 27 s" of requests that spanned 54 s.
    from apm_tui.model import Span
    from apm_tui.sources.batch import BatchSource

    starts = [NOW + 27, NOW + 1, NOW + 54, NOW + 30]
    spans = [
        Span(f"t{i}", f"s{i}", "", "web", "GET /x", at, 20.0, kind="server")
        for i, at in enumerate(starts)
    ]
    engine = Engine([BatchSource(Batch.of(spans=spans), "log")], interval_s=1.0)
    snap = engine.step(NOW + 60)
    assert snap.live.oldest_request == NOW + 1
    engine.close()


class SkewedClock(Flaky):
    """Traces whose spans are now, and one service's a year behind (its clock is off)."""

    name = "otlp"

    def poll(self, now: float) -> Batch:
        return Batch.of(
            spans=[
                Span("t1", "s1", "", "web", "GET /x", now, 5.0, kind="server"),
                Span("t1", "s2", "s1", "pay", "charge", now - 365 * 86_400.0, 2.0),
                Span("t1", "s3", "s1", "pay", "refund", now - 365 * 86_400.0, 2.0),
            ]
        )


def test_old_spans_beside_newer_ones_of_the_same_source_are_said_once() -> None:
    """They were dropped by the window's age in silence: the notice for old data was for a
    source whose data is all old."""
    engine = Engine([SkewedClock()], interval_s=1.0)
    said = [engine.step(NOW + i).notices for i in range(3)]
    assert said[1:] == [(), ()]
    assert said[0] == (
        "otlp: 2 spans older than the window (before 2025-12-31 00:00 UTC) not kept, beside "
        "newer ones: a clock that is off, or old data sent with new",
    )
    assert set(engine.window.spans.column("span_id")) == {"s1"}  # (as before: not kept)
    quiet = Engine([Steady()], interval_s=1.0)
    assert all(quiet.step(NOW + i).notices == () for i in range(2))


class SkewedApart(Flaky):
    """The service whose clock is off posts on its own: its old spans come in a poll of
    their own, after the source's newer ones."""

    name = "otlp"

    def poll(self, now: float) -> Batch:
        if now < NOW + 1:
            return Batch.of(spans=[Span("t1", "s1", "", "web", "GET /x", now, 5.0, kind="server")])
        old = now - 2 * 86_400.0
        return Batch.of(spans=[Span("t2", "s2", "", "pay", "POST /c", old, 2.0, kind="server")])


def test_old_spans_in_a_poll_of_their_own_are_said_too() -> None:
    """Only a batch that also held newer spans was checked: a service with an old clock
    posting apart was dropped in silence."""
    engine = Engine([SkewedApart()], interval_s=1.0)
    said = [engine.step(NOW + i).notices for i in range(3)]
    assert said[0] == () and said[2] == ()
    assert said[1] == (
        "otlp: 1 span older than the window (before 2025-12-31 00:00 UTC) not kept, beside "
        "newer ones: a clock that is off, or old data sent with new",
    )


def test_a_pauses_held_rows_keep_their_anomalies_out_of_the_live_figures() -> None:
    """Regression (review): while a pause held older rows, their anomalies still counted in
    the live header and the health's penalty; the paused view keeps them."""
    from apm_tui.analysis.result import Anomaly

    engine = make_engine(DashboardOptions(start=WORLD_START, window_hours=2), Thresholds())
    try:
        engine.step(NOW)
        paused = engine.window.newest()
        engine.hold(paused)
        for i in range(1, 30):  # the window moves on behind the pause
            engine.step(NOW + i)
        since = engine.window.newest() - 2 * 3600
        assert paused - 2 * 3600 < since
        held = float(engine.window.metrics.column("timestamp")[0]) + 60
        assert held < since
        old = Anomaly(held, 0.9, "HIGH", ("cpu",))  # among the held rows, out of the 2 h
        engine._anomalies.appendleft(old)
        live = engine.step(NOW + 30).live
        assert old not in live.anomalies and live.oldest >= since
        assert old in engine.view_at(paused).live.anomalies
        engine.hold(None)
        engine.step(NOW + 31)
        assert engine.window.oldest() >= engine.window.newest() - 2 * 3600
    finally:
        engine.close()
