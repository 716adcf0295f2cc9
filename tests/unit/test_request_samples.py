"""Per-minute samples of a request source's requests: what logs and OTLP give the detector."""

from __future__ import annotations

import math

import numpy as np

from apm_tui.model import Batch, Span
from apm_tui.sources.batch import BatchSource
from apm_tui.sources.samples import RequestSamples

T0 = 1_767_225_600.0  # a minute boundary


def request(i: int, at: float, ms: float, error: bool = False) -> list[Span]:
    return [
        Span(f"t{i}", f"s{i}", "", "web", "GET /x", at, ms, error=error, kind="server"),
        Span(f"t{i}", f"d{i}", f"s{i}", "pg", "SELECT", at + 0.001, ms / 2, kind="db"),
    ]


class Feed:
    """A request source whose polls return what the test queued."""

    name = "feed"

    def __init__(self, history: list[Span]) -> None:
        self.history = history
        self.queue: list[Span] = []

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        return Batch.of(spans=self.history)

    def poll(self, now: float) -> Batch:
        spans, self.queue = self.queue, []
        return Batch.of(spans=spans)

    def close(self) -> None:
        pass


def test_minutes_become_samples_with_quiet_minutes_filled() -> None:
    history = [
        *request(1, T0 + 5, 100.0),
        *request(2, T0 + 30, 300.0, error=True),
        *request(3, T0 + 200, 50.0),  # minute 3; minutes 1 and 2 had no requests
        *request(4, T0 + 250, 70.0),  # minute 4: still filling when the history ends
    ]
    feed = Feed(history)
    source = RequestSamples(feed, grace_s=10.0)
    m = source.backfill().metrics
    assert m["timestamp"].tolist() == [T0, T0 + 60, T0 + 120, T0 + 180]
    assert m["response_time_ms"][0] == 200 and math.isnan(m["response_time_ms"][1])
    assert m["throughput_rps"].tolist() == [2 / 60, 0.0, 0.0, 1 / 60]
    assert m["error_rate_pct"].tolist() == [50, 0, 0, 0]  # a quiet minute has no errors
    assert m["db_query_ms"][0] == 100 and m["db_query_ms"][3] == 25

    # Live: minute 4 is reported once the clock is past its end, the grace and the lag seen
    # (request 5 came 1 s after it began); a source gone quiet still gives its empty minutes.
    assert len(source.poll(T0 + 245).metrics) == 0
    feed.queue = request(5, T0 + 270, 90.0)
    assert len(source.poll(T0 + 271).metrics) == 0
    assert len(source.poll(T0 + 310).metrics) == 0  # 10 s of grace, and 1 s of lag
    live = source.poll(T0 + 311).metrics
    assert live["timestamp"].tolist() == [T0 + 240]
    assert live["response_time_ms"][0] == 80 and live["throughput_rps"][0] == 2 / 60
    quiet = source.poll(T0 + 431).metrics
    assert quiet["timestamp"].tolist() == [T0 + 300, T0 + 360]
    assert quiet["throughput_rps"].tolist() == [0.0, 0.0]


def test_a_late_request_for_a_reported_minute_is_not_double_counted() -> None:
    feed = Feed(request(1, T0 + 5, 100.0) + request(2, T0 + 65, 100.0))
    source = RequestSamples(feed)
    assert len(source.backfill().metrics) == 1
    feed.queue = request(3, T0 + 10, 500.0)  # minute 0 again, after it was reported
    out = source.poll(T0 + 200)
    assert len(out.spans) == 2  # the request itself still reaches the window
    assert len(out.metrics) == 0  # it came 190 s after it began: minutes wait that long now
    (said,) = out.status["notices"]
    assert "some requests came after their minute's sample was out" in said
    later = source.poll(T0 + 400)
    assert later.metrics["timestamp"].tolist() == [T0 + 60, T0 + 120]
    assert later.metrics["throughput_rps"].tolist() == [1 / 60, 0.0]  # not counted twice
    feed.queue = request(4, T0 + 15, 500.0)  # late again: said once
    assert "notices" not in source.poll(T0 + 401).status


def test_old_lines_followed_live_do_not_fill_years_of_minutes() -> None:
    feed = Feed(request(1, T0 - 3e8, 10.0) + request(2, T0 - 3e8 + 90, 10.0))
    source = RequestSamples(feed)
    source.backfill()
    out = source.poll(T0).metrics  # ten years later: only the minute that had requests
    assert out["timestamp"].tolist() == [np.floor((T0 - 3e8 + 90) / 60) * 60]


def test_spans_and_status_pass_through() -> None:
    spans = request(1, T0 + 5, 100.0)
    batch = Batch.of(spans=spans)
    inner = BatchSource(Batch(spans=batch.spans, status={"log": {"lines": 1}}), "x")
    out = RequestSamples(inner).backfill()
    assert len(out.spans) == 2 and out.status["log"] == {"lines": 1}


def test_an_empty_history_then_live_requests() -> None:
    # A new (empty) log or an OTLP receiver has no history: the first samples come live.
    feed = Feed([])
    source = RequestSamples(feed)
    first = source.backfill()
    assert len(first.metrics) == 0 and len(first.spans) == 0
    feed.queue = request(1, T0 + 5, 40.0)
    assert len(source.poll(T0 + 6).metrics) == 0  # no minute is over yet
    feed.queue = request(2, T0 + 70, 60.0)
    out = source.poll(T0 + 71).metrics  # minute 0, 10 s of grace and 1 s of lag after it
    assert out["timestamp"].tolist() == [T0] and out["response_time_ms"].tolist() == [40.0]
    out = source.poll(T0 + 131).metrics
    assert out["timestamp"].tolist() == [T0 + 60] and out["response_time_ms"].tolist() == [60.0]
    quiet = source.poll(T0 + 251).metrics  # then quiet minutes are samples too
    assert quiet["timestamp"].tolist() == [T0 + 120, T0 + 180]
    assert quiet["throughput_rps"].tolist() == [0.0, 0.0]


def test_quiet_minutes_are_filled_within_a_stretch_of_requests_and_not_across_a_gap() -> None:
    """Regression: a log of 2020 and 2022 lines had its quiet 2022 minutes filled with zeros
    by the report's last read but none of its 2020 ones (the whole span was over the fill
    limit), so throughput, the anomalies and the health came from a lopsided series."""
    later = T0 + 2 * 86_400  # two days on: a gap, not two days of zero traffic
    history = [
        *request(1, T0 + 5, 10.0),
        *request(2, T0 + 185, 10.0),  # minutes 1 and 2 are quiet
        *request(3, later + 5, 10.0),
        *request(4, later + 245, 10.0),  # minutes 1–3 of the later stretch are quiet
    ]
    source = RequestSamples(Feed(history))
    first = source.backfill().metrics["timestamp"].tolist()
    rest = source.finish().metrics["timestamp"].tolist()
    minutes = [int((t - T0) // 60) for t in first + rest]
    day2 = 2 * 1440
    assert minutes == [0, 1, 2, 3, day2, day2 + 1, day2 + 2, day2 + 3, day2 + 4]


def test_a_source_silent_for_over_a_day_is_a_gap_when_live() -> None:
    feed = Feed(request(1, T0 + 5, 10.0) + request(2, T0 + 65, 10.0))
    source = RequestSamples(feed)
    assert source.backfill().metrics["timestamp"].tolist() == [T0]
    hours_later = source.poll(T0 + 3 * 3600).metrics["timestamp"].tolist()
    # Minute 1 and the quiet ones after it, up to the one still in its grace (minute 179).
    assert hours_later == [T0 + 60 * m for m in range(1, 179)]
    feed.queue = request(3, T0 + 3 * 86_400 + 5, 10.0)
    assert len(source.poll(T0 + 3 * 86_400 + 6).metrics) == 0
    days_later = source.poll(T0 + 3 * 86_400 + 120).metrics["timestamp"].tolist()
    assert days_later == [T0 + 3 * 86_400]  # the new minute; not three days of zeros


def follow(
    source: RequestSamples, feed: Feed, arrivals: list[tuple[float, float]]
) -> list[tuple[int, int]]:
    """Requests (arrival, start) polled once a wall second as they arrive, then a quiet
    quarter of an hour: each minute's (request count from its sample, the poll it came at)."""
    counts: list[tuple[int, int]] = []
    first, last = int(arrivals[0][0]), int(arrivals[-1][0]) + 900
    pending = sorted(arrivals)
    for now in range(first, last):
        while pending and pending[0][0] <= now:
            _, start = pending.pop(0)
            feed.queue += request(len(pending), start, 20.0)
        samples = source.poll(float(now)).metrics
        if len(samples):
            counts += [(round(v * 60), now) for v in samples["throughput_rps"].tolist()]
    return counts


def test_a_writer_that_lags_half_a_minute_keeps_every_request_in_its_minute() -> None:
    # 20 requests a second for three minutes, each written 30 s after it began (a buffered
    # writer): minutes used to be reported 10 s after their end, without a third of theirs.
    source = RequestSamples(Feed([]))
    source.backfill()
    arrivals = [(T0 + 30 + i / 20, T0 + i / 20) for i in range(3 * 60 * 20)]
    counts = follow(source, source.source, arrivals)  # type: ignore[arg-type]
    assert [n for n, _ in counts[:3]] == [1200, 1200, 1200]
    # Each 40 s after its end: 30 s of lag, the 10 s of grace, and the lag's own second.
    assert [int(at - T0) for _, at in counts[:3]] == [101, 161, 221]
    assert source.minutes.late == 0


def test_an_old_log_appended_line_by_line_has_its_minutes_whole() -> None:
    # A 2015 log, 120 requests a minute for ten minutes, appended at 40 lines a second (its
    # minutes pass every 3 s): each minute's sample held one request.
    old = T0 - 3.3e8
    source = RequestSamples(Feed([]))
    source.backfill()
    arrivals = [(T0 + i / 40, old + i / 2) for i in range(1200)]
    counts = follow(source, source.source, arrivals)  # type: ignore[arg-type]
    assert [n for n, _ in counts[:10]] == [120] * 10
    # As its own clock passes them (a minute in 3 s), not when the clock has: all but the
    # last two are out before the last line is, 30 s on.
    assert max(at for _, at in counts[:8]) - T0 < 30
    assert source.minutes.late == 0


def test_a_line_with_a_wrong_date_does_not_hold_the_samples_back() -> None:
    # A live log, a request a second, one of them dated 2000: its lag of decades must not
    # become the lag every minute waits for.
    source = RequestSamples(Feed([]))
    source.backfill()
    arrivals = [(T0 + i + 0.5, T0 + i) for i in range(300)]
    arrivals[100] = (T0 + 100.5, 946_684_800.0)
    counts = follow(source, source.source, arrivals)  # type: ignore[arg-type]
    assert [n for n, _ in counts[:4]] == [60, 59, 60, 60]  # (the odd one is in no minute here)
    assert [int(at - T0) for _, at in counts[:4]] == [71, 131, 191, 251]


def test_a_new_sources_first_minute_is_a_rate_over_the_part_watched() -> None:
    # An OTLP receiver started 50 s into a minute, 20 requests a second from then: its first
    # sample read 200 requests over 60 s, 3.3 a second, then 20 from the next minute on.
    source = RequestSamples(Feed([]))
    source.backfill()
    arrivals = [(T0 + 50 + i / 20, T0 + 50 + i / 20) for i in range(130 * 20)]
    counts = follow(source, source.source, arrivals)  # type: ignore[arg-type]
    rates = [n / 60 for n, _ in counts[:3]]  # (follow gives rate × 60)
    assert rates[0] == 20.0 and rates[1] == 20.0 and rates[2] == 20.0


def test_a_log_with_history_keeps_whole_minutes() -> None:
    # With history the first minute is the log's own, and when it began is not known.
    feed = Feed(request(1, T0 + 50, 10.0) + request(2, T0 + 65, 10.0))
    source = RequestSamples(feed)
    assert source.backfill().metrics["throughput_rps"].tolist() == [1 / 60]
    out = source.poll(T0 + 200).metrics
    assert out["throughput_rps"][0] == 1 / 60
