"""The streaming anomaly detector the live dashboard (and `apm-tui detect`) uses.

Causal: each new sample is scored by a forest fitted only on samples that came before it, so
appending the future never changes a past score. The forest is refitted every `refit_every`
samples on the last `max_train` samples; the threshold is the (1 − contamination) quantile of the
training samples' scores, so the flag rate stays at the contamination on data like the training
data. Until `min_samples` have been seen the detector is warming up and flags nothing.

Fitting can happen on another thread (`fit` is pure: it returns a `Model`), and the model is
swapped in with `install` — scoring keeps using the previous model until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apm_tui.analysis.anomaly import FEATURE_TYPES, feature_matrix
from apm_tui.analysis.result import Anomaly, Severity
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table


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
        n_trees = self.left.shape[0]
        tree_idx = np.arange(n_trees)[:, None]
        node = np.zeros((n_trees, len(x)), dtype=np.int64)
        rows = np.arange(len(x))[None, :]
        for _ in range(self.max_depth):
            left = self.left[tree_idx, node]
            inner = left >= 0
            if not inner.any():
                break
            value = x[rows, self.feature[tree_idx, node]]
            go_left = value <= self.threshold[tree_idx, node]
            nxt = np.where(go_left, left, self.right[tree_idx, node])
            node = np.where(inner, nxt, node)
        depths = self.leaf_path[tree_idx, node].sum(axis=0)
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
    median: FloatArray
    mad: FloatArray
    threshold: float
    trained_on: int


def fit(x: FloatArray, names: list[str], contamination: float, seed: int = 0) -> Model:
    from sklearn.ensemble import IsolationForest

    mean = x.mean(axis=0)
    std = np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
    median = np.median(x, axis=0)
    mad = np.median(np.abs(x - median), axis=0) * 1.4826
    mad = np.where(mad > 1e-12, mad, std)
    forest = IsolationForest(n_estimators=100, contamination="auto", random_state=seed)
    z = (x - mean) / std
    forest.fit(z)
    threshold = float(np.quantile(-forest.score_samples(z), 1.0 - contamination))
    return Model(
        forest, FastForest(forest), tuple(names), mean, std, median, mad, threshold, len(x)
    )


MODEL_ARRAYS = ("mean", "std", "median", "mad")


def model_to_npz(model: Model) -> bytes:
    import io

    arrays: dict[str, Any] = {f"model_{name}": getattr(model, name) for name in MODEL_ARRAYS}
    arrays["model_threshold"] = np.array(model.threshold)
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
        median=arrays["model_median"],
        mad=arrays["model_mad"],
        threshold=float(arrays["model_threshold"]),
        trained_on=int(arrays["model_trained_on"]),
    )


def fit_isolated(x: FloatArray, names: list[str], contamination: float, seed: int = 0) -> Model:
    """`fit` in a short-lived child process, so the dashboard never imports scikit-learn.

    scikit-learn and SciPy add ≈ 88 MB to a process's resident memory here, more than half of
    the dashboard's 150 MB budget; the child pays it and exits. Only arrays cross back.
    """
    import io
    import subprocess
    import sys

    buf = io.BytesIO()
    np.savez(buf, x=x, contamination=np.array(contamination), seed=np.array(seed))
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


def explain(model: Model, row: FloatArray, th: Thresholds) -> tuple[Severity, tuple[str, ...]]:
    z = (row - model.median) / model.mad
    order = np.argsort(-np.abs(z))
    names = model.names
    causes = tuple(FEATURE_TYPES[names[i]] for i in order if abs(z[i]) >= th.anomaly_cause_z)
    severity: Severity = "HIGH" if abs(z[order[0]]) >= th.anomaly_high_z else "MEDIUM"
    return severity, causes or (FEATURE_TYPES[names[order[0]]],)


class StreamingDetector:
    def __init__(
        self,
        th: Thresholds,
        *,
        min_samples: int = 64,
        refit_every: int = 240,
        max_train: int = 4096,
        seed: int = 0,
    ) -> None:
        self.th = th
        self.min_samples = min_samples
        self.refit_every = refit_every
        self.max_train = max_train
        self.seed = seed
        self.model: Model | None = None
        self.seen = 0
        self._since_fit = 0

    @property
    def status(self) -> str:
        if self.model is None:
            return f"warming up ({min(self.seen, self.min_samples)} / {self.min_samples} samples)"
        return "ok"

    def training_rows(self, metrics: Table) -> tuple[FloatArray, list[str]] | None:
        """The rows a refit should use now, or None when it is not time to refit."""
        due = self.model is None or self._since_fit >= self.refit_every
        if not due or len(metrics) < self.min_samples:
            return None
        # Every k-th row of the whole history, not its last rows: at one sample a second the
        # last 4,096 samples are barely an hour, and a model of one hour calls the rest of the
        # day (its other traffic levels) anomalous.
        step = max(1, -(-len(metrics) // self.max_train))
        rows = metrics if step == 1 else metrics.take(slice(len(metrics) - 1, None, -step))
        x, names = feature_matrix(rows)
        return (x, names) if names else None

    def count_unscored(self, n: int) -> None:
        """History that arrived before scoring began still counts towards warming up."""
        self.seen += n

    def fit_started(self) -> None:
        """A fit is on its way (on another thread): do not ask for another until it lands."""
        self._since_fit = 0

    def install(self, model: Model) -> None:
        self.model = model
        self._since_fit = 0

    def refit_now(self, history: Table) -> None:
        rows = self.training_rows(history)
        if rows is not None:
            self.install(fit(rows[0], rows[1], self.th.contamination, self.seed))

    def score_new(self, metrics: Table) -> tuple[FloatArray, list[Anomaly]]:
        """Score new rows (NaN while warming up); return their scores and the anomalies among them.

        The caller refits (now or on another thread) between calls; the rows scored here were
        never part of the model's training data.
        """
        n = len(metrics)
        self.seen += n
        self._since_fit += n
        scores = np.full(n, np.nan)
        model = self.model
        if model is None or n == 0:
            return scores, []
        cols: list[FloatArray] = []
        for name in model.names:
            col = np.asarray(metrics[name], dtype=np.float64) if name in metrics else None
            if col is None:
                col = np.full(n, np.nan)
            cols.append(np.where(np.isfinite(col), col, model.median[len(cols)]))
        x = np.column_stack(cols)
        scores = score(model, x)
        found = []
        for i in np.flatnonzero(scores > model.threshold):
            severity, causes = explain(model, x[i], self.th)
            found.append(
                Anomaly(float(metrics["timestamp"][i]), float(scores[i]), severity, causes)
            )
        return scores, found


def detect_series(
    metrics: Table, th: Thresholds, *, min_samples: int = 64, refit_every: int = 240
) -> FloatArray:
    """Causal scores for a whole table, as the dashboard would have produced them tick by tick."""
    detector = StreamingDetector(th, min_samples=min_samples, refit_every=refit_every)
    out = np.full(len(metrics), np.nan)
    i = 0
    while i < len(metrics):
        detector.refit_now(metrics.take(slice(0, i)))
        step = detector.refit_every if detector.model else max(detector.min_samples - i, 1)
        chunk = metrics.take(slice(i, i + step))
        out[i : i + len(chunk)], _ = detector.score_new(chunk)
        i += len(chunk)
    return out
