"""The engine: poll the sources → append to the window → analyse → one `Snapshot` (no UI here).

`step(now)` is the tick's work and must stay cheap: it polls, appends, scores the new samples
with the current anomaly model and computes the live view. The expensive work — refitting the
IsolationForest and the full analysis (bottlenecks, recommendations, health) — runs on one
background thread and is picked up by a later tick when it is done, so a slow fit never delays
a frame. A source that fails is reported as a notice and the others keep running.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from apm_tui.analysis.forest import Children, Model, fit_all, fit_all_isolated
from apm_tui.analysis.live import (
    Histogram,
    LiveView,
    Series,
    current_values,
    endpoint_table,
    group_firsts,
    histogram,
    series_stamp,
    time_series,
)
from apm_tui.analysis.requests import (
    Numbering,
    endpoint_keys,
    extract_requests,
    key_labels,
    status_codes,
)
from apm_tui.analysis.result import Analysis, Anomaly, EndpointStats
from apm_tui.analysis.streaming import StreamingDetector, detector_settings
from apm_tui.config import Thresholds
from apm_tui.model import Batch, Grouping, Table, factorize, newest_time
from apm_tui.printable import printable
from apm_tui.sources.base import Source, SourceError
from apm_tui.window import Window, between, earliest
from apm_tui.words import counted


@dataclass(frozen=True)
class SlowTrace:
    trace_id: str
    time: float
    duration_ms: float
    error: bool


@dataclass(frozen=True)
class Snapshot:
    tick: int
    live: LiveView
    analysis: Analysis | None
    sources: tuple[str, ...]
    notices: tuple[str, ...]
    status: dict[str, Any]
    slowest: dict[str, tuple[SlowTrace, ...]] = field(default_factory=dict)
    recording: str = ""  # the file this session is being recorded to, if any


#: Rows of one tick this close in time are one row: a log's minute completes up to a minute
#: (and its settling) after the host's sample of the same tick.
MERGE_WITHIN_S = 180.0
#: Ticks between two computations of the request details (histogram, endpoint table, slowest
#: traces) while requests come within a bucket: one tick in 30 pays their sort (≈ 3 ms for a
#: day of the synthetic world's), so the P95 tick does not.
DETAILS_EVERY = 30
#: The full analysis runs again before its `full_every` ticks once the window has grown by a
#: quarter and a few rows since the last one (a window still filling; a full day's grows by
#: a thousandth a tick, so it keeps to the period).
REANALYSE_GROWTH = 1.25
REANALYSE_MIN_ROWS = 8


def merge_tick(batches: list[Batch]) -> list[Batch]:
    """Sources that each sampled once this tick give one metric row, not one row each.

    A host source measures CPU and memory, a request source latency and errors: as separate rows
    every row would miss half its features, and the anomaly detector would learn the two kinds
    of row apart instead of the application's behaviour.
    """
    with_rows = [b for b in batches if len(b.metrics)]
    if len(with_rows) < 2 or any(len(b.metrics) != 1 for b in with_rows):
        return batches
    newest = max(float(b.metrics["timestamp"][0]) for b in with_rows)
    # A row far behind the newest (an old log's minute beside the host's second) stays a row
    # of its own: merged, its values would take the live row's time and show as current.
    near: list[Batch] = []
    far: list[Batch] = []
    for batch in with_rows:
        t = float(batch.metrics["timestamp"][0])
        (near if newest - t <= MERGE_WITHIN_S else far).append(batch)
    if len(near) < 2:
        return batches
    merged = _merged_row([b.metrics for b in near])
    merged["timestamp"] = np.array([newest])
    status: dict[str, Any] = {}
    for batch in batches:
        status.update(batch.status)
    notices = [n for b in batches for n in b.status.get("notices", ())]
    if notices:
        status["notices"] = notices
    spans = Table.concat([b.spans for b in batches])
    return [Batch(metrics=Table(merged), spans=spans, status=status)] + [
        Batch(metrics=b.metrics) for b in far
    ]


#: Request metrics that are a mean over the minute's requests: two request sources' rows
#: (an OTLP receiver and a log) are one row weighted by each one's requests, not the first.
PER_REQUEST = ("response_time_ms", "error_rate_pct", "db_query_ms")


def _merged_row(rows: list[Table]) -> dict[str, np.ndarray[Any, Any]]:
    """One row of several sources' rows of one tick. A column only one of them has (CPU from
    the host, latency from the requests) is that one's. Two request sources are both counted:
    throughput added, the means weighted by each one's throughput (a source's request count
    in the minute), where before the first source's row stood for both."""
    values: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        cols = row.columns()
        weight = float(cols["throughput_rps"][0]) if "throughput_rps" in cols else math.nan
        for name, col in cols.items():
            value = float(col[0])
            if math.isfinite(value):
                values.setdefault(name, []).append((value, weight))
            else:
                values.setdefault(name, [])
    merged: dict[str, np.ndarray[Any, Any]] = {}
    for name, found in values.items():
        if not found:
            value = math.nan
        elif len(found) == 1:
            value = found[0][0]
        elif name == "throughput_rps":
            value = sum(v for v, _ in found)
        elif name in PER_REQUEST and all(math.isfinite(w) for _, w in found):
            total = sum(w for _, w in found)
            mean = sum(v for v, _ in found) / len(found)
            value = sum(v * w for v, w in found) / total if total > 0 else mean
        else:
            value = found[0][0]  # the first source's, as ever
        merged[name] = np.array([value], dtype=np.float64)
    return merged


#: What a view shows of the window's requests beyond the series: the latency histogram, the
#: endpoint table and the slowest traces per endpoint (each sorts every request).
Details = tuple[Histogram | None, tuple[EndpointStats, ...], dict[str, tuple[SlowTrace, ...]]]


def request_details(requests: Table, th: Thresholds, numbering: Numbering | None = None) -> Details:
    """The histogram, endpoint table and slowest traces; the endpoints grouped once, from
    their lasting numbers when the window has them."""
    grouped = None
    if len(requests):
        if numbering is not None and ENDPOINT_CODE in requests:
            codes, keys = numbering.grouped(requests[ENDPOINT_CODE])
        else:
            codes, keys = factorize(endpoint_keys(requests["service"], requests["endpoint"]))
        grouped = codes, key_labels(keys)
    return (
        histogram(requests),
        endpoint_table(requests, th, grouped),
        slowest_by_endpoint(requests, grouped=grouped),
    )


def utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


class Recorder(Protocol):
    def append(self, t: float, batch: Batch, *, history: bool = False) -> None: ...

    def mark(self, t: float) -> None: ...

    def close(self) -> None: ...


def describe(exc: Exception) -> str:
    """A SourceError's message as it is; anything else with its type, for the notice."""
    return str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"


#: The window's request column of endpoint numbers (`Engine._numbered`).
ENDPOINT_CODE = "endpoint_code"


def requests_table(spans: Table) -> Table:
    req = extract_requests(spans)
    return Table(
        {
            "time": req.time,
            "duration_ms": req.duration_ms,
            "error": req.error,
            "endpoint": req.endpoint,
            "service": req.service,
            "trace_id": req.trace_id,
            "status": status_codes(spans, req.index),
        }
    )


def slowest_by_endpoint(
    requests: Table, per_endpoint: int = 5, *, grouped: Grouping | None = None
) -> dict[str, tuple[SlowTrace, ...]]:
    if len(requests) == 0:
        return {}
    codes, names = grouped or factorize(requests["endpoint"])
    durations = np.asarray(requests["duration_ms"], dtype=float)
    # Slowest first within each endpoint: sorted by (endpoint, -duration), ties by row.
    order, starts = group_firsts(codes, -durations, len(names), per_endpoint)
    traces, times, errors = requests["trace_id"], requests["time"], requests["error"]
    out: dict[str, tuple[SlowTrace, ...]] = {}
    for code, name in enumerate(names):
        rows = [i for i in order[starts[code] : starts[code] + per_endpoint] if codes[i] == code]
        out[str(name)] = tuple(
            SlowTrace(str(traces[i]), float(times[i]), float(durations[i]), bool(errors[i]))
            for i in rows
        )
    return out


class Engine:
    def __init__(
        self,
        sources: list[Source],
        th: Thresholds | None = None,
        *,
        window_s: float = 86_400.0,
        max_samples: int = 100_000,
        max_spans: int = 1_000_000,
        full_every: int = 60,
        refit_every: int = 240,
        interval_s: float = 1.0,
        isolate_fits: bool = False,
        whole: bool = False,
    ) -> None:
        self.sources = list(sources)
        self.th = th or Thresholds()
        self.window = Window(window_s, max_samples, max_spans)
        self._endpoints = Numbering()
        self.detector = StreamingDetector(
            self.th, replace(detector_settings(self.th), refit_every=refit_every)
        )
        self.full_every = full_every
        self._details: Details | None = None
        self._series: tuple[tuple[float, int], Series] | None = None
        self._details_at: float = math.inf
        self._details_tick, self._details_rows = 0, 0  # when the details were made, of what
        self.interval_s = interval_s  # data seconds per sample (simulated for synthetic)
        #: The data is whole (a report's picture): its last time bucket is complete too.
        self.whole = whole
        # Fit anomaly models in a child process (the dashboard: keeps scikit-learn's memory out).
        self.isolate_fits = isolate_fits
        self.recorder: Recorder | None = None  # attached by `--record` / `apm-tui record`
        self._recording_requests: list[tuple[Path, float]] = []
        self._lock = threading.Lock()  # a tick, or a look at the past (`view_at`), not both
        self.tick = 0
        self.analysis: Analysis | None = None
        self.status: dict[str, Any] = {}
        self._anomalies: deque[Anomaly] = deque()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apm-analysis")
        # One fit job at a time, of every request waiting (`fit_all_isolated`): the requests
        # it fits, in order, and its models.
        self._fit: tuple[list[int], Future[list[Model]]] | None = None
        self._children = Children()
        self._full: Future[Analysis] | None = None
        self._full_tick = -1
        self._analysed_rows = 0  # the window's rows when the last full analysis started
        self._notices: list[str] = []
        self._newest_of: dict[str, float] = {}  # each source's newest data time so far
        self._outside: set[str] = set()  # sources whose data all lies before the window
        self._said_old: set[str] = set()  # sources said to have sent spans older than it
        self._started = False
        self._adopted = False  # showing a finished analysis (`adopt`): no fits, no analyses

    def adopt(self, analysis: Analysis) -> None:
        """Show a finished analysis instead of computing one (`report --png`): its health and
        findings in the panels, its anomalies on the charts and in the header, so a picture
        shows what the text report says. The engine then fits no model and runs no analysis."""
        self.analysis = analysis
        self._anomalies = deque(sorted(analysis.anomalies, key=lambda a: a.timestamp))
        self._adopted = True

    def notice(self, text: str) -> None:
        """A message for the user, shown with the next snapshot."""
        self._notices.append(text)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the sources and load their history (called from the worker, not at import)."""
        history: list[Batch] = []
        for source in list(self.sources):
            try:
                source.open()
                history.append(self._seen(source, source.backfill()))
            except Exception as exc:  # a user's source may raise anything: it is a notice
                self._source_failed(source, describe(exc))
        for batch in history:
            self._record(batch, history=True)
            self._ingest(batch, score=False)
        # The history and everything imported so far live as long as the app: keep them out
        # of the collector's full passes, which otherwise pause a tick for 100–200 ms.
        gc.collect()
        gc.freeze()
        self._started = True

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        for source in self.sources:
            # Closing is best effort: the app is leaving anyway.
            with contextlib.suppress(Exception):
                source.close()
        self._children.stop()  # Python's exit would wait for a fit in flight otherwise
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the tick --------------------------------------------------------------------------
    def step(self, now: float | None = None) -> Snapshot:
        with self._lock:
            return self._step(now)

    def _step(self, now: float | None = None) -> Snapshot:
        if not self._started:
            self.start()
        now = time.time() if now is None else now
        self.tick += 1
        self._apply_recording_requests()
        batches = []
        for source in list(self.sources):
            try:
                batches.append(self._seen(source, source.poll(now)))
            except Exception as exc:  # one broken source must not freeze the others
                self._source_failed(source, describe(exc))
        merged = merge_tick(batches)
        for batch in merged:
            self._record(batch, now=now)
            self._ingest(batch, score=True)
        if not any(merged):
            self._record_quiet(now)
        self._say_outside()
        self.window.trim()  # (rows a pause held, once it is over, with no new data too)
        self._collect_background()
        self._schedule_background()
        return self._snapshot()

    def _seen(self, source: Source, batch: Batch) -> Batch:
        if len(batch.metrics) or len(batch.spans):
            t = newest_time(batch)
            newest = self._newest_of[source.name] = max(t, self._newest_of.get(source.name, t))
            # Beside the source's newer data, of this batch or one before (a service whose
            # clock is off posting on its own): a batch of old spans alone was not said.
            self._say_old_spans(source.name, batch.spans, newest)
        return batch

    def _say_old_spans(self, name: str, spans: Table, newest: float) -> None:
        """Spans older than the window beside newer ones of the same source (a service whose
        clock is off, old traces sent with new) are not kept: said once a source, as a source
        whose data is all old is (`_say_outside`)."""
        if not len(spans) or name in self._said_old:
            return
        cutoff = float(np.fmax(self.window.newest(), newest)) - self.window.max_age_s
        old = int(np.count_nonzero(spans["start"] < cutoff))
        if old and newest >= cutoff:
            self._said_old.add(name)
            self._notices.append(
                f"{name}: {counted(old, 'span')} older than the window (before {utc(cutoff)}) "
                "not kept, beside newer ones: a clock that is off, or old data sent with new"
            )

    def _say_outside(self) -> None:
        """A source whose newest data is older than the window shows nothing at all — an old
        log beside the host's live metrics, spans with old times — which must not pass in
        silence (the panels would say there are no requests). Said when it happens."""
        newest = self.window.newest()
        if not math.isfinite(newest):
            return
        cutoff = newest - self.window.max_age_s
        for name in [s.name for s in self.sources if s.name in self._newest_of]:
            t = self._newest_of[name]  # (a source that failed was said, and is gone)
            if t >= cutoff:
                self._outside.discard(name)
            elif name not in self._outside:
                self._outside.add(name)
                self._notices.append(
                    f"{name}: its newest data ({utc(t)}) is older than the window (the "
                    f"{self.window.max_age_s / 3600:g} h up to the newest data, {utc(newest)}):"
                    " none of it is shown. Alone (without the live sources) it shows on its own "
                    "time, and `apm-tui report` analyses it."
                )

    def toggle_recording(self, folder: Path, tick_s: float) -> None:
        """Start recording to a new timestamped file in `folder`, or stop: applied by the next
        step, on the thread that steps the engine (never while a tick is being written). Each
        press counts: two before the next step stop and start again."""
        self._recording_requests.append((folder, tick_s))

    def _apply_recording_requests(self) -> None:
        for folder, tick_s in self.take_recording_requests():
            self._toggle_recording(folder, tick_s)

    def take_recording_requests(self) -> list[tuple[Path, float]]:
        """The `toggle_recording` presses not applied yet, now no longer this engine's."""
        requests, self._recording_requests = self._recording_requests, []
        return requests

    def _toggle_recording(self, folder: Path, tick_s: float) -> None:
        if self.recorder is not None:
            path = getattr(self.recorder, "path", "the recording")
            self.recorder.close()
            self.recorder = None
            self._notices.append(f"recording stopped: {path}")
            return
        from apm_tui.errors import RecordingError
        from apm_tui.recording import Recorder as FileRecorder

        if folder.exists() and not folder.is_dir():
            self._notices.append(f"cannot record: {folder} is not a folder")
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._notices.append(f"cannot record: cannot make the folder {folder}: {exc.strerror}")
            return
        stamp = time.strftime("apm-tui-%Y%m%d-%H%M%S")
        path = folder / f"{stamp}.apmrec"
        for n in range(2, 100):  # stopped and started again within the second
            if not path.exists():
                break
            path = folder / f"{stamp}-{n}.apmrec"
        try:
            recorder = FileRecorder(
                path,
                sources=[s.name for s in self.sources],
                settings={"thresholds": asdict(self.th), "data_interval_s": self.interval_s},
                interval_s=tick_s,
            )
        except (RecordingError, OSError) as exc:
            self._notices.append(f"cannot record: {exc}")
            return
        # The window so far is the new recording's history, so it replays from the same start.
        window = Batch(metrics=self.window.metrics.view(), spans=self.window.spans.view())
        try:
            recorder.append(newest_time(window), window, history=True)
        except RecordingError as exc:
            recorder.close()
            self._notices.append(f"cannot record: {exc}")
            return
        self.recorder = recorder
        self._notices.append(f"recording to {path}")

    def _record(self, batch: Batch, *, now: float | None = None, history: bool = False) -> None:
        """Hand what the engine ingests to the recorder, if one is attached."""
        if self.recorder is not None and batch:
            when = now if now is not None else newest_time(batch)
            self._to_recorder(lambda r: r.append(when, batch, history=history))

    def _record_quiet(self, now: float) -> None:
        """A tick with nothing new: the recorder notes its time (a replay lasts as long)."""
        if self.recorder is not None:
            self._to_recorder(lambda r: r.mark(now))

    def _to_recorder(self, write: Callable[[Recorder], None]) -> None:
        """A recorder that fails (disk full, file gone) is a notice and the dashboard carries
        on without it."""
        assert self.recorder is not None
        try:
            write(self.recorder)
        except Exception as exc:  # the recording must never take the dashboard down
            self._notices.append(f"recording stopped: {exc}")
            self.recorder = None

    def _ingest(self, batch: Batch, *, score: bool) -> None:
        if batch.status:
            notices = batch.status.get("notices", ())
            self._notices.extend(str(n) for n in notices)
            self.status.update({k: v for k, v in batch.status.items() if k != "notices"})
        if not (len(batch.metrics) or len(batch.spans)):
            return
        self.window.append(batch.metrics, batch.spans, self._numbered(requests_table(batch.spans)))
        if len(batch.metrics) and not self._adopted:
            # History too goes through the detector (it builds the baselines and the first
            # model's training rows); its anomalies come from `score_history` once that
            # model exists.
            _, _, found = self.detector.score_rows(batch.metrics, catch_up=not score)
            if score:
                self._anomalies.extend(found)
        self._drop_old_anomalies()

    def _drop_old_anomalies(self) -> None:
        """Anomalies older than the window's oldest row leave with it: none is shown, counted
        or recommended from data the window no longer holds."""
        oldest = self._oldest()
        while self._anomalies and self._anomalies[0].timestamp < oldest:
            self._anomalies.popleft()

    def _numbered(self, requests: Table) -> Table:
        """The requests with their endpoints' lasting numbers (`ENDPOINT_CODE`). Once more
        endpoints were numbered than `Numbering.limit` (paths that never repeat, in a log),
        the window's own endpoints are numbered afresh, so the table holds only those."""
        numbering = self._endpoints
        columns = requests.columns()
        columns[ENDPOINT_CODE] = numbering.number(
            endpoint_keys(requests["service"], requests["endpoint"])
        )
        if len(numbering) > numbering.limit:
            window = self.window.requests
            if len(window):
                keys = endpoint_keys(window.column("service"), window.column("endpoint"))
                window.column(ENDPOINT_CODE)[:] = numbering.reset(keys)
            columns[ENDPOINT_CODE] = numbering.number(
                endpoint_keys(requests["service"], requests["endpoint"])
            )
        return Table(columns)

    def _oldest(self) -> float:
        buf = self.window.metrics
        return float(buf.column("timestamp")[0]) if len(buf) else -math.inf

    def _source_failed(self, source: Source, message: str) -> None:
        self._notices.append(f"{source.name}: {message}")
        self.sources.remove(source)
        with contextlib.suppress(Exception):
            source.close()

    # -- background work -------------------------------------------------------------------
    def _collect_background(self) -> None:
        if self._fit is not None and self._fit[1].done():
            numbers, job = self._fit
            self._fit = None
            models: list[Model | None] = [None] * len(numbers)
            try:
                models = list(job.result())
            except Exception as exc:  # a fit that fails must not stop the dashboard
                self._notices.append(f"anomaly model fit failed: {exc}")
            for number, model in zip(numbers, models, strict=True):
                first = self.detector.model is None
                try:
                    late = self.detector.install(number, model)
                    self._anomalies.extend(late)
                    if late:
                        # Rows that waited for this model may lie in a chart bucket completed
                        # (and cached) since: remake the charts so their marks show now.
                        self._series = None
                    if first and self.detector.model is not None:
                        self._score_history()
                except Exception as exc:  # the next models must still land: rows wait on them
                    self._notices.append(f"anomaly scoring failed: {describe(exc)}")
        if self._full is not None and self._full.done():
            first = self.analysis is None
            try:
                self.analysis = self._full.result()
            except Exception as exc:
                self._notices.append(f"analysis failed: {exc}")
            self._full = None
            if first:
                # The screen, its widgets and the first model are built by now and live as
                # long as the app: frozen too, the full collections a replay sets off once a
                # minute at 64× took up to 20 ms instead of 30–36 (measured 2026-12-06; an
                # hour beside the same code without it: the same memory, 112 / 72 MB).
                gc.collect()
                gc.freeze()

    def _score_history(self) -> None:
        """The rows the first model was fitted on get its verdicts too (in-sample, once)."""
        found = self.detector.score_history()
        self._anomalies = deque(sorted([*found, *self._anomalies], key=lambda a: a.timestamp))
        # The model's training rows go back further than the window when a source's past
        # (a log's `--backlog 2d`) is longer than it.
        self._drop_old_anomalies()
        # The charts' buckets are cached until the next one completes (minutes on a day's
        # window): recompute them now so the history's anomalies are marked at once.
        self._series = None

    def _schedule_background(self) -> None:
        if self._adopted:
            return
        self.detector.ask_if_due()  # after a history, whose rows ask for no refit
        # The detector keeps the requests until the last job is done: they go together.
        requests = self.detector.take_requests() if self._fit is None else []
        if requests:
            jobs = [(r.x, list(r.names), r.seed) for r in requests]
            if self.isolate_fits:
                job = self._pool.submit(fit_all_isolated, jobs, self._children)
            else:
                job = self._pool.submit(fit_all, jobs)
            self._fit = ([r.number for r in requests], job)
        # Once per tick at most: `wait_for_background` may call this again in the same tick.
        # Every `full_every` ticks, and sooner while the window is still filling (an empty log
        # or OTLP receiver at start, a replay at 64×): the first analysis, on the first few
        # requests, would otherwise stand for a minute (health 0 POOR from 1 error in 7).
        size = len(self.window.metrics) + len(self.window.spans)
        due = self._full_tick != self.tick and (
            self.analysis is None
            or self.tick % self.full_every == 0
            or size >= self._analysed_rows * REANALYSE_GROWTH + REANALYSE_MIN_ROWS
        )
        # Wait for the first model only while it is on its way: a warming-up detector must not
        # hold back health and bottlenecks.
        waiting_for_model = self.detector.model is None and self.detector.fitting
        has_data = len(self.window.metrics) or len(self.window.spans)
        if self._full is None and due and not waiting_for_model and has_data:
            metrics, spans, _ = self.window.views()
            anomalies = self._anomalies_in_window()
            status = self.detector.status if self.detector.model is None else "ok"
            self._full_tick = self.tick
            self._analysed_rows = size
            self._full = self._pool.submit(self._full_analysis, metrics, spans, anomalies, status)

    def _full_analysis(
        self, metrics: Table, spans: Table, anomalies: tuple[Anomaly, ...], status: str
    ) -> Analysis:
        from apm_tui.analysis.anomaly import Detection
        from apm_tui.analysis.full import analyse

        detection = Detection(anomalies, np.full(len(metrics), np.nan), status)
        return analyse(metrics, spans, self.th, detection=detection)

    def wait_for_background(self, timeout: float = 30.0) -> None:
        """Block until pending fits and analyses finish, then pick them up (for tests, reports)."""
        deadline = time.monotonic() + timeout
        for _ in range(4):
            jobs: list[Future[Any]] = [f for f in (self._full, self._fit and self._fit[1]) if f]
            # A failed one is a notice (`_collect_background`); a late one raises.
            _, late = futures_wait(jobs, timeout=max(0.0, deadline - time.monotonic()))
            if late:
                raise TimeoutError("background work did not finish in time")
            self._collect_background()
            self._schedule_background()
            if self._fit is None and self._full is None:
                return

    # -- the snapshot ----------------------------------------------------------------------
    def _detector_status(self, samples: int) -> str:
        if self._adopted:
            return "ok"  # the adopted analysis found the anomalies shown
        if self.detector.model is None and self.detector.fitting:
            return f"fitting on {samples:,} samples"
        if samples == 0 and len(self.window.requests):
            # A log's or OTLP's requests become a sample once their minute is over.
            return "no metric samples yet: requests become one a minute"
        return self.detector.status

    def spans(self) -> Table:
        """The window's spans (zero-copy: the window never moves rows it has handed out)."""
        with self._lock:
            return self.window.spans.view()

    def hold(self, t: float | None) -> None:
        """Paused at data time `t` (None: live again): the window keeps the rows of the 24 h
        up to `t` while new ones come. They were dropped as the window moved on, and the
        paused view changed under the user: step away and back, 8,578 requests where it had
        shown 8,647, still labelled "over 24 h"."""
        # Not under the engine's lock: a tick holds it throughout, seconds for a fresh
        # replay's first or a recording's start, and this runs on the UI's thread. A float
        # is set whole; `append` reads it once, and the next tick trims what was held.
        self.window.keep_from = math.nan if t is None else t - self.window.max_age_s

    def view_at(self, t: float) -> Snapshot:
        """The dashboard's view as it was when the newest data was at time `t` (pause and
        step): the window's rows up to `t`, computed afresh. Holds the engine's lock, so it
        never reads the window while a tick appends to it."""
        with self._lock:
            metrics = self.window.metrics.view()
            requests = self.window.requests.view()
            # Masks, not a binary search: requests arrive as their traces end, not in order.
            # From `t` less the window's length: a pause holds older rows (`hold`), and the
            # view at its newest time is still the window's length, not that and the pause.
            since = t - self.window.max_age_s
            m, r = between(metrics, "timestamp", since, t), between(requests, "time", since, t)
            anomalies = tuple(a for a in self._anomalies if since <= a.timestamp <= t)
            oldest = earliest(m, r)
            status = dict(self.status)
            sources = tuple(s.name for s in self.sources)
        series = time_series(m, r, anomalies, t, self.interval_s, self.th, whole=self.whole)
        details = request_details(r, self.th, self._endpoints)
        live = self._live_view(m, r, anomalies, t, oldest, series, details, self.detector.status)
        return Snapshot(
            tick=self.tick,
            live=live,
            analysis=self.analysis,
            sources=sources,
            notices=(),
            status=status,
            slowest=details[2],
            # (stepping through a pause dropped the REC badge while recording went on)
            recording=self._recording_path(),
        )

    def _live_view(
        self,
        metrics: Table,
        requests: Table,
        anomalies: tuple[Anomaly, ...],
        newest: float,
        oldest: float,
        series: Series,
        details: Details,
        detector_status: str,
    ) -> LiveView:
        """The live view of these rows: one place, for the ticks and for a paused look back."""
        recent = max(60.0, 5 * self.interval_s)
        hist, endpoints, _ = details
        timed = bool(len(requests)) and bool(np.isfinite(requests["duration_ms"]).any())
        return LiveView(
            newest=newest,
            series=series,
            current=current_values(metrics, requests, newest, recent, self.th),
            histogram=hist,
            endpoints=endpoints,
            anomalies=anomalies,
            detector_status=detector_status,
            has={
                "requests": len(requests) > 0,
                "timed": timed,
                "data": bool(len(metrics) or len(requests)),
            },
            oldest=oldest,
            # (The smallest, not the first: a log's lines need not be in time order.)
            oldest_request=float(requests["time"].min()) if len(requests) else math.nan,
        )

    def _anomalies_in_window(self) -> tuple[Anomaly, ...]:
        """The anomalies of the window's length up to its newest time (while a pause holds
        older rows, not theirs: they counted in the header and the health's penalty)."""
        if math.isnan(self.window.keep_from):
            return tuple(self._anomalies)
        since = self.window.newest() - self.window.max_age_s
        return tuple(a for a in self._anomalies if a.timestamp >= since)

    def _recording_path(self) -> str:
        return str(getattr(self.recorder, "path", "")) if self.recorder else ""

    def _snapshot(self) -> Snapshot:
        metrics, _, requests = self.window.views()
        newest = self.window.newest()
        if not math.isfinite(newest):
            replay = self.status.get("replay")
            clock = replay.get("clock") if isinstance(replay, dict) else None
            newest = clock if isinstance(clock, float) and math.isfinite(clock) else time.time()
        # The charts plot complete buckets only, so the series — and the endpoint table,
        # histogram and slowest traces, which sort every request in the window — are
        # recomputed when a bucket completes, not every tick: the series first, the details
        # on the next tick, so one tick does not pay for both. In a fast replay a bucket
        # completes every tick; a tick due for the details then keeps the charts' series for
        # one more tick (they are redrawn one a tick anyway), and the two alternate.
        # Anomalies in the current bucket reach the charts with it.
        oldest = self.window.oldest()
        if not math.isnan(self.window.keep_from):  # paused: rows held before the window's day
            oldest = earliest(metrics, requests)
        stamp = series_stamp(newest, oldest if math.isfinite(oldest) else newest, self.interval_s)
        details_due = (
            self._details is None
            or self.tick >= self._details_at
            # Requests that came since, in a bucket not yet complete (15 min on a day's
            # window): the histogram and endpoint table follow within `DETAILS_EVERY` ticks.
            or (
                len(requests) != self._details_rows
                and self.tick >= self._details_tick + DETAILS_EVERY
            )
            # The first requests of all (an OTLP receiver's first export): shown at once, not
            # up to `DETAILS_EVERY` ticks after the other panels (they are few to sort).
            or (self._details_rows == 0 and len(requests) > 0)
        )
        if self._series is None or (stamp != self._series[0] and not details_due):
            series = time_series(
                metrics,
                requests,
                self._anomalies_in_window(),
                newest,
                self.interval_s,
                self.th,
                whole=self.whole,
            )
            self._series = (stamp, series)
            self._details_at = self.tick + 1
        if details_due:
            self._details = request_details(requests, self.th, self._endpoints)
            self._details_at = math.inf
            self._details_tick, self._details_rows = self.tick, len(requests)
        assert self._details is not None
        slowest = self._details[2]
        live = self._live_view(
            metrics,
            requests,
            self._anomalies_in_window(),
            newest,
            oldest,
            self._series[1],
            self._details,
            self._detector_status(len(metrics)),
        )
        # A notice may quote what a source read or raised (a path, a line): no terminal codes.
        notices, self._notices = tuple(map(printable, self._notices)), []
        return Snapshot(
            recording=self._recording_path(),
            tick=self.tick,
            live=live,
            analysis=self.analysis,
            sources=tuple(s.name for s in self.sources),
            notices=notices,
            status=dict(self.status),
            slowest=slowest,
        )
