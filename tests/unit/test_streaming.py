from __future__ import annotations

import numpy as np
import pytest

from apm_tui.analysis.streaming import FastForest, StreamingDetector, detect_series, fit, score
from apm_tui.config import Thresholds
from apm_tui.model import Table


def test_fast_forest_matches_scikit_learn() -> None:
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 6))
    forest = IsolationForest(random_state=5).fit(x)
    fast = FastForest(forest)
    probe = np.vstack([x[:50], rng.normal(0, 5, size=(50, 6))])
    assert np.allclose(fast.score(probe), -forest.score_samples(probe), atol=1e-12)


def series(n: int, spike_at: int | None = None) -> Table:
    rng = np.random.default_rng(1)
    cpu = 40 + rng.normal(0, 2, n)
    rt = 100 + rng.normal(0, 5, n)
    if spike_at is not None:
        cpu[spike_at] = 99.0
        rt[spike_at] = 900.0
    return Table({"timestamp": np.arange(n) * 60.0, "cpu_pct": cpu, "response_time_ms": rt})


def test_detector_warms_up_then_flags_a_spike_with_its_causes() -> None:
    th = Thresholds()
    det = StreamingDetector(th, min_samples=64)
    history = series(300, spike_at=250)
    scores, found = det.score_new(history.take(slice(0, 10)))
    assert np.isnan(scores).all() and not found
    assert det.status == "warming up (10 / 64 samples)"
    det.refit_now(history.take(slice(0, 200)))
    assert det.status == "ok"
    scores, found = det.score_new(history.take(slice(200, 300)))
    assert np.isfinite(scores).all()
    spike = [a for a in found if a.timestamp == 250 * 60.0]
    assert spike and spike[0].severity == "HIGH"
    assert set(spike[0].types) >= {"CPU", "response time"}


def test_detection_is_causal() -> None:
    th = Thresholds()
    base = series(600)
    longer = Table({k: np.concatenate([base[k], base[k][:300] + 50]) for k in base.names})
    a = detect_series(base, th)
    b = detect_series(longer, th)[:600]
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)])


def test_threshold_keeps_the_training_flag_rate_at_the_contamination() -> None:
    x = np.random.default_rng(2).normal(size=(4000, 3))
    model = fit(x, ["cpu_pct", "memory_pct", "db_query_ms"], contamination=0.05)
    rate = float(np.mean(score(model, x) > model.threshold))
    assert rate == pytest.approx(0.05, abs=0.005)


def test_a_model_fitted_in_a_child_process_scores_like_one_fitted_here() -> None:
    from apm_tui.analysis.streaming import fit_isolated

    x = np.random.default_rng(4).normal(size=(1500, 3))
    names = ["cpu_pct", "memory_pct", "db_query_ms"]
    here = fit(x, names, 0.05, seed=7)
    there = fit_isolated(x, names, 0.05, seed=7)
    assert there.forest is None and there.names == tuple(names)
    probe = np.vstack([x[:100], x[:20] * 6])
    assert np.allclose(score(here, probe), score(there, probe), atol=1e-12)
    assert there.threshold == pytest.approx(here.threshold)


def test_a_failing_fit_process_is_one_clear_error() -> None:
    from apm_tui.analysis.streaming import fit_isolated

    with pytest.raises(RuntimeError, match="model fit process failed"):
        fit_isolated(np.empty((0, 3)), ["a", "b", "c"], 0.05)
