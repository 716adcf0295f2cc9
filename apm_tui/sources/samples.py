"""Per-minute metric samples derived from a request source's requests (access logs, OTLP).

Logs and traces give requests, and the anomaly detector scores metric samples (response time,
throughput, errors, DB time per interval), as APM agents report them. This wrapper counts each
minute's requests and, once the minute is over, yields its sample beside the requests: mean
response time (of the requests that have one), requests per second, error rate and mean DB span
time. A minute without requests is a sample too (throughput 0): traffic that stops is news.
Minutes are complete when the newest request (history) or, live, a watermark has passed their
end: the later of the clock less how long after they began requests have lately arrived, and
the newest request seen less how far behind it requests have lately arrived, each less a grace
for late lines and traces still being assembled (`Watermark`). A writer that flushes every 30 s,
a request logged when it ends a minute after it began, or an old log appended line by line
(whose minutes pass on its own clock, in seconds) would otherwise have its minutes reported
before their requests all arrived, which then were left out of the samples: until 2026-12-07
minutes closed on the clock alone, and such a log read 1 request a minute where it had 120.
A request that still comes after its minute was reported is in the requests, not in that
minute's sample; a notice says so once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from apm_tui.analysis.requests import request_rows
from apm_tui.model import Batch, FloatArray, Table
from apm_tui.sources.base import Source

#: Requests may be logged or exported this long after their minute ended.
GRACE_S = 10.0
#: How long a lag seen live holds (`Watermark`): the polls of this long count.
LAG_MEMORY_S = 600.0
#: Quiet minutes between two minutes with requests are samples of zero traffic, up to a day of
#: them: a longer silence is a gap in the log (rotated away, not written, years apart), and a
#: run of zeros across it would swamp the averages and bury the rest as anomalies.
MAX_QUIET = 1440


@dataclass
class _Minute:
    requests: int = 0
    timed: int = 0
    total_ms: float = 0.0
    errors: int = 0
    db_spans: int = 0
    db_ms: float = 0.0
    first: float = math.inf  # the earliest request's start


@dataclass
class _Minutes:
    bucket_s: float
    open: dict[int, _Minute] = field(default_factory=dict)
    next_out: int | None = None  # the first minute not yet emitted
    late: int = 0  # requests that came after their minute was reported
    #: When a source without history began to be watched (the data's clock, live): its first
    #: minute was seen only from then.
    began: float | None = None

    def add(self, spans: Table) -> None:
        if len(spans) == 0:
            return
        # The request rows only: their endpoint names (a loop over attributes) are not needed.
        rows = request_rows(spans)
        times = np.asarray(spans["start"][rows], dtype=float)
        keys = np.floor(times / self.bucket_s).astype(np.int64)
        durations, errors = spans["duration_ms"][rows], spans["error"][rows]
        for key, at, ms, err in zip(
            keys.tolist(), times.tolist(), durations.tolist(), errors.tolist(), strict=True
        ):
            if self.next_out is not None and key < self.next_out:
                self.late += 1  # its minute was reported: in the requests, not the sample
                continue
            m = self.open.setdefault(key, _Minute())
            m.requests += 1
            m.first = min(m.first, at)
            m.errors += bool(err)
            if math.isfinite(ms):
                m.timed += 1
                m.total_ms += ms
        db = np.flatnonzero(spans["kind"] == "db")
        if db.size:
            db_keys = np.floor(spans["start"][db].astype(float) / self.bucket_s).astype(np.int64)
            for key, ms in zip(db_keys.tolist(), spans["duration_ms"][db].tolist(), strict=True):
                minute = self.open.get(key)
                if minute is not None and math.isfinite(ms):
                    minute.db_spans += 1
                    minute.db_ms += ms

    def complete(self, before: float, *, live: bool = False) -> Table:
        """Samples of every minute that ends at or before `before`, oldest first, the quiet
        minutes between them included; `live` also reports the quiet minutes up to `before`
        (a source that has gone silent, for up to `MAX_QUIET` minutes), once the first sample
        is out."""
        if not math.isfinite(before):  # an empty history (a new log, an OTLP receiver)
            return Table({})
        last = math.floor(before / self.bucket_s) - 1
        keys = sorted(k for k in self.open if k <= last)
        reported = self.next_out - 1 if self.next_out is not None else None
        rows: list[int] = []
        for key in keys:
            rows += quiet_between(reported, key)
            rows.append(key)
            reported = key
        if live and self.next_out is not None:
            rows += quiet_between(reported, last + 1)  # silent since: news, until it is a gap
        if not rows:
            return Table({})
        self.next_out = rows[-1] + 1
        minutes = [self.open.pop(k, _Minute()) for k in rows]
        per_s = self.bucket_s
        seen = [self._seen_s(k, m) for k, m in zip(rows, minutes, strict=True)]
        nan = math.nan
        return Table(
            {
                "timestamp": np.array([k * per_s for k in rows], dtype=np.float64),
                "response_time_ms": np.array(
                    [m.total_ms / m.timed if m.timed else nan for m in minutes]
                ),
                "throughput_rps": np.array(
                    [m.requests / s for m, s in zip(minutes, seen, strict=True)]
                ),
                # No requests, no errors: 0 %, so a quiet minute is still a complete sample.
                "error_rate_pct": np.array(
                    [m.errors / m.requests * 100 if m.requests else 0.0 for m in minutes]
                ),
                "db_query_ms": np.array(
                    [m.db_ms / m.db_spans if m.db_spans else nan for m in minutes]
                ),
            }
        )

    def _seen_s(self, key: int, minute: _Minute) -> float:
        """How long minute `key` was watched: all of it, but for the minute a source without
        history began in (a new OTLP receiver, a new log), from then on, or from its first
        request if that began earlier (a writer running behind) — at least a second, as one
        request a moment after the start is no rate."""
        if self.began is None or math.floor(self.began / self.bucket_s) != key:
            return self.bucket_s
        since = min(self.began, minute.first)
        return max((key + 1) * self.bucket_s - since, 1.0)


def quiet_between(reported: int | None, key: int) -> list[int]:
    """The minutes after `reported` and before `key`, if they are a quiet stretch and not a gap
    (`MAX_QUIET`)."""
    if reported is None or key - reported - 1 > MAX_QUIET:
        return []
    return list(range(reported + 1, key))


class Watermark:
    """Where live minutes are over: the later of

    - the clock less the grace and the lag of the last `LAG_MEMORY_S` (a poll's lag: how long
      before it the oldest request it brought began), which moves on in silence;
    - the newest request's start less the grace and the disorder (how far behind the newest
      seen so far a poll's oldest request began), which follows a log's own clock.

    A writer 30 s behind has a lag of 30 s and little disorder; an old log appended line by
    line, a lag of years and the disorder of one poll's lines. Each is the `QUANTILE` of the
    polls' (the polls that brought requests): one line with a wrong date (the year 2000 in
    a live log) makes one poll's lag decades, and as the largest it held every sample back."""

    QUANTILE = 90

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.newest = -math.inf
        self._seen: deque[tuple[float, float, float]] = deque()  # (poll, lag, disorder)

    def saw(self, now: float, starts: FloatArray) -> None:
        """The request start times a poll at `now` brought."""
        starts = np.asarray(starts, dtype=float)
        starts = starts[np.isfinite(starts)]
        if not starts.size:
            return
        first, last = float(starts.min()), float(starts.max())
        self.newest = max(self.newest, last)
        self._seen.append((now, max(0.0, now - first), self.newest - first))

    def at(self, now: float) -> float:
        while self._seen and self._seen[0][0] < now - LAG_MEMORY_S:
            self._seen.popleft()
        if not self._seen:
            return max(now, self.newest) - self.grace_s
        _, lags, disorders = zip(*self._seen, strict=True)
        lag, disorder = np.percentile([lags, disorders], self.QUANTILE, axis=1, method="higher")
        return max(now - float(lag), self.newest - float(disorder)) - self.grace_s


class RequestSamples:
    """A request source with per-minute samples of its requests (see the module docstring)."""

    def __init__(self, source: Source, bucket_s: float = 60.0, grace_s: float = GRACE_S) -> None:
        self.source = source
        self.name = source.name
        self.minutes = _Minutes(bucket_s)
        self.watermark = Watermark(grace_s)
        self._said_late = False
        self._fresh = False  # no requests in the history: the first poll starts the watch

    def open(self) -> None:
        self.source.open()

    def backfill(self) -> Batch:
        batch = self.source.backfill()
        self.minutes.add(batch.spans)
        newest = float(np.nanmax(batch.spans["start"])) if len(batch.spans) else -math.inf
        self._fresh = not self.minutes.open
        # The history's last minute may still be filling: it is reported by a later poll.
        return self._with_samples(batch, self.minutes.complete(newest))

    def poll(self, now: float) -> Batch:
        if self._fresh:
            self._fresh = False
            self.minutes.began = now
        batch = self.source.poll(now)
        if len(batch.spans):
            self.watermark.saw(now, batch.spans["start"][request_rows(batch.spans)])
        late = self.minutes.late
        self.minutes.add(batch.spans)
        samples = self.minutes.complete(self.watermark.at(now), live=True)
        if self.minutes.late > late and not self._said_late:
            self._said_late = True
            notice = (
                f"{self.name}: some requests came after their minute's sample was out (they "
                "are in the requests, not in that minute's throughput and errors); later "
                "minutes wait for such lags"
            )
            status = dict(batch.status)
            status["notices"] = [*status.get("notices", ()), notice]
            batch = Batch(metrics=batch.metrics, spans=batch.spans, status=status)
        return self._with_samples(batch, samples)

    def finish(self) -> Batch:
        """The minutes still open, the last one too: the input is whole (a report reads a log
        once; nothing later would complete its last minute, and one minute's requests were
        missing from throughput, errors and the window)."""
        if not self.minutes.open:
            return Batch()
        end = (max(self.minutes.open) + 1) * self.minutes.bucket_s
        return self._with_samples(Batch(), self.minutes.complete(end))

    def close(self) -> None:
        self.source.close()

    @staticmethod
    def _with_samples(batch: Batch, samples: Table) -> Batch:
        if len(samples) == 0:
            return batch
        return Batch(metrics=samples, spans=batch.spans, status=batch.status)
