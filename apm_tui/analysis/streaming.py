"""The streaming anomaly detector the live dashboard (and `apm-tui detect`) uses.

Causal: each sample's features are computed against its metrics' rolling baselines of earlier
samples (`baseline.py`), scored by a forest fitted only on earlier samples' features, and judged
by an alarm that compares the recent scores with the earlier ones (`alarm.py`); so appending the
future never changes a past score or flag. The forest is refitted every `refit_every` samples on
the last `train_rows` samples' features. Until `DetectorSettings.warmup_rows` samples have been
seen the detector is warming up and flags nothing.

Fitting can happen elsewhere (the dashboard fits in a child process, `forest.fit_all_isolated`):
the detector asks for each refit at a row fixed by the data, and the rows after it wait for
that model, so where the models change never depends on how fast a fit was. Nothing here
flags by the contamination: it only caps the alarm's flag rate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from apm_tui.analysis.alarm import Alarm, AlarmSettings
from apm_tui.analysis.anomaly import FEATURE_TYPES
from apm_tui.analysis.baseline import FEATURES, BaselineSettings, SeriesBaseline, squash
from apm_tui.analysis.baseline_block import features_block
from apm_tui.analysis.forest import FAST_ROWS, Model, fit, score
from apm_tui.analysis.result import Anomaly, Severity
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table

BoolArray = npt.NDArray[np.bool_]

#: A block of more than this many refits' rows at once is a jump, not a tick (see score_rows).
JUMP_REFITS = 4
#: Rows after a failed first fit before the next try.
RETRY_ROWS = 30


@dataclass(frozen=True)
class DetectorSettings:
    """The one set of settings the dashboard, `apm-tui detect` and bench/nab.py share."""

    baseline: BaselineSettings = field(default_factory=BaselineSettings)
    alarm: AlarmSettings = field(default_factory=AlarmSettings)
    refit_every: int = 240  # rows between refits of the forest
    train_rows: int = 2016  # the forest learns the last this many rows' features
    min_train: int = 128  # rows with features before the first fit
    z_weight: float = 0.1  # see StreamingDetector.raw_score

    @property
    def warmup_rows(self) -> int:
        """Rows until the first alarm is possible: features, a model, then a score history."""
        return self.baseline.min_history + self.min_train + self.alarm.min_scores


def detector_settings(th: Thresholds) -> DetectorSettings:
    """The defaults, with the flag-rate cap at the configured contamination."""
    return DetectorSettings(alarm=replace(AlarmSettings(), contamination=th.contamination))


@dataclass(frozen=True)
class FitRequest:
    """The training rows of the `number`th model, asked for when the detector had seen `at`
    rows: that model scores the rows from there on, and the model before it the rows before.
    Where and on what a model is fitted is fixed by the data alone, never by when a fit in
    the background happens to finish, so a replay at any speed flags what live flagged."""

    number: int
    x: FloatArray
    times: FloatArray
    names: tuple[str, ...]
    at: int
    seed: int


class _Waiting(NamedTuple):
    """A run of rows under one model, their features computed, waiting for it to land."""

    row: int  # the first one's number among the rows seen
    t: FloatArray
    z: FloatArray
    ok: BoolArray
    model: int  # the request whose model scores them (-1: none, the detector is warming up)


#: Verdicts of a run of rows: the first one's number, their likelihoods and flags.
Verdicts = tuple[int, FloatArray, BoolArray]


class StreamingDetector:
    """One row at a time, causally: features against each metric's rolling baseline
    (`baseline.py`), an IsolationForest over all metrics' features, and the likelihood alarm
    (`alarm.py`). Row i's score and flag depend only on rows < i and its own values.

    A refit is asked for every `refit_every` rows, on the last `train_rows` rows' features
    (`FitRequest`). With `refit` the detector fits it there and then (`apm-tui detect`);
    otherwise the caller takes the requests (`take_requests`), fits them elsewhere and hands
    each model back (`install`), and the rows after a request wait, features computed, until
    its model lands. So the dashboard flags exactly what `detect_series` flags on the same
    rows, however they were split into ticks; only a source's history and a jump (see
    `score_rows`) ask for fewer refits.

    It watches the metrics of the first rows it sees, and any that appear later (a host's CPU
    beside a log whose backlog came first): those join at the end of the feature row, the
    current forest goes on scoring the features it knows, and a refit that knows them all is
    due as soon as enough rows have every feature.
    """

    def __init__(
        self, th: Thresholds, settings: DetectorSettings | None = None, *, seed: int = 0
    ) -> None:
        self.th = th
        self.s = settings or detector_settings(th)
        self.seed = seed
        self.model: Model | None = None  # the model scoring the rows now
        self.names: tuple[str, ...] | None = None
        self.baselines: list[SeriesBaseline] = []
        self.alarm = Alarm(self.s.alarm)
        self.train: deque[FloatArray] = deque(maxlen=self.s.train_rows)
        self.train_times: deque[float] = deque(maxlen=self.s.train_rows)
        self.seen = 0
        self._origin = 0  # refits fall on the rows _origin + k × refit_every (see `_due`)
        self._failed = False  # the first model's fit failed, and no model has landed since
        self.fits = 0
        self.requested = 0  # fit requests so far, those passed over in a jump too
        #: The latest request's row and how many metrics it knew (passed over ones too).
        self._asked: tuple[int, int] | None = None
        self._current = -1  # the latest request to be fitted: the next rows wait for it
        self._requests: list[FitRequest] = []  # not taken by the caller yet
        self._outstanding: dict[int, FitRequest] = {}  # asked, their models not landed yet
        self._landed: dict[int, Model | None] = {}  # landed, no row has reached them yet
        self._scoring = -1  # the request whose model is `model` (-1: none)
        self._first: tuple[FitRequest, Model] | None = None  # the first model and its rows
        self._waiting: deque[_Waiting] = deque()
        # (raw score, time, features) of the rows the alarm's average covers
        self._recent: deque[tuple[float, float, FloatArray]] = deque(maxlen=self.s.alarm.avg_window)

    @property
    def status(self) -> str:
        need = self.s.warmup_rows
        if self.seen < need:
            return f"warming up: {self.seen} / {need} samples"
        if self.model is None:
            if self._outstanding:
                return "fitting the first model"
            if self._failed:
                return "the model's fit failed: trying again"
            # Every sample seen, too few of them with all their metrics to learn from (a log's
            # metrics come once a minute beside the host's every tick: their baselines warm
            # up minute by minute).
            return f"warming up: {len(self.train)} / {self.s.min_train} samples with every metric"
        return "ok"

    @property
    def fitting(self) -> bool:
        """A model has been asked for and has not landed yet."""
        return bool(self._outstanding)

    @property
    def waiting(self) -> int:
        """Rows waiting for their model."""
        return sum(len(w.t) for w in self._waiting)

    @property
    def feature_names(self) -> list[str]:
        return [f"{name}:{kind}" for name in self.names or () for kind in FEATURES]

    def _due(self) -> str | None:
        """What is due before the next row: "anew" (a first model, or one that knows the
        metrics that joined since), "grid" (a refit), or None."""
        if len(self.train) < self.s.min_train:
            return None
        if self._asked is None:
            return "anew"
        at, metrics = self._asked
        if metrics < len(self.names or ()):
            return "anew"
        if self.seen == at:
            return None
        if self._failed and not self._outstanding:
            # Not a whole refit interval without a model: soon, but not at every row.
            return "anew" if self.seen - at >= RETRY_ROWS else None
        # On a grid fixed by the data, not counted from the last request (a jump counts
        # the refits it passes over: `ask_if_due`).
        return "grid" if (self.seen - self._origin) % self.s.refit_every == 0 else None

    def ask_if_due(self, *, pass_over: bool = False) -> None:
        """Ask for a refit if one is due before the next row (after a history, whose rows ask
        for none, or at the end of a tick). With `pass_over` (inside a jump) it is counted
        and not fitted: the requests after the jump are then live's, number for number, so
        their models (seeded by the number) and their rows (the grid) are live's too."""
        due = self._due()
        if due is None:
            return
        if due == "anew":
            self._origin = self.seen
        number = self.requested
        self.requested += 1
        self._asked = (self.seen, len(self.names or ()))
        if pass_over:
            # Taken as fitted: a failed first fit's retries would otherwise run on through
            # the jump every RETRY_ROWS, each moving the grid, where live's retry landed.
            self._failed = False
            return
        request = FitRequest(
            number,
            np.asarray(self.train),
            np.asarray(self.train_times),
            tuple(self.feature_names),
            self.seen,
            self.seed + number,
        )
        self._current = number
        self._requests.append(request)
        self._outstanding[number] = request

    def take_requests(self) -> list[FitRequest]:
        """The fits asked for since the last call, oldest first; each model goes to `install`."""
        out, self._requests = self._requests, []
        return out

    def install(self, number: int, model: Model | None) -> list[Anomaly]:
        """Request `number`'s model (None: its fit failed, and the model before it scores on);
        returns the anomalies among the rows that were waiting for it."""
        return self._land(number, model)[1]

    def refit_now(self) -> list[Anomaly]:
        """Ask for a refit if one is due, and fit it here; returns the anomalies among the
        rows that were waiting for a model."""
        self.ask_if_due()
        return self._fit_here()[1]

    def _fit_here(self) -> tuple[list[Verdicts], list[Anomaly]]:
        done: list[Verdicts] = []
        found: list[Anomaly] = []
        for request in self.take_requests():
            model = fit(request.x, list(request.names), request.seed)
            more, anomalies = self._land(request.number, model)
            done += more
            found += anomalies
        return done, found

    def _land(self, number: int, model: Model | None) -> tuple[list[Verdicts], list[Anomaly]]:
        request = self._outstanding.pop(number, None)
        if request is None:
            return [], []
        self._landed[number] = model
        if model is not None:
            self.fits += 1
            if self._first is None:
                self._first = (request, model)
        self._failed = self._first is None
        return self._drain()

    def _reach(self, number: int) -> bool:
        """Make request `number`'s model the one that scores; False while it has not landed."""
        if number <= self._scoring:
            return True
        if number not in self._landed:
            return False
        model = self._landed[number]
        if model is not None:
            self.model = model
        self._scoring = number
        for old in [k for k in self._landed if k <= number]:
            del self._landed[old]
        return True

    def _drain(self) -> tuple[list[Verdicts], list[Anomaly]]:
        """Score the waiting rows whose models have landed, in order: their verdicts, and
        the anomalies among them."""
        done: list[Verdicts] = []
        found: list[Anomaly] = []
        while self._waiting and self._reach(self._waiting[0].model):
            run = self._waiting.popleft()
            # Runs under one model that came in separate ticks: one walk of the trees.
            while (
                self._waiting
                and self._waiting[0].model == run.model
                and self._waiting[0].z.shape[1] == run.z.shape[1]
            ):
                nxt = self._waiting.popleft()
                run = _Waiting(
                    run.row,
                    np.concatenate([run.t, nxt.t]),
                    np.concatenate([run.z, nxt.z]),
                    np.concatenate([run.ok, nxt.ok]),
                    run.model,
                )
            done.append(self._score_run(run, found))
        if not self._waiting:
            self._reach(self._current)  # the next rows': the status shows it at once
        return done, found

    def _score_run(self, run: _Waiting, found: list[Anomaly]) -> Verdicts:
        """Rows under one model: the forest once for all (one call costs about what 60 rows
        do), then the alarm in row order."""
        model = self.model
        known = len(model.names) // len(FEATURES) if model is not None else 0
        # A metric newer than the forest waits for a refit; its rows may not have it yet.
        ready = _every(run.ok[:, :known]) if known else np.zeros(len(run.t), dtype=bool)
        scored = np.full(len(run.t), math.nan)
        if ready.any():
            scored[ready] = self.raw_score(run.z[ready][:, : known * len(FEATURES)])
        raws = scored.tolist()
        verdicts = self.alarm.update_many(raws)
        likelihoods = np.full(len(raws), math.nan)
        flags = np.zeros(len(raws), dtype=bool)
        for j, (raw, (likelihood, flag)) in enumerate(zip(raws, verdicts, strict=True)):
            if ready[j]:
                self._recent.append((raw, float(run.t[j]), run.z[j]))
            likelihoods[j], flags[j] = likelihood, flag
            if flag:
                found.append(self.anomaly(self._recent, likelihood))
        return run.row, likelihoods, flags

    def _unwatched(self, metrics: Table) -> dict[str, int]:
        """The metrics with values in these rows that are not watched yet, and the first row
        with a value of each."""
        known = self.names or ()
        out = {}
        for name in FEATURE_TYPES:
            if name not in known and name in metrics:
                values = np.flatnonzero(np.isfinite(np.asarray(metrics[name], dtype=float)))
                if values.size:
                    out[name] = int(values[0])
        return out

    def _watch(self, new: list[str]) -> None:
        """Watch these metrics too."""
        known = self.names or ()
        if self.names is not None and not new:
            return
        self.names = (*known, *new)
        self.baselines += [SeriesBaseline(self.s.baseline) for _ in new]
        if known:
            # Feature rows change length: the forest learns anew from rows that have them all.
            self.train.clear()
            self.train_times.clear()

    def features(self, t: float, row: FloatArray) -> tuple[FloatArray, BoolArray]:
        """This row's squashed features and which metrics have them (a cold baseline's
        are zeros), then the row joins each metric's baseline."""
        # A missing value (a minute without requests has no response time) is neutral once
        # its metric's baseline is warm, so the row's other metrics are still scored.
        neutral = (0.0, 0.0, 0.0)
        parts = [
            neutral
            if not math.isfinite(v) and len(b.values) >= b.s.min_history
            else b.features(t, float(v))
            for b, v in zip(self.baselines, row, strict=True)
        ]
        for b, v in zip(self.baselines, row, strict=True):
            b.push(t, float(v))
        ok = np.array([p is not None for p in parts], dtype=bool)
        z = [v for p in parts for v in (neutral if p is None else p)]
        return squash(np.array(z, dtype=np.float64)), ok

    def features_block(self, times: FloatArray, rows: FloatArray) -> tuple[FloatArray, BoolArray]:
        """`features` of each row in turn, for a block: (squashed features, which metrics of
        which rows have them). Each metric's baseline takes the block at once where it can
        (`baseline_block`), else row by row; the metrics' baselines are independent, so the
        order between them does not matter."""
        n, m = len(times), len(self.baselines)
        z = np.zeros((n, 3 * m))
        ok = np.zeros((n, m), dtype=bool)
        for j, b in enumerate(self.baselines):
            block = features_block(b, times, rows[:, j])
            if block is None:
                block = _row_by_row(b, times, rows[:, j])
            z[:, 3 * j : 3 * j + 3], ok[:, j] = block
        return squash(z), ok

    def score_rows(
        self, metrics: Table, *, refit: bool = False, catch_up: bool = False
    ) -> tuple[FloatArray, npt.NDArray[np.bool_], list[Anomaly]]:
        """Scores (likelihood 0–1, NaN while warming up), flags and anomalies of new rows.

        With `refit`, each refit is fitted here when it is due (what `apm-tui detect` does);
        otherwise a row whose model has not landed yet waits, its score NaN here, and its
        anomaly comes from `install`. With `catch_up` (a source's history) no refit is asked
        for inside the rows: the caller asks once after them (`ask_if_due`)."""
        n = len(metrics)
        if catch_up:
            ask_from = n
        elif refit or n <= JUMP_REFITS * self.s.refit_every:
            ask_from = 0
        else:
            # A jump (a replay sent minutes ahead): refits inside it would each be fitted and
            # waited for, for rows the user skipped. Only its last stretch asks for one; the
            # others are counted, so the refits after it are live's.
            ask_from = n - self.s.refit_every
        return self._score_block(metrics, ask_from, refit, pass_over=not catch_up)

    def _score_block(
        self, metrics: Table, ask_from: int, refit: bool, *, pass_over: bool
    ) -> tuple[FloatArray, npt.NDArray[np.bool_], list[Anomaly]]:
        """`score_rows`: rows before `ask_from` ask for no refit, and with `pass_over` (a
        jump) count those due (`ask_if_due`)."""
        n = len(metrics)
        scores = np.full(n, np.nan)
        flags = np.zeros(n, dtype=bool)
        if n == 0:
            return scores, flags, []
        # A metric starts being watched at its first value's row, whatever the rows came in
        # with it: the rows before it are scored first, as they would be one a tick.
        unwatched = self._unwatched(metrics)
        self._watch([name for name, row in unwatched.items() if row == 0])
        later = min([row for row in unwatched.values() if row > 0], default=n)
        if later < n:
            head = self._score_block(
                metrics.take(slice(0, later)), ask_from, refit, pass_over=pass_over
            )
            tail = self._score_block(
                metrics.take(slice(later, n)), ask_from - later, refit, pass_over=pass_over
            )
            return (
                np.concatenate([head[0], tail[0]]),
                np.concatenate([head[1], tail[1]]),
                head[2] + tail[2],
            )
        assert self.names is not None
        times = np.asarray(metrics["timestamp"], dtype=float)
        # A watched metric may be missing from a batch (a quiet log beside the host's
        # metrics): its values are missing, which is neutral once its baseline is warm.
        cols = [
            np.asarray(metrics[m], dtype=float) if m in metrics else np.full(n, np.nan)
            for m in self.names
        ]
        rows = np.column_stack(cols) if cols else np.empty((n, 0))
        # Nothing in a row's features depends on a model: the whole block's at once.
        z, ok = self.features_block(times, rows)
        full = _every(ok)
        first_row = self.seen
        done: list[Verdicts] = []
        found: list[Anomaly] = []
        start = 0  # of the run of rows under the model asked for last

        def close_run(end: int, model: int) -> None:
            if end > start:
                rows = slice(start, end)
                self._waiting.append(
                    _Waiting(first_row + start, times[rows], z[rows], ok[rows], model)
                )

        for i, t in enumerate(times.tolist()):
            if i >= ask_from:
                before = self._current
                self.ask_if_due()
                if self._current != before:
                    close_run(i, before)
                    start = i
                if refit:
                    more, anomalies = self._fit_here()
                    done += more
                    found += anomalies
            elif pass_over:
                self.ask_if_due(pass_over=True)
            self.seen += 1
            if full[i]:
                self.train.append(z[i])
                self.train_times.append(t)
        close_run(n, self._current)
        more, anomalies = self._drain()
        for row, likelihoods, run_flags in done + more:
            # (A run may begin with rows of an earlier block that waited: those are not these.)
            skip = max(0, first_row - row)
            if skip >= len(likelihoods):
                continue
            at = row + skip - first_row
            scores[at : at + len(likelihoods) - skip] = likelihoods[skip:]
            flags[at : at + len(likelihoods) - skip] = run_flags[skip:]
        return scores, flags, found + anomalies

    def raw_score(self, x: FloatArray, model: Model | None = None) -> list[float]:
        """The forest's score plus `z_weight` × the largest |feature|: an isolation forest
        scores every point past its training range about the same (≈ 0.65 here, whether CPU
        is 5 or 50 standard deviations off), which hid short, huge incidents of one metric."""
        model = model or self.model
        assert model is not None
        x = x[:, : len(model.names)]  # a metric newer than the forest waits for a refit
        # At most FAST_ROWS at a time: rows that waited behind a slow fit (thousands at 64×)
        # in one walk of the trees took ≈ 80 MB, and scikit-learn's scoring, which takes over
        # above it where the forest is at hand, differs from the walk by ≈ 1e-16.
        forest = np.concatenate(
            [score(model, x[i : i + FAST_ROWS]) for i in range(0, len(x), FAST_ROWS)]
            or [np.empty(0)]
        )
        if self.s.z_weight:
            forest = forest + self.s.z_weight * np.abs(x).max(axis=1)
        return [float(v) for v in forest]

    def anomaly(
        self, recent: Iterable[tuple[float, float, FloatArray]], likelihood: float
    ) -> Anomaly:
        """The alarm averages the last few scores, so it may sound a row or two after the
        oddest one: the anomaly is dated and explained by the highest-scoring recent row."""
        _, t, f = max(recent, key=lambda r: r[0])
        severity, causes = self.explain(f)
        return Anomaly(t, likelihood, severity, causes)

    def score_history(self) -> list[Anomaly]:
        """The rows the first model was fitted on, scored by it through a fresh alarm
        (in-sample, once): the dashboard marks the history's anomalies with these."""
        if self._first is None:
            return []
        request, model = self._first
        x = request.x
        raw = np.asarray(self.raw_score(x, model))
        alarm = Alarm(self.s.alarm)
        recent: deque[tuple[float, float, FloatArray]] = deque(maxlen=self.s.alarm.avg_window)
        found = []
        raws = raw.tolist()
        warm = self.s.alarm.score_window  # the first ones one by one, until its history is full
        verdicts = [alarm.update(r) for r in raws[:warm]] + alarm.update_many(raws[warm:])
        times = request.times.tolist()
        for f, t, r, (likelihood, flagged) in zip(x, times, raws, verdicts, strict=True):
            recent.append((r, t, f))
            if flagged:
                found.append(self.anomaly(recent, likelihood))
        return found

    def explain(self, f: FloatArray) -> tuple[Severity, tuple[str, ...]]:
        """Causes: the metrics whose level, short-term or step z-score is large; HIGH when one
        is very large (the thresholds' anomaly_cause_z / anomaly_high_z)."""
        assert self.names is not None
        # A row from before a metric joined is shorter: its metrics are the first ones.
        z = np.abs(np.sign(f) * np.expm1(np.abs(f))).reshape(-1, len(FEATURES))
        per_metric = z.max(axis=1)
        order = np.argsort(-per_metric)
        causes = tuple(
            FEATURE_TYPES[self.names[i]] for i in order if per_metric[i] >= self.th.anomaly_cause_z
        )
        top = float(per_metric[order[0]])
        severity: Severity = "HIGH" if top >= self.th.anomaly_high_z else "MEDIUM"
        return severity, causes or (FEATURE_TYPES[self.names[order[0]]],)


def _every(ok: BoolArray) -> BoolArray:
    """Rows (or the one row) whose every metric has its features; with no metric, none."""
    return np.asarray(ok.all(axis=-1) & (ok.shape[-1] > 0), dtype=bool)


def _row_by_row(
    b: SeriesBaseline, times: FloatArray, x: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """One metric's rows through `StreamingDetector.features`'s per-metric step, in turn."""
    z = np.zeros((len(x), 3))
    ok = np.zeros(len(x), dtype=bool)
    for i, (t, v) in enumerate(zip(times.tolist(), x.tolist(), strict=True)):
        if not math.isfinite(v) and len(b.values) >= b.s.min_history:
            ok[i] = True  # neutral: a missing value once the baseline is warm
        else:
            part = b.features(t, v)
            if part is not None:
                z[i], ok[i] = part, True
        b.push(t, v)
    return z, ok


def detect_series(metrics: Table, th: Thresholds) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Causal scores and flags for a whole table, as the dashboard would produce them row by
    row (refitting inline where the dashboard refits in the background)."""
    scores, flags, _ = StreamingDetector(th).score_rows(metrics, refit=True)
    return scores, flags
