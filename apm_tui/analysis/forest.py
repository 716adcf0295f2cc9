"""The anomaly model: an IsolationForest fitted on feature rows, and a fast way to score it.

`fit` is pure and returns a `Model`; `fit_all_isolated` runs fits in a short-lived child process
(`fitworker.py`) so the dashboard never imports scikit-learn, and only plain arrays cross back
(`models_to_npz`). `score` walks the fitted trees with numpy (`FastForest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apm_tui.model import FloatArray


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
        # Each row's depths summed along a contiguous row: numpy adds them in the same order
        # whatever the number of rows, so a row scores the same alone or in any block (summed
        # down the trees axis, a lone row was added pairwise and a block's rows in sequence,
        # ≈ 1e-16 apart, and a replay's 64-row ticks could differ from live's single rows).
        depths = np.ascontiguousarray(self.leaf_path.ravel()[node].T).sum(axis=1)
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

#: One fit's training rows, feature names and seed.
FitJob = tuple[FloatArray, list[str], int]


def fit_all(jobs: list[FitJob]) -> list[Model]:
    """`fit` of each job, here."""
    return [fit(x, names, seed) for x, names, seed in jobs]


def models_to_npz(models: list[Model]) -> bytes:
    import io

    arrays: dict[str, Any] = {"count": np.array(len(models))}
    for i, model in enumerate(models):
        parts = {f"model_{name}": getattr(model, name) for name in MODEL_ARRAYS}
        parts["model_trained_on"] = np.array(model.trained_on)
        parts.update(model.fast.arrays())
        arrays.update({f"{i}_{k}": v for k, v in parts.items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def models_from_npz(data: bytes, names: list[list[str]]) -> list[Model]:
    import io

    # allow_pickle=False: only plain arrays are read back, never objects.
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        every = {k: z[k] for k in z.files}
    if int(every["count"]) != len(names):
        raise RuntimeError(f"model fit process returned {int(every['count'])} models")
    models = []
    for i, job_names in enumerate(names):
        arrays = {k.split("_", 1)[1]: v for k, v in every.items() if k.startswith(f"{i}_")}
        models.append(
            Model(
                forest=None,
                fast=FastForest.from_arrays(arrays),
                names=tuple(job_names),
                mean=arrays["model_mean"],
                std=arrays["model_std"],
                trained_on=int(arrays["model_trained_on"]),
            )
        )
    return models


class Children:
    """The fit processes one caller has running, so that it can stop them when it leaves:
    the dashboard's `q` waited for a fit in flight (3.5 s against 0.3 s, measured 2026-12-07),
    because the thread that waits for it is joined when Python exits."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._running: set[Any] = set()
        self.stopped = False

    def add(self, proc: Any) -> None:
        with self._lock:
            self._running.add(proc)
            if self.stopped:
                proc.kill()

    def discard(self, proc: Any) -> None:
        with self._lock:
            self._running.discard(proc)

    def stop(self) -> None:
        """Kill the fits running now and any started from now on."""
        with self._lock:
            self.stopped = True
            for proc in self._running:
                proc.kill()


def fit_all_isolated(jobs: list[FitJob], children: Children | None = None) -> list[Model]:
    """`fit_all` in a short-lived child process, so the dashboard never imports scikit-learn.

    scikit-learn and SciPy add ≈ 88 MB to a process's resident memory here, more than half of
    the dashboard's 150 MB budget; the child pays it and exits. Only arrays cross back. Its
    start (the imports) is most of its cost, ≈ 2.5 s against ≈ 0.16 s a fit (2016 rows, 27
    features, measured 2026-12-07): fits that queued up behind one go in one child.
    """
    import io
    import subprocess
    import sys

    buf = io.BytesIO()
    arrays: dict[str, Any] = {"count": np.array(len(jobs))}
    for i, (x, _, seed) in enumerate(jobs):
        arrays[f"x{i}"], arrays[f"seed{i}"] = x, np.array(seed)
    np.savez(buf, **arrays)
    proc = subprocess.Popen(
        [sys.executable, "-m", "apm_tui.analysis.fitworker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if children is not None:
        children.add(proc)
    try:
        out, err = proc.communicate(buf.getvalue(), timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("model fit process took over 300 s") from None
    except BaseException:  # (Ctrl-C in `apm-tui report`, say: the child goes too)
        proc.kill()
        raise
    finally:
        if children is not None:
            children.discard(proc)
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"model fit process failed: {tail[0]}")
    return models_from_npz(out, [names for _, names, _ in jobs])


def score(model: Model, x: FloatArray) -> FloatArray:
    z = (x - model.mean) / model.std
    if len(z) <= FAST_ROWS or model.forest is None:
        return model.fast.score(z)
    return np.asarray(-model.forest.score_samples(z), dtype=np.float64)
