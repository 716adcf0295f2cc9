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

    # Live: minute 4 is reported once the clock is past its end and the grace; a source gone
    # quiet still gives its empty minutes.
    assert len(source.poll(T0 + 245).metrics) == 0
    feed.queue = request(5, T0 + 270, 90.0)
    live = source.poll(T0 + 310).metrics
    assert live["timestamp"].tolist() == [T0 + 240]
    assert live["response_time_ms"][0] == 80 and live["throughput_rps"][0] == 2 / 60
    quiet = source.poll(T0 + 430).metrics
    assert quiet["timestamp"].tolist() == [T0 + 300, T0 + 360]
    assert quiet["throughput_rps"].tolist() == [0.0, 0.0]


def test_a_late_request_for_a_reported_minute_is_not_double_counted() -> None:
    feed = Feed(request(1, T0 + 5, 100.0) + request(2, T0 + 65, 100.0))
    source = RequestSamples(feed)
    assert len(source.backfill().metrics) == 1
    feed.queue = request(3, T0 + 10, 500.0)  # minute 0 again, after it was reported
    out = source.poll(T0 + 200)
    assert out.metrics["timestamp"].tolist() == [T0 + 60, T0 + 120]
    assert len(out.spans) == 2  # the request itself still reaches the window


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
    feed.queue = request(1, T0 + 5, 40.0) + request(2, T0 + 70, 60.0)
    assert len(source.poll(T0 + 50).metrics) == 0  # no minute is over yet
    out = source.poll(T0 + 190).metrics  # the two minutes with requests
    assert out["timestamp"].tolist() == [T0, T0 + 60]
    assert out["response_time_ms"].tolist() == [40.0, 60.0]
    quiet = source.poll(T0 + 250).metrics  # then quiet minutes are samples too
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
    days_later = source.poll(T0 + 3 * 86_400 + 120).metrics["timestamp"].tolist()
    assert days_later == [T0 + 3 * 86_400]  # the new minute; not three days of zeros
