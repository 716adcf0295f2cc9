"""Anomalies in the metric samples: IsolationForest over the six features, explained by robust z.

IsolationForest says *that* a sample is unusual; it does not say why. Each flagged sample is
explained by the features that sit furthest from their median in robust sigmas (MAD × 1.4826),
which is also what makes a HIGH (a leading feature ≥ `anomaly_high_z` sigmas out) or MEDIUM.
scikit-learn is imported here, lazily, because it costs ≈ 0.75 s and the first frame must not wait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apm_tui.analysis.result import Anomaly, Severity
from apm_tui.config import Thresholds
from apm_tui.model import METRIC_FIELDS, FloatArray, Table

#: What each feature is called when it explains an anomaly.
FEATURE_TYPES: dict[str, str] = {
    "response_time_ms": "response time",
    "throughput_rps": "throughput",
    "cpu_pct": "CPU",
    "memory_pct": "memory",
    "db_query_ms": "DB",
    "error_rate_pct": "errors",
}

#: Fewer samples than this and a forest of 100 trees is guessing.
MIN_SAMPLES = 32

#: Rows the forest is fitted on at most; all rows are scored.
FIT_ROWS = 4096


@dataclass(frozen=True, slots=True)
class Detection:
    anomalies: tuple[Anomaly, ...]
    scores: FloatArray  # one anomaly score per sample (NaN when detection did not run)
    status: str  # "ok" or why it did not run


def feature_matrix(metrics: Table) -> tuple[FloatArray, list[str]]:
    """The usable features (not all-NaN, not constant) with NaNs filled by the median."""
    names: list[str] = []
    cols: list[FloatArray] = []
    for name in METRIC_FIELDS:
        if name not in metrics:
            continue
        col = np.asarray(metrics[name], dtype=np.float64)
        finite = col[np.isfinite(col)]
        if finite.size == 0 or np.ptp(finite) == 0:
            continue
        cols.append(np.where(np.isfinite(col), col, np.median(finite)))
        names.append(name)
    if not cols:
        return np.empty((len(metrics), 0)), []
    return np.column_stack(cols), names


def robust_z(x: FloatArray) -> FloatArray:
    """Per-column (x - median) / (1.4826 · MAD); a column with MAD 0 falls back to its std."""
    med = np.median(x, axis=0)
    mad = np.median(np.abs(x - med), axis=0) * 1.4826
    std = x.std(axis=0)
    scale = np.where(mad > 1e-12, mad, np.where(std > 1e-12, std, 1.0))
    return np.asarray((x - med) / scale, dtype=np.float64)


def fit_scores(x: FloatArray, contamination: float, seed: int = 0) -> tuple[FloatArray, float]:
    """IsolationForest anomaly scores s(x) in 0–1 and the threshold for the contamination.

    The forest is fitted with contamination="auto" and the threshold taken as the score
    quantile ourselves: with a number, scikit-learn scores the training set a second time
    inside `fit` just to place its offset, which doubles the cost on a 30-day window.
    """
    from sklearn.ensemble import IsolationForest

    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    forest = IsolationForest(n_estimators=100, contamination="auto", random_state=seed)
    # Each tree sees 256 rows anyway; fitting on a subsample keeps the per-tree index drawing
    # from walking the whole 30-day window.
    rng = np.random.default_rng(seed)
    fit_rows = z if len(z) <= FIT_ROWS else z[rng.choice(len(z), FIT_ROWS, replace=False)]
    forest.fit(fit_rows)
    scores = -forest.score_samples(z)
    return scores, float(np.quantile(scores, 1.0 - contamination))


def explain(
    z_row: FloatArray, names: list[str], th: Thresholds
) -> tuple[Severity, tuple[str, ...]]:
    order = np.argsort(-np.abs(z_row))
    causes = tuple(FEATURE_TYPES[names[i]] for i in order if abs(z_row[i]) >= th.anomaly_cause_z)
    if not causes:
        causes = (FEATURE_TYPES[names[order[0]]],)
    severity: Severity = "HIGH" if abs(z_row[order[0]]) >= th.anomaly_high_z else "MEDIUM"
    return severity, causes


def detect(metrics: Table, th: Thresholds, seed: int = 0) -> Detection:
    n = len(metrics)
    x, names = feature_matrix(metrics)
    if n < MIN_SAMPLES or not names:
        why = f"needs {MIN_SAMPLES} samples, has {n}" if n < MIN_SAMPLES else "no metric varies"
        return Detection((), np.full(n, np.nan), why)
    scores, threshold = fit_scores(x, th.contamination, seed)
    z = robust_z(x)
    flagged = np.flatnonzero(scores > threshold) if n else np.empty(0, dtype=int)
    ts = metrics["timestamp"]
    found: list[Anomaly] = []
    for i in flagged:
        severity, causes = explain(z[i], names, th)
        deviations = {FEATURE_TYPES[nm]: round(float(z[i, j]), 2) for j, nm in enumerate(names)}
        found.append(Anomaly(float(ts[i]), float(scores[i]), severity, causes, deviations))
    return Detection(tuple(found), scores, "ok")


def episodes(anomalies: tuple[Anomaly, ...], gap_s: float) -> list[list[Anomaly]]:
    """Group anomalies no more than `gap_s` apart into episodes (time-ordered)."""
    groups: list[list[Anomaly]] = []
    for a in sorted(anomalies, key=lambda a: a.timestamp):
        if groups and a.timestamp - groups[-1][-1].timestamp <= gap_s:
            groups[-1].append(a)
        else:
            groups.append([a])
    return groups


def dominant_type(group: list[Anomaly]) -> str:
    counts: dict[str, int] = {}
    for a in group:
        counts[a.types[0]] = counts.get(a.types[0], 0) + 1
    return max(counts, key=lambda k: counts[k])
