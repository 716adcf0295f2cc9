"""The streaming anomaly detector the live dashboard (and `apm-tui detect`) uses.

Causal: each sample's features are computed against its metrics' rolling baselines of earlier
samples (`baseline.py`), scored by a forest fitted only on earlier samples' features, and judged
by an alarm that compares the recent scores with the earlier ones (`alarm.py`); so appending the
future never changes a past score or flag. The forest is refitted every `refit_every` samples on
the last `train_rows` samples' features. Until `DetectorSettings.warmup_rows` samples have been
seen the detector is warming up and flags nothing.

Fitting can happen elsewhere (`fit` is pure and returns a `Model`; the dashboard runs it in a
child process, `fit_isolated`), and the model is swapped in with `install` — scoring keeps
using the previous model until then. Nothing here flags by the contamination: it only caps the
alarm's flag rate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from apm_tui.analysis.alarm import Alarm, AlarmSettings
from apm_tui.analysis.anomaly import FEATURE_TYPES
from apm_tui.analysis.baseline import FEATURES, BaselineSettings, SeriesBaseline, squash
from apm_tui.analysis.baseline_block import features_block
from apm_tui.analysis.result import Anomaly, Severity
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table

BoolArray = npt.NDArray[np.bool_]


class FastForest:
    """Scores rows with the trees of a fitted IsolationForest, vectorised across trees.

    scikit-learn's `score_samples` costs ≈ 21 ms per call here even for one row (input
    validation and a joblib dispatch over 100 trees), which alone would take half the
    dashboard's 40 ms tick budget. The fitted trees are small (depth ≤ 8 for 256-row
    subsamples), so walking all of them at once with numpy costs well under a millisecond and
    gives the same scores (a test compares them with scikit-learn's).
    """

    def __init__(self, forest: Any) -> None:
        trees = [est.tree_ for est in forest.estimators_]
        n_nodes = max(t.node_count for t in trees)
        shape = (len(trees), n_nodes)
        self.left = np.full(shape, -1, dtype=np.int64)
        self.right = np.full(shape, -1, dtype=np.int64)
        self.feature = np.zeros(shape, dtype=np.int64)
        self.threshold = np.zeros(shape)
        self.leaf_path = np.zeros(shape)  # depth of the node + expected depth below a leaf
        for i, (tree, features) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
            n = tree.node_count
            self.left[i, :n] = tree.children_left
            self.right[i, :n] = tree.children_right
            # Tree features index the tree's own feature subset; map them back to columns.
            self.feature[i, :n] = np.asarray(features)[np.maximum(tree.feature, 0)]
            self.threshold[i, :n] = tree.threshold
            self.leaf_path[i, :n] = _node_depths(tree.children_left, tree.children_right) + (
                average_path_length(tree.n_node_samples.astype(float))
            )
        self.max_depth = int(max(t.max_depth for t in trees))
        self.norm = len(trees) * average_path_length(np.array([float(forest.max_samples_)]))[0]

    ARRAYS = ("left", "right", "feature", "threshold", "leaf_path")

    def arrays(self) -> dict[str, np.ndarray[Any, Any]]:
        """Everything scoring needs, as plain arrays (to cross a process boundary as .npz)."""
        out = {name: getattr(self, name) for name in self.ARRAYS}
        out["max_depth"] = np.array(self.max_depth)
        out["norm"] = np.array(self.norm)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray[Any, Any]]) -> FastForest:
        self = cls.__new__(cls)
        for name in cls.ARRAYS:
            setattr(self, name, np.asarray(arrays[name]))
        self.max_depth = int(arrays["max_depth"])
        self.norm = float(arrays["norm"])
        return self

    def score(self, x: FloatArray) -> FloatArray:
        """s(x) in 0–1 for each row (scikit-learn's -score_samples)."""
        # Flat indices (tree × width + node) into the raveled arrays: a 1-D take is half the
        # cost of indexing the 2-D arrays with (tree, node) pairs, for the same nodes.
        n_trees, width = self.left.shape
        left, right = self.left.ravel(), self.right.ravel()
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        base = (np.arange(n_trees) * width)[:, None]
        node = np.repeat(base, len(x), axis=1)
        x = np.ascontiguousarray(x)
        values = x.ravel()
        row_base = (np.arange(len(x)) * x.shape[1])[None, :]
        for _ in range(self.max_depth):
            child = left[node]
            inner = child >= 0
            if not inner.any():
                break
            go_left = values[row_base + feature[node]] <= threshold[node]
            nxt = np.where(go_left, child, right[node]) + base
            node = np.where(inner, nxt, node)
        depths = self.leaf_path.ravel()[node].sum(axis=0)
        return np.asarray(2.0 ** (-depths / self.norm), dtype=np.float64)


def average_path_length(n: FloatArray) -> FloatArray:
    """Expected path length of an unsuccessful BST search among n points (Liu et al. 2008)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _node_depths(left: np.ndarray[Any, Any], right: np.ndarray[Any, Any]) -> FloatArray:
    depth = np.zeros(len(left))
    for node in range(len(left)):  # children always have larger ids than their parent
        if left[node] >= 0:
            depth[left[node]] = depth[node] + 1
            depth[right[node]] = depth[node] + 1
    return depth


#: Above this many rows scikit-learn's own batched scoring is the faster of the two.
FAST_ROWS = 256


@dataclass(frozen=True)
class Model:
    forest: Any
    fast: FastForest
    names: tuple[str, ...]
    mean: FloatArray
    std: FloatArray
    trained_on: int


def fit(x: FloatArray, names: list[str], seed: int = 0) -> Model:
    from sklearn.ensemble import IsolationForest

    mean = x.mean(axis=0)
    std = np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
    forest = IsolationForest(n_estimators=100, contamination="auto", random_state=seed)
    forest.fit((x - mean) / std)
    return Model(forest, FastForest(forest), tuple(names), mean, std, len(x))


MODEL_ARRAYS = ("mean", "std")


def model_to_npz(model: Model) -> bytes:
    import io

    arrays: dict[str, Any] = {f"model_{name}": getattr(model, name) for name in MODEL_ARRAYS}
    arrays["model_trained_on"] = np.array(model.trained_on)
    arrays.update(model.fast.arrays())
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def model_from_npz(data: bytes, names: list[str]) -> Model:
    import io

    # allow_pickle=False: only plain arrays are read back, never objects.
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return Model(
        forest=None,
        fast=FastForest.from_arrays(arrays),
        names=tuple(names),
        mean=arrays["model_mean"],
        std=arrays["model_std"],
        trained_on=int(arrays["model_trained_on"]),
    )


def fit_isolated(x: FloatArray, names: list[str], seed: int = 0) -> Model:
    """`fit` in a short-lived child process, so the dashboard never imports scikit-learn.

    scikit-learn and SciPy add ≈ 88 MB to a process's resident memory here, more than half of
    the dashboard's 150 MB budget; the child pays it and exits. Only arrays cross back.
    """
    import io
    import subprocess
    import sys

    buf = io.BytesIO()
    np.savez(buf, x=x, seed=np.array(seed))
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui.analysis.fitworker"],
        input=buf.getvalue(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"model fit process failed: {tail[0]}")
    return model_from_npz(done.stdout, names)


def score(model: Model, x: FloatArray) -> FloatArray:
    z = (x - model.mean) / model.std
    if len(z) <= FAST_ROWS or model.forest is None:
        return model.fast.score(z)
    return np.asarray(-model.forest.score_samples(z), dtype=np.float64)


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


class StreamingDetector:
    """One row at a time, causally: features against each metric's rolling baseline
    (`baseline.py`), an IsolationForest over all metrics' features, and the likelihood alarm
    (`alarm.py`). Row i's score and flag depend only on rows < i and its own values.

    The forest is refitted every `refit_every` rows on the last `train_rows` rows' features;
    the caller may fit elsewhere (`training_rows` → `fit` → `install`), and scoring keeps the
    previous forest until then. It watches the metrics of the first rows it sees, and any
    that appear later (a host's CPU beside a log whose backlog came first): those join at the
    end of the feature row, the current forest goes on scoring the features it knows, and a
    refit that knows them all is due as soon as enough rows have every feature.
    """

    def __init__(
        self, th: Thresholds, settings: DetectorSettings | None = None, *, seed: int = 0
    ) -> None:
        self.th = th
        self.s = settings or detector_settings(th)
        self.seed = seed
        self.model: Model | None = None
        self.names: tuple[str, ...] | None = None
        self.baselines: list[SeriesBaseline] = []
        self.alarm = Alarm(self.s.alarm)
        self.train: deque[FloatArray] = deque(maxlen=self.s.train_rows)
        self.train_times: deque[float] = deque(maxlen=self.s.train_rows)
        self.seen = 0
        self._since_fit = 0
        self.fits = 0
        # (raw score, time, features) of the rows the alarm's average covers
        self._recent: deque[tuple[float, float, FloatArray]] = deque(maxlen=self.s.alarm.avg_window)

    @property
    def status(self) -> str:
        need = self.s.warmup_rows
        if self.seen < need:
            return f"warming up: {self.seen} / {need} samples"
        if self.model is None:
            # Every sample seen, too few of them with all their metrics to learn from (a log's
            # metrics come once a minute beside the host's every tick: their baselines warm
            # up minute by minute).
            return f"warming up: {len(self.train)} / {self.s.min_train} samples with every metric"
        return "ok"

    @property
    def feature_names(self) -> list[str]:
        return [f"{name}:{kind}" for name in self.names or () for kind in FEATURES]

    def training_rows(self, metrics: Table | None = None) -> tuple[FloatArray, list[str]] | None:
        """The rows a refit should use now, or None when it is not time to refit. (The
        detector keeps its own feature rows; `metrics` is accepted for the engine's call.)"""
        due = (
            self.model is None
            or self._since_fit >= self.s.refit_every
            or len(self.model.names) < len(self.feature_names)
        )
        if not due or len(self.train) < self.s.min_train:
            return None
        return np.asarray(self.train), self.feature_names

    def fit_started(self) -> None:
        """A fit is on its way (on another thread): do not ask for another until it lands."""
        self._since_fit = 0

    def install(self, model: Model) -> None:
        self.model = model
        self._since_fit = 0
        self.fits += 1

    def refit_now(self) -> None:
        rows = self.training_rows()
        if rows is not None:
            self.install(fit(rows[0], rows[1], self.seed + self.fits))

    def _watch(self, metrics: Table) -> None:
        """Watch the metrics with values in these rows that are not watched yet."""
        known = self.names or ()
        new = [
            name
            for name in FEATURE_TYPES
            if name not in known
            and name in metrics
            and np.isfinite(np.asarray(metrics[name], dtype=float)).any()
        ]
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

    def _scoreable(self, ok: BoolArray) -> BoolArray:
        """Rows whose features the current forest can score: those of the metrics it knows
        (a metric that joined later may still be warming up)."""
        known = len(self.model.names) // len(FEATURES) if self.model is not None else ok.shape[-1]
        return _every(ok[..., :known])

    def score_new(self, metrics: Table) -> tuple[FloatArray, list[Anomaly]]:
        """Score new rows (likelihood 0–1, NaN while warming up); return their scores and the
        anomalies among them. The dashboard fits in another process and calls `install`."""
        scores, _, found = self.score_rows(metrics)
        return scores, found

    def score_rows(
        self, metrics: Table, *, refit: bool = False
    ) -> tuple[FloatArray, npt.NDArray[np.bool_], list[Anomaly]]:
        """Scores, flags and anomalies of new rows; with `refit`, refit inline when due (what
        `apm-tui detect` does, where the dashboard refits in the background)."""
        n = len(metrics)
        scores = np.full(n, np.nan)
        flags = np.zeros(n, dtype=bool)
        if n == 0:
            return scores, flags, []
        self._watch(metrics)
        assert self.names is not None
        times = np.asarray(metrics["timestamp"], dtype=float)
        # A watched metric may be missing from a batch (a quiet log beside the host's
        # metrics): its values are missing, which is neutral once its baseline is warm.
        cols = [
            np.asarray(metrics[m], dtype=float) if m in metrics else np.full(n, np.nan)
            for m in self.names
        ]
        rows = np.column_stack(cols) if cols else np.empty((n, 0))
        found: list[Anomaly] = []
        # Features row by row (each row joins the baselines), the forest once per run of rows
        # under one model (one call costs about what 60 rows do), then the alarm in row order.
        pending: list[tuple[int, float, FloatArray | None]] = []

        def flush() -> None:
            ready = [f for _, _, f in pending if f is not None]
            raws = iter(self.raw_score(np.vstack(ready)) if ready and self.model else ())
            scored = [
                next(raws) if f is not None and self.model is not None else math.nan
                for _, _, f in pending
            ]
            verdicts = self.alarm.update_many(scored)
            for (i, t, f), raw, (likelihood, flag) in zip(pending, scored, verdicts, strict=True):
                if f is not None and self.model is not None:
                    self._recent.append((raw, t, f))
                scores[i], flags[i] = likelihood, flag
                if flag:
                    found.append(self.anomaly(self._recent, likelihood))
            pending.clear()

        if refit:
            for i in range(n):
                flush()
                self.refit_now()
                self.seen += 1
                self._since_fit += 1
                t = float(times[i])
                z_row, ok_row = self.features(t, rows[i])
                if _every(ok_row):
                    self.train.append(z_row)
                    self.train_times.append(t)
                pending.append((i, t, z_row if self._scoreable(ok_row) else None))
        else:
            # Without inline refits nothing between rows reads the counters: the whole block's
            # features at once (`features_block`), the same values as row by row.
            self.seen += n
            self._since_fit += n
            z, ok = self.features_block(times, rows)
            full, scoreable = _every(ok), self._scoreable(ok)
            for i in range(n):
                t = float(times[i])
                if full[i]:
                    self.train.append(z[i])
                    self.train_times.append(t)
                pending.append((i, t, z[i] if scoreable[i] else None))
        flush()
        return scores, flags, found

    def raw_score(self, x: FloatArray) -> list[float]:
        """The forest's score plus `z_weight` × the largest |feature|: an isolation forest
        scores every point past its training range about the same (≈ 0.65 here, whether CPU
        is 5 or 50 standard deviations off), which hid short, huge incidents of one metric."""
        assert self.model is not None
        x = x[:, : len(self.model.names)]  # a metric newer than the forest waits for a refit
        forest = score(self.model, x)
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
        if self.model is None or not self.train:
            return []
        x = np.asarray(self.train)
        raw = np.asarray(self.raw_score(x))
        alarm = Alarm(self.s.alarm)
        recent: deque[tuple[float, float, FloatArray]] = deque(maxlen=self.s.alarm.avg_window)
        found = []
        raws = raw.tolist()
        warm = self.s.alarm.score_window  # the first ones one by one, until its history is full
        verdicts = [alarm.update(r) for r in raws[:warm]] + alarm.update_many(raws[warm:])
        for f, t, r, (likelihood, flagged) in zip(x, self.train_times, raws, verdicts, strict=True):
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
