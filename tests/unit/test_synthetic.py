from __future__ import annotations

import numpy as np

from apm_tui.analysis.requests import extract_requests, statements
from apm_tui.model import METRIC_FIELDS, Batch
from apm_tui.sources.synthetic import DAY, WorldSettings
from tests.conftest import WORLD_START, world


def test_default_world_has_the_seed_sizes(default_batch: Batch) -> None:
    m, s = default_batch.metrics, default_batch.spans
    assert len(m) == 1440
    assert len(set(s["trace_id"])) == 1000
    for name in (*METRIC_FIELDS, "orders_per_minute"):
        assert name in m and np.isfinite(m[name]).all()
    assert np.all(np.diff(m["timestamp"]) == 60.0)
    assert m["timestamp"][0] == WORLD_START


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = world(seed=7).backfill()
    b = world(seed=7).backfill()
    c = world(seed=8).backfill()
    assert np.array_equal(a.metrics["cpu_pct"], b.metrics["cpu_pct"])
    assert list(a.spans["span_id"]) == list(b.spans["span_id"])
    assert not np.array_equal(a.metrics["cpu_pct"], c.metrics["cpu_pct"])


def test_traces_are_real_trees(default_batch: Batch) -> None:
    s = default_batch.spans
    by_id = {sid: i for i, sid in enumerate(s["span_id"])}
    assert len(by_id) == len(s), "span ids are unique"
    roots = 0
    for i, parent in enumerate(s["parent_id"]):
        if parent == "":
            roots += 1
            assert s["service"][i] == "api-gateway" and s["kind"][i] == "server"
            continue
        j = by_id[parent]
        assert s["trace_id"][j] == s["trace_id"][i]
        # A child starts after its parent and ends before it (1 µs slack for float rounding).
        assert s["start"][i] >= s["start"][j] - 1e-6
        end_child = s["start"][i] + s["duration_ms"][i] / 1000
        end_parent = s["start"][j] + s["duration_ms"][j] / 1000
        assert end_child <= end_parent + 1e-6
    assert roots == 1000


def test_world_has_enough_endpoints_services_and_db_statements(default_batch: Batch) -> None:
    s = default_batch.spans
    req = extract_requests(s)
    assert len(set(req.endpoint)) >= 6
    services = set(s["service"]) - {"postgres", "redis"}
    assert len(services) >= 5
    db = s["kind"] == "db"
    stmts = statements(s)[db]
    assert db.any() and all(st for st in stmts)
    assert any("ORDER BY created_at" in st for st in stmts)


def test_incidents_are_in_the_metrics(default_batch: Batch) -> None:
    m = default_batch.metrics
    hours = (m["timestamp"] % DAY) / 3600
    cpu_burst = (hours >= 13.0) & (hours < 13.4)
    assert m["cpu_pct"][cpu_burst].mean() > m["cpu_pct"][~cpu_burst].mean() + 25
    err_burst = (hours >= 19.2) & (hours < 19.5)
    assert m["error_rate_pct"][err_burst].mean() > 5 * m["error_rate_pct"][~err_burst].mean()
    mem = m["memory_pct"]
    assert mem[-60:].mean() > mem[:60].mean() + 40
    lat_burst = (hours >= 9.7) & (hours < 10.1)
    assert m["response_time_ms"][lat_burst].mean() > 1.5 * np.median(m["response_time_ms"])


def test_metric_latency_agrees_with_traced_latency(default_batch: Batch) -> None:
    req = extract_requests(default_batch.spans)
    sample_mean = default_batch.metrics["response_time_ms"].mean()
    assert abs(sample_mean - req.duration_ms.mean()) / sample_mean < 0.25


def test_live_polling_continues_the_timeline_with_time_compression() -> None:
    src = world(hours=1, interval_s=1.0, speed=60.0, live_trace_rate=2.0)
    history = src.backfill()
    last = history.metrics["timestamp"][-1]
    first = src.poll(1000.0)  # the first poll starts the clock and yields the next sample
    assert list(first.metrics["timestamp"]) == [last + 1.0]
    batch = src.poll(1000.0 + 1.0)  # one wall second = 60 simulated seconds
    ts = batch.metrics["timestamp"]
    assert len(ts) == 60 and ts[0] == last + 2.0
    assert np.all(np.diff(ts) == 1.0)
    assert len(batch.spans) > 0
    later = src.poll(1000.0 + 2.0)
    assert later.metrics["timestamp"][0] == ts[-1] + 1.0


def test_settings_reject_nonsense() -> None:
    import pytest

    for bad in ({"hours": 0}, {"interval_s": -1}, {"traces": -1}, {"speed": 0}):
        with pytest.raises(ValueError):
            WorldSettings(**bad)  # type: ignore[arg-type]
