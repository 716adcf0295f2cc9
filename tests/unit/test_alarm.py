"""The alarm's block path gives, bit for bit, what scoring one row at a time gives."""

from __future__ import annotations

import numpy as np
import pytest

from apm_tui.analysis.alarm import Alarm, AlarmSettings


def scores(seed: int, n: int) -> list[float]:
    rng = np.random.default_rng(seed)
    x = 0.45 + 0.05 * rng.standard_normal(n)
    x[rng.integers(0, n, n // 50)] = np.nan  # missing scores
    for start in rng.integers(1200, n - 20, 6):  # incidents: runs of high scores
        x[start : start + 12] += rng.uniform(0.2, 0.6)
    return [float(v) for v in x]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("block", [1, 7, 64, 500])
def test_update_many_is_update_row_by_row(seed: int, block: int) -> None:
    s = AlarmSettings(refractory=10)  # short: many flags to compare
    values = scores(seed, 4000)
    one, many = Alarm(s), Alarm(s)
    expected = [one.update(v) for v in values]
    got = []
    for start in range(0, len(values), block):
        got.extend(many.update_many(values[start : start + block]))
    assert len(got) == len(expected)
    for (la, fa), (lb, fb) in zip(expected, got, strict=True):
        assert fa == fb
        assert np.array_equal(np.float64(la), np.float64(lb), equal_nan=True)
    assert sum(f for _, f in got) >= 3  # the incidents were flagged, by both
    assert (one.rows, one.flags, one.since_flag) == (many.rows, many.flags, many.since_flag)
    assert np.array_equal(one.history.view(), many.history.view())
