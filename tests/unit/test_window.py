from __future__ import annotations

import numpy as np

from apm_tui.model import Table
from apm_tui.window import ColumnBuffer, Window


def metrics(start: float, n: int, step: float = 1.0, **extra: float) -> Table:
    t = start + np.arange(n) * step
    cols = {"timestamp": t, "cpu_pct": t % 100}
    cols.update({k: np.full(n, v) for k, v in extra.items()})
    return Table(cols)


def test_appends_keep_order_and_views_are_stable() -> None:
    buf = ColumnBuffer("timestamp", max_rows=10_000)
    buf.append(metrics(0, 5))
    first = buf.view()
    for i in range(1, 200):
        buf.append(metrics(i * 5, 5))
    assert len(buf) == 1000
    assert np.array_equal(buf.column("timestamp"), np.arange(1000.0))
    # A view handed out earlier keeps its values even after the buffer grew and moved.
    assert np.array_equal(first["timestamp"], np.arange(5.0))


def test_row_bound_and_age_bound() -> None:
    buf = ColumnBuffer("timestamp", max_rows=100)
    for i in range(50):
        buf.append(metrics(i * 10, 10))
    assert len(buf) == 100
    assert buf.column("timestamp")[0] == 400.0
    buf.drop_before(450.0)
    assert buf.column("timestamp")[0] == 450.0 and len(buf) == 50


def test_capacity_stays_bounded_over_a_long_run() -> None:
    buf = ColumnBuffer("timestamp", max_rows=1000)
    for i in range(20_000):
        buf.append(metrics(float(i), 1))
    assert len(buf) == 1000
    assert buf.capacity <= 1000 + 1024


def test_new_columns_are_backfilled_with_nan() -> None:
    buf = ColumnBuffer("timestamp", max_rows=100)
    buf.append(metrics(0, 3))
    buf.append(metrics(3, 2, orders=5.0))
    orders = buf.column("orders")
    assert np.isnan(orders[:3]).all() and list(orders[3:]) == [5.0, 5.0]


def test_window_trims_everything_by_age() -> None:
    window = Window(max_age_s=60.0, max_samples=1000, max_spans=1000)
    req = Table({"time": np.array([0.0, 100.0]), "duration_ms": np.array([1.0, 2.0])})
    window.append(metrics(0, 200), Table({}), req)
    assert window.newest() == 199.0
    assert window.metrics.column("timestamp")[0] == 139.0
    assert list(window.requests.column("time")) == [] or window.requests.column("time")[0] >= 139


def test_rows_older_than_the_window_never_enter_beside_newer_ones() -> None:
    """An old log's samples arriving after the host's live ones sat behind them, where the
    trim at the front never reached, and showed as the current values."""
    window = Window(max_age_s=3600.0, max_samples=1000, max_spans=1000)
    window.append(metrics(100_000, 10), Table({}), Table({}))  # the host, now
    old_requests = Table({"time": np.array([5_000.0, 99_000.0]), "duration_ms": np.ones(2)})
    old_spans = Table({"start": np.array([5_000.0, 99_000.0]), "duration_ms": np.ones(2)})
    window.append(metrics(5_000, 3, response_time_ms=676.0), old_spans, old_requests)
    assert len(window.metrics) == 10
    assert np.isnan(window.metrics.column("response_time_ms")).all()  # none of the log's
    assert list(window.requests.column("time")) == [99_000.0]  # within the hour: kept
    assert list(window.spans.column("start")) == [99_000.0]
    assert window.newest() == 100_009.0
    # rows a little behind the newest (a log's minute after the host's second) are kept, and
    # the newest is the newest appended, not the last row's
    window.append(metrics(99_990, 2), Table({}), Table({}))
    assert len(window.metrics) == 12 and window.newest() == 100_009.0
    empty = Window(max_age_s=60.0)
    assert np.isnan(empty.newest())
    empty.append(Table({}), Table({}), Table({}))
    assert np.isnan(empty.newest())


def test_spans_without_requests_age_out_too() -> None:
    """A source whose data is spans alone (internal or client spans, no server span: no
    request) gave the window no newest time, so its spans never left it by age."""
    window = Window(max_age_s=3600.0, max_samples=1000, max_spans=1000)
    old = Table({"start": np.array([0.0, 10.0]), "duration_ms": np.ones(2)})
    window.append(Table({}), old, Table({}))
    assert window.newest() == 10.0
    new = Table({"start": np.array([86_400.0, 86_410.0]), "duration_ms": np.ones(2)})
    window.append(Table({}), new, Table({}))
    assert list(window.spans.column("start")) == [86_400.0, 86_410.0]
    assert window.newest() == 86_410.0


def test_rows_held_for_a_pause_are_kept_then_dropped_once_it_is_over() -> None:
    window = Window(max_age_s=100.0, max_samples=1000, max_spans=1000)
    window.append(metrics(0, 100), Table({}), Table({}))
    window.keep_from = -1.0  # paused at t = 99: its 100 s from t = -1
    window.append(metrics(100, 50), Table({}), Table({}))
    assert len(window.metrics) == 150  # held
    m, _, _ = window.views()
    assert m["timestamp"].min() == 49.0  # what the live figures read: the window's length
    window.keep_from = float("nan")  # resumed; no new data need come for the rows to go
    window.trim()
    assert len(window.metrics) == 101 and window.oldest() == 49.0
