"""NAB scoring on hand-made files: 100 rows one minute apart, one window over rows 40–49.

100 rows give a probationary period of 15 rows, so rows 0–14 are never scored.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from apm_tui.analysis.nab import (
    STANDARD,
    FileScore,
    normalised,
    parse_timestamp,
    parse_windows,
    probation_rows,
    scaled_sigmoid,
    score_file,
)

N = 100
TIMES = np.arange(N) * 60.0
WINDOW = [(40 * 60.0, 49 * 60.0)]


def detections(*rows: int) -> np.ndarray:
    out = np.zeros(N, dtype=bool)
    out[list(rows)] = True
    return out


def raw(*rows: int, windows: list[tuple[float, float]] = WINDOW) -> float:
    return score_file(TIMES, detections(*rows), windows).raw


def test_a_detection_at_the_left_edge_scores_tp_weight() -> None:
    assert STANDARD.tp_weight == 1.0
    assert raw(40) == pytest.approx(1.0)


def test_a_missed_window_costs_fn_weight() -> None:
    assert raw() == pytest.approx(-1.0)


def test_a_false_positive_before_any_window_costs_fp_weight() -> None:
    assert raw(20, windows=[]) == pytest.approx(-0.11)
    assert raw(20, 40) == pytest.approx(1.0 - 0.11)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    assert raw(40, 45, 49) == pytest.approx(1.0)
    later = raw(45)
    assert 0 < later < 1
    assert raw(45, 46, 47) == pytest.approx(later)


def test_later_in_the_window_scores_less_following_the_scaled_sigmoid() -> None:
    # Right edge: y = −1/10, divided by the left edge's σ(−1) so the left edge is exactly 1.
    expected = (2 / (1 + math.exp(-0.5)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert raw(49) == pytest.approx(expected)
    scores = [raw(i) for i in range(40, 50)]
    assert scores == sorted(scores, reverse=True)


def test_false_positives_after_a_window_cost_little_near_it_and_fp_weight_far_away() -> None:
    just_after = raw(40, 50) - 1.0
    assert -0.11 < just_after < 0
    assert raw(40, 99) - 1.0 == pytest.approx(-0.11)  # 50 rows past a 10-row window: y ≥ 3
    assert raw(40, 50, 60, 99) - 1.0 < just_after  # every false positive counts


def test_detections_in_the_probationary_period_are_ignored() -> None:
    assert probation_rows(N) == 15
    assert raw(0, 5, 14, windows=[]) == 0.0
    assert raw(3, 40) == pytest.approx(1.0)
    assert raw(15, windows=[]) == pytest.approx(-0.11)


def test_a_window_inside_the_probationary_period_is_not_scored() -> None:
    result = score_file(TIMES, detections(), [(2 * 60.0, 8 * 60.0)])
    assert (result.raw, result.null, result.perfect, result.windows) == (0.0, 0.0, 0.0, 0)


def test_probation_is_capped_at_750_rows() -> None:
    assert probation_rows(4032) == 604
    assert probation_rows(100_000) == 750


def test_null_and_perfect_detectors_normalise_to_0_and_100() -> None:
    windows = [(20 * 60.0, 29 * 60.0), (60 * 60.0, 69 * 60.0)]
    perfect = [
        score_file(TIMES, detections(20, 60), windows),
        score_file(TIMES, detections(40), WINDOW),
    ]
    null = [score_file(TIMES, detections(), windows), score_file(TIMES, detections(), WINDOW)]
    assert perfect[0].perfect == pytest.approx(2.0)
    assert perfect[0].raw == pytest.approx(2.0)
    assert null[0].raw == null[0].null == -2.0
    assert normalised(perfect) == pytest.approx(100.0)
    assert normalised(null) == pytest.approx(0.0)
    half = [score_file(TIMES, detections(20), windows)]
    assert normalised(half) == pytest.approx(50.0)


def test_normalised_without_windows_is_nan() -> None:
    assert math.isnan(normalised([FileScore(-0.11, 0.0, 0.0, 0, 0, 1)]))


def test_scaled_sigmoid_matches_nab() -> None:
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0


def test_nab_label_timestamps_parse_as_utc() -> None:
    assert parse_timestamp("2014-02-19 00:22:00.000000") == 1_392_769_320.0
    assert parse_windows([["2014-02-19 00:22:00.000000", "2014-02-19 00:27:00"]]) == [
        (1_392_769_320.0, 1_392_769_620.0)
    ]


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        score_file(TIMES, np.zeros(3, dtype=bool), WINDOW)
