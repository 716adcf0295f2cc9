from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from apm_tui.analysis.apdex import apdex_counts, apdex_over_time
from apm_tui.analysis.latency import latency_stats


def test_new_relic_worked_example() -> None:
    # T = 0.5 s; 170 satisfied, 20 tolerating, 10 frustrated of 200 requests -> 0.90.
    durations = np.array([300.0] * 170 + [1200.0] * 20 + [2500.0] * 10)
    result = apdex_counts(durations, np.zeros(200, dtype=bool), t_ms=500.0)
    assert (result.satisfied, result.tolerating, result.frustrated) == (170, 20, 10)
    assert result.score == 0.90


def test_boundaries_are_inclusive_and_errors_are_frustrated() -> None:
    durations = np.array([100.0, 400.0, 400.1, 10.0])
    errors = np.array([False, False, False, True])
    result = apdex_counts(durations, errors, t_ms=100.0)
    assert (result.satisfied, result.tolerating, result.frustrated) == (1, 1, 2)
    assert result.score == (1 + 0.5) / 4


def test_no_requests_has_no_score() -> None:
    result = apdex_counts(np.empty(0), np.empty(0, dtype=bool), t_ms=100.0)
    assert np.isnan(result.score) and result.requests == 0


def test_apdex_over_time_buckets() -> None:
    times = np.array([0.0, 10.0, 70.0, 80.0])
    durations = np.array([50.0, 500.0, 50.0, 50.0])
    starts, scores = apdex_over_time(times, durations, np.zeros(4, dtype=bool), 100.0, 60.0)
    assert list(starts) == [0.0, 60.0]
    assert list(scores) == [0.5, 1.0]


def test_percentiles_match_the_reference_numbers() -> None:
    values = np.array([15.0, 20.0, 35.0, 40.0, 50.0])
    # numpy's default "linear" method: P30 = 23, P40 = 29 (nearest-rank would say 20 and 20).
    assert np.percentile(values, 30) == 23.0
    assert np.percentile(values, 40) == 29.0
    # ... and nearest-rank, for the record, is numpy's "inverted_cdf".
    assert [np.percentile(values, q, method="inverted_cdf") for q in (30, 40, 50)] == [20, 20, 35]
    stats = latency_stats(values)
    assert stats.p50 == 35.0
    assert stats.avg == 32.0
    assert stats.count == 5


def test_latency_ignores_missing_values() -> None:
    stats = latency_stats(np.array([np.nan, 10.0, 20.0]))
    assert stats.count == 2 and stats.avg == 15.0
    assert np.isnan(latency_stats(np.array([np.nan])).p95)


finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(arrays(np.float64, st.integers(1, 300), elements=finite))
def test_percentiles_are_ordered(values: np.ndarray) -> None:
    s = latency_stats(values)
    assert s.p50 <= s.p95 <= s.p99 <= values.max()


@given(arrays(np.float64, st.integers(1, 300), elements=finite), st.floats(1, 1000))
def test_apdex_is_a_share(values: np.ndarray, t: float) -> None:
    errors = values > 900_000
    r = apdex_counts(values, errors, t)
    assert 0.0 <= r.score <= 1.0
    assert r.satisfied + r.tolerating + r.frustrated == values.size
