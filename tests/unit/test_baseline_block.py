"""The block featurisation gives exactly what the row-by-row path gives (bit for bit), on real
NAB series and on the awkward cases: gaps, missing values, warm-up inside a block, repeated
and backward timestamps (which go row by row), and blocks of every size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from apm_tui.analysis.baseline import BaselineSettings, SeriesBaseline
from apm_tui.analysis.baseline_block import features_block
from apm_tui.analysis.streaming import StreamingDetector
from apm_tui.config import Thresholds
from apm_tui.model import FloatArray, Table
from tests.conftest import SHARED

NAB = SHARED / "data" / "nab" / "realAWSCloudwatch"


def nab_series(name: str) -> tuple[FloatArray, FloatArray]:
    import pandas as pd

    frame = pd.read_csv(NAB / name)
    times = pd.to_datetime(frame["timestamp"]).astype("int64").to_numpy() / 1e9
    return times.astype(np.float64), frame["value"].to_numpy(dtype=np.float64)


def blocks(n: int, seed: int, most: int = 300) -> Iterator[slice]:
    rng = np.random.default_rng(seed)
    start = 0
    while start < n:
        size = int(rng.choice([1, 2, 7, 64, 65, most]))
        yield slice(start, start + size)
        start += size


def row_by_row(b: SeriesBaseline, t: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    z, ok = np.zeros((len(x), 3)), np.zeros(len(x), dtype=bool)
    for i in range(len(x)):
        if not np.isfinite(x[i]) and len(b.values) >= b.s.min_history:
            ok[i] = True
        else:
            part = b.features(float(t[i]), float(x[i]))
            if part is not None:
                z[i], ok[i] = part, True
        b.push(float(t[i]), float(x[i]))
    return z, ok


def assert_same_state(a: SeriesBaseline, b: SeriesBaseline) -> None:
    for name in ("values", "steps", "season_t", "season_x"):
        assert np.array_equal(getattr(a, name).view(), getattr(b, name).view()), name
    assert (a.last_t, a.last_x, a._stats, a._since_stats) == (
        b.last_t,
        b.last_x,
        b._stats,
        b._since_stats,
    )


def compare(t: FloatArray, x: FloatArray, seed: int, settings: BaselineSettings) -> int:
    """Feeds (t, x) in random blocks to one baseline and row by row to another; returns how
    many blocks took the block path."""
    by_block, by_row = SeriesBaseline(settings), SeriesBaseline(settings)
    used = 0
    for part in blocks(len(x), seed):
        want = row_by_row(by_row, t[part], x[part])
        got = features_block(by_block, t[part], x[part])
        if got is None:
            got = row_by_row(by_block, t[part], x[part])
        else:
            used += 1
        assert np.array_equal(got[1], want[1])
        # Bit for bit, signed zeros included.
        assert got[0].tobytes() == want[0].tobytes()
        assert_same_state(by_block, by_row)
    return used


@pytest.mark.skipif(not NAB.exists(), reason="NAB data not available")
@pytest.mark.parametrize(
    "name",
    [
        "ec2_cpu_utilization_24ae8d.csv",
        "ec2_network_in_257a54.csv",
        "rds_cpu_utilization_cc0c53.csv",
        "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
    ],
)
def test_block_matches_row_by_row_on_nab(name: str) -> None:
    t, x = nab_series(name)
    assert compare(t, x, seed=len(x), settings=BaselineSettings()) > 10


def test_block_matches_with_gaps_missing_values_and_a_small_memory() -> None:
    rng = np.random.default_rng(7)
    n = 6000
    t = np.cumsum(rng.choice([60.0, 60.0, 60.0, 120.0, 3600.0], size=n)) + 1.7e9
    x = np.round(rng.normal(40, 3, n), 1)  # quantised, with repeats
    x[rng.random(n) < 0.05] = np.nan
    x[100:140] = np.nan  # a hole while warming up
    x[3000:3050] = 55.0  # flat, then a step
    small = BaselineSettings(long_window=300, season_rows=500, season_days=3, stats_every=5)
    assert compare(t, x, seed=1, settings=BaselineSettings()) > 10
    assert compare(t, x, seed=2, settings=small) > 10
    for every in (1, 0):  # statistics at every row (0 or less: `pushes >= every` always)
        assert compare(t[:2000], x[:2000], seed=3, settings=replace(small, stats_every=every)) > 5


def test_unordered_or_repeated_times_go_row_by_row_with_the_same_result() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    t = np.arange(n) * 60.0
    t[500] = t[499]  # a repeated timestamp
    t[900:910] = t[900:910][::-1]  # and some going back
    x = rng.normal(10, 1, n)
    assert compare(t, x, seed=5, settings=BaselineSettings()) > 10
    b = SeriesBaseline(BaselineSettings())
    assert features_block(b, t[480:500], x[480:500]) is not None
    assert features_block(b, t[495:505], x[495:505]) is None  # t does not go forward
    assert features_block(b, t[500:520], x[500:520]) is None  # nor from the baseline's last
    assert len(b.values) == 20  # a refused block leaves the baseline as it was


def test_all_missing_block_and_empty_block() -> None:
    b = SeriesBaseline(BaselineSettings())
    z, ok = features_block(b, np.arange(3.0), np.full(3, np.nan)) or (None, None)
    assert z is not None and ok is not None and not ok.any() and len(b.values) == 0
    empty = features_block(b, np.empty(0), np.empty(0))
    assert empty is not None and empty[0].shape == (0, 3)


def detector_table(n: int, seed: int) -> Table:
    rng = np.random.default_rng(seed)
    rt = 100 + rng.normal(0, 5, n)
    rt[rng.random(n) < 0.1] = np.nan  # minutes without requests
    cpu = 40 + rng.normal(0, 2, n)
    cpu[700:705] = 99.0
    return Table(
        {
            "timestamp": 1.7e9 + np.arange(n) * 60.0,
            "cpu_pct": cpu,
            "response_time_ms": rt,
            "error_rate_pct": np.abs(rng.normal(0, 0.5, n)),
        }
    )


def test_detector_block_path_matches_its_row_by_row_features() -> None:
    data = detector_table(3000, seed=11)
    det, ref = StreamingDetector(Thresholds()), StreamingDetector(Thresholds())
    det._watch(list(det._unwatched(data)))
    ref._watch(list(ref._unwatched(data)))
    cols = np.column_stack([data[m] for m in det.names or ()])
    times = np.asarray(data["timestamp"], dtype=float)
    for part in blocks(len(times), seed=4):
        z, ok = det.features_block(times[part], cols[part])
        for i, (t, row) in enumerate(zip(times[part], cols[part], strict=True)):
            want, want_ok = ref.features(float(t), row)
            assert ok[i].tolist() == want_ok.tolist()
            assert z[i].tobytes() == want.tobytes()


def test_window_stats_many_is_window_stats_of_each_window() -> None:
    from apm_tui.analysis.baseline import window_stats, window_stats_many

    rng = np.random.default_rng(9)
    s = BaselineSettings()
    _, x = nab_series("ec2_cpu_utilization_24ae8d.csv") if NAB.exists() else (None, None)
    cases = [rng.normal(50, 9, 4000), np.round(rng.normal(0, 1, 4000), 1), np.full(4000, 3.0)]
    if x is not None:
        cases.append(x)
    for values in cases:
        starts = np.arange(0, len(values) - 2016, 97)
        h = values[starts[:, None] + np.arange(2016)]
        steps = np.abs(rng.normal(60, 5, (len(starts), 64)))
        want = [window_stats(row, t, s) for row, t in zip(h, steps, strict=True)]
        assert window_stats_many(h, steps, s) == want
        assert window_stats_many(h[:, :2], steps[:, :0], s) == [
            window_stats(row, t, s) for row, t in zip(h[:, :2], steps[:, :0], strict=True)
        ]


def _numpy_stats(
    h: FloatArray, steps: FloatArray, s: BaselineSettings
) -> list[tuple[float, float, float, float]]:
    """The statistics as they were written before `median_rows`, with numpy's own median:
    what `window_stats_many` must still give, bit for bit."""
    med = np.median(h, axis=1)
    mad = 1.4826 * np.median(np.abs(h - med[:, None]), axis=1)
    moves = np.abs(np.diff(h, axis=1))
    quantum = np.where(moves > 0, moves, np.inf).min(axis=1, initial=np.inf)
    quantum[np.isinf(quantum)] = 0.0
    std = h.std(axis=1)
    if moves.shape[1]:
        step_mad = 1.4826 * np.median(moves, axis=1)
        step_std = np.diff(h, axis=1).std(axis=1)
    else:
        step_mad = step_std = np.zeros(len(h))
    usual = np.median(steps, axis=1) if steps.shape[1] else np.zeros(len(h))
    out = []
    for i in range(len(h)):
        q = float(quantum[i])
        scale = max(float(mad[i]), s.std_floor * float(std[i]), q, 1e-12)
        step_scale = max(float(step_mad[i]), s.std_floor * float(step_std[i]), q, 1e-12)
        out.append((float(med[i]), scale, step_scale, float(usual[i])))
    return out


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("width", [1, 2, 5, 6, 63, 2015, 2016])
def test_window_stats_many_equals_numpy_medians_bit_for_bit(
    width: int, sort: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`median_rows` replaces np.median for speed: the same bits, ±0, NaN and inf included,
    whichever way (sort or partition) this machine's numpy is faster with."""
    from apm_tui.analysis.baseline import FASTER, median_rows, window_stats_many

    monkeypatch.setattr(FASTER, "use_sort", sort)

    rng = np.random.default_rng(width)
    s = BaselineSettings()
    awkward = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan])
    cases = [
        rng.normal(50, 5, (6, width)),
        np.round(rng.normal(0, 1, (6, width)), 1) * rng.choice([-1.0, 1.0], (6, width)),
        rng.choice([0.0, -0.0, 0.1], (6, width)),
        rng.choice(awkward[:6], (6, width)),
        rng.choice(awkward, (6, width)),
    ]
    for h in cases:
        steps = rng.choice([60.0, 0.0, -0.0, 61.5], (6, 1 + width % 64))
        with np.errstate(invalid="ignore"):
            got = np.array(window_stats_many(h, steps, s))
            want = np.array(_numpy_stats(h, steps, s))
            assert got.tobytes() == want.tobytes()
            assert median_rows(h).tobytes() == np.median(h, axis=1).tobytes()


def test_the_median_keeps_the_faster_way_after_its_trials() -> None:
    """The first wide calls time sort and partition alternately, then one is kept; every
    call, trial or not, gives np.median's bits."""
    from apm_tui.analysis import baseline

    faster = baseline._Faster()
    rng = np.random.default_rng(3)
    kept = []
    for i in range(faster.TRIALS + 4):
        a = np.round(rng.normal(50, 5, (3, faster.WIDE + i % 2)), 1)
        want = np.median(a, axis=1)
        n = a.shape[1]
        kth = [n // 2 - 1, n // 2, n - 1] if n % 2 == 0 else [n // 2, n - 1]
        part = faster.middle(a.copy(), kth, overwrite=True)
        half = n // 2
        got = (0.0 + part[:, half - 1] + part[:, half]) / 2.0 if n % 2 == 0 else part[:, half]
        assert got.tobytes() == want.tobytes()
        kept.append(faster.use_sort)
    assert kept[: faster.TRIALS - 1] == [None] * (faster.TRIALS - 1)
    assert kept[-1] is not None and len(set(kept[faster.TRIALS - 1 :])) == 1
    assert all(0 < t < 1e-3 for t in faster.best)  # seconds a value, both ways timed
