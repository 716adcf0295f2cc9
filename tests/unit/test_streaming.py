from __future__ import annotations

import numpy as np
import pytest

from apm_tui.analysis.forest import FastForest, fit, score
from apm_tui.analysis.streaming import FEATURE_TYPES, StreamingDetector, detect_series
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


def series(n: int, spike_at: int | None = None, seed: int = 1) -> Table:
    rng = np.random.default_rng(seed)
    cpu = 40 + rng.normal(0, 2, n)
    rt = 100 + rng.normal(0, 5, n)
    if spike_at is not None:
        cpu[spike_at : spike_at + 3] = 99.0
        rt[spike_at : spike_at + 3] = 900.0
    return Table({"timestamp": np.arange(n) * 60.0, "cpu_pct": cpu, "response_time_ms": rt})


def test_detector_warms_up_then_flags_a_spike_with_its_causes() -> None:
    det = StreamingDetector(Thresholds())
    need = det.s.warmup_rows
    data = series(900, spike_at=700)
    scores, flags, found = det.score_rows(data.take(slice(0, 10)), refit=True)
    assert np.isnan(scores).all() and not flags.any() and not found
    assert det.status == f"warming up: 10 / {need} samples"
    scores, flags, found = det.score_rows(data.take(slice(10, 900)), refit=True)
    assert det.status == "ok" and det.fits >= 2
    assert np.isfinite(scores[need:]).all()
    assert [a.timestamp for a in found] == [700 * 60.0]  # one alarm for the incident, no other
    assert found[0].severity == "HIGH"
    assert set(found[0].types) >= {"CPU", "response time"}
    assert flags.sum() == 1


def test_detection_is_causal() -> None:
    th = Thresholds()
    base = series(700, spike_at=600)
    longer = Table({k: np.concatenate([base[k], base[k][:300] + 50]) for k in base.names})
    longer = Table({**longer.columns(), "timestamp": np.arange(1000) * 60.0})
    a_scores, a_flags = detect_series(base, th)
    b_scores, b_flags = detect_series(longer, th)
    assert np.array_equal(np.isnan(a_scores), np.isnan(b_scores[:700]))
    assert np.array_equal(a_scores[~np.isnan(a_scores)], b_scores[:700][~np.isnan(a_scores)])
    assert np.array_equal(a_flags, b_flags[:700])


def test_quiet_noise_raises_almost_no_alarms() -> None:
    """A flag rate at the contamination (5 %) would be 150 alarms here; noise deserves ~none."""
    _, flags = detect_series(series(3000, seed=9), Thresholds())
    assert flags.sum() <= 3


def test_gaps_duplicates_and_missing_values_do_not_flood() -> None:
    data = series(1500, seed=4)
    t = np.array(data["timestamp"])
    t[800:] += 6 * 3600  # a six-hour gap
    t[900:920] = t[900]  # twenty duplicate timestamps
    cpu = np.array(data["cpu_pct"])
    cpu[1000:1010] = np.nan  # missing values: scored as missing, not dropped
    gappy = Table({**data.columns(), "timestamp": t, "cpu_pct": cpu})
    scores, flags = detect_series(gappy, Thresholds())
    assert len(scores) == 1500 and flags.sum() <= 3
    _, clean = detect_series(data, Thresholds())
    assert abs(int(flags.sum()) - int(clean.sum())) <= 2


def test_the_history_is_scored_once_the_first_model_lands() -> None:
    det = StreamingDetector(Thresholds())
    data = series(600, spike_at=450)
    # No model yet: the rows build the baselines and the training rows.
    det.score_rows(data, catch_up=True)
    assert det.model is None and not det.score_history()
    det.refit_now()
    found = det.score_history()
    assert [a.timestamp for a in found] == [450 * 60.0]


def test_a_model_fitted_in_a_child_process_scores_like_one_fitted_here() -> None:
    from apm_tui.analysis.forest import fit_all_isolated

    x = np.random.default_rng(4).normal(size=(1500, 3))
    names = ["cpu_pct", "memory_pct", "db_query_ms"]
    here = fit(x, names, seed=7)
    (there,) = fit_all_isolated([(x, names, 7)])
    assert there.forest is None and there.names == tuple(names)
    probe = np.vstack([x[:100], x[:20] * 6])
    assert np.allclose(score(here, probe), score(there, probe), atol=1e-12)


def test_fits_that_queued_up_go_in_one_child_process() -> None:
    from apm_tui.analysis.forest import fit_all_isolated

    rng = np.random.default_rng(5)
    jobs = [
        (rng.normal(size=(600, 3)), ["a", "b", "c"], 1),
        (rng.normal(size=(400, 2)), ["d", "e"], 2),
    ]
    models = fit_all_isolated(jobs)
    assert [m.names for m in models] == [("a", "b", "c"), ("d", "e")]
    for (x, names, seed), there in zip(jobs, models, strict=True):
        assert there.trained_on == len(x)
        assert np.array_equal(score(fit(x, names, seed), x[:50] * 3), score(there, x[:50] * 3))


def test_a_failing_fit_process_is_one_clear_error() -> None:
    from apm_tui.analysis.forest import fit_all_isolated

    with pytest.raises(RuntimeError, match="model fit process failed"):
        fit_all_isolated([(np.empty((0, 3)), ["a", "b", "c"], 0)])


def test_an_interrupted_wait_for_a_fit_process_kills_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while `apm-tui report` waits for its fit: the child went on fitting alone."""
    import subprocess

    from apm_tui.analysis.forest import Children, fit_all_isolated

    started: list[subprocess.Popen[bytes]] = []

    class Seen(Children):
        def add(self, proc: subprocess.Popen[bytes]) -> None:
            started.append(proc)
            super().add(proc)

    def interrupted(self: subprocess.Popen[bytes], *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit_all_isolated([(np.zeros((300, 2)), ["a", "b"], 0)], Seen())
    (proc,) = started
    assert proc.wait(timeout=5) == -9  # killed, not left to finish


def test_a_missing_value_leaves_the_rows_other_metrics_scored() -> None:
    """A minute without requests has no response time; its throughput is still judged."""
    det = StreamingDetector(Thresholds())
    data = series(900, spike_at=700)
    rt = np.array(data["response_time_ms"])
    rt[600:650] = np.nan
    scores, _, _ = det.score_rows(Table({**data.columns(), "response_time_ms": rt}), refit=True)
    assert np.isfinite(scores[600:650]).all()
    # Missing values do not join their metric's baseline.
    det2 = StreamingDetector(Thresholds())
    early = np.array(data["response_time_ms"])
    early[:20] = np.nan
    det2.score_rows(Table({**data.columns(), "response_time_ms": early}).take(slice(0, 40)))
    assert det2.baselines[det2.names.index("response_time_ms")].values.view().size == 20


def test_a_batch_without_a_watched_metric_is_scored_on_the_others() -> None:
    """Two sources, one quiet (a log with no new lines beside the host's metrics): its
    columns are absent from a tick's rows, which must not fail the tick."""
    det = StreamingDetector(Thresholds())
    data = series(900)
    det.score_rows(data.take(slice(0, 400)), refit=True)
    assert set(det.names) == {"cpu_pct", "response_time_ms"}
    rt = det.baselines[det.names.index("response_time_ms")]
    kept = rt.values.view().copy()
    later = data.take(slice(400, 450)).columns()
    del later["response_time_ms"]
    scores, _, _ = det.score_rows(Table(later), refit=True)
    assert np.isfinite(scores).all()  # judged on the CPU alone
    assert np.array_equal(rt.values.view(), kept)  # nothing made up joined its baseline


def test_a_metric_that_appears_later_is_watched_and_learned() -> None:
    """A log's backlog (requests only) comes before the host's first sample: the host's CPU
    joins the watched metrics, the forest of the requests scores on meanwhile, and the next
    fit learns both; then a CPU spike alone is an anomaly caused by the CPU."""
    det = StreamingDetector(Thresholds())
    data = series(1400, spike_at=1200)
    requests = data.columns()
    cpu = requests.pop("cpu_pct")
    det.score_rows(Table(requests).take(slice(0, 400)), refit=True)
    assert det.names == ("response_time_ms",) and det.model is not None
    first = det.model
    both = Table({**requests, "cpu_pct": cpu, "response_time_ms": 100.0 + 0 * cpu})
    scores, _, _ = det.score_rows(both.take(slice(400, 450)), refit=True)
    assert det.names == ("response_time_ms", "cpu_pct")
    assert det.model is first and np.isfinite(scores).all()  # the old forest, meanwhile
    _, _, found = det.score_rows(both.take(slice(450, 1400)), refit=True)
    assert det.model is not first and "cpu_pct:level" in det.model.names
    spike = [a for a in found if 1200 * 60.0 <= a.timestamp <= 1206 * 60.0]
    assert spike and spike[0].types[0] == FEATURE_TYPES["cpu_pct"]


def test_a_row_scores_the_same_alone_or_among_hundreds() -> None:
    """Rows that waited behind a slow fit are scored together; with the forest at hand
    (fitted here), scikit-learn's scoring took over above 256 rows, ≈ 1e-16 off the walk."""
    det = StreamingDetector(Thresholds())
    det.score_rows(series(600), refit=True)
    assert det.model is not None and det.model.forest is not None
    x = np.random.default_rng(2).normal(0, 2, size=(700, len(det.model.names)))
    together = det.raw_score(x)
    assert together == [det.raw_score(x[i : i + 1])[0] for i in range(len(x))]


def test_rows_waiting_for_a_model_give_their_anomalies_when_it_is_fitted_here() -> None:
    det = StreamingDetector(Thresholds())
    _, _, found = det.score_rows(series(700, spike_at=500))  # refits asked for, not fitted
    assert not found and det.waiting > 0 and det.model is None
    found = det.refit_now()
    assert det.waiting == 0 and [a.timestamp for a in found] == [500 * 60.0]
