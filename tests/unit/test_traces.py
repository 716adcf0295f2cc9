"""The trace screen's core: recent traces, and one trace as a waterfall with its critical path."""

from __future__ import annotations

import numpy as np

from apm_tui.analysis.traces import finished_by, recent_traces, waterfall
from apm_tui.model import Batch, Span
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
from tests.conftest import WORLD_START


def spans_of(*spans: Span):  # type: ignore[no-untyped-def]
    return Batch.of(spans=list(spans)).spans


def test_waterfall_orders_depth_first_and_marks_the_critical_path() -> None:
    # root 0–100 ms: auth 5–15, then db 20–60 and cache 20–30 in parallel, then render 60–95.
    # The root waited on auth, db (not the shorter cache), then render.
    t = 1000.0
    spans = spans_of(
        Span("T", "render", "root", "web", "render", t + 0.060, 35.0, kind="internal"),
        Span("T", "root", "", "web", "GET /x", t, 100.0, kind="server",
             attributes={"http.route": "/x"}),
        Span("T", "cache", "root", "redis", "GET", t + 0.020, 10.0, kind="cache"),
        Span("T", "db", "root", "pg", "SELECT", t + 0.020, 40.0, kind="db", error=True),
        Span("T", "auth", "root", "auth", "check", t + 0.005, 10.0, kind="client"),
        Span("T", "q", "db", "pg", "fetch", t + 0.030, 25.0, kind="db"),
        Span("U", "other", "", "web", "GET /y", t, 5.0, kind="server"),
    )  # fmt: skip
    rows = waterfall(spans, "T")
    assert [r.span_id for r in rows] == ["root", "auth", "cache", "db", "q", "render"]
    assert [r.depth for r in rows] == [0, 1, 1, 1, 2, 1]
    assert rows[0].offset_ms == 0 and abs(rows[3].offset_ms - 20) < 1e-6
    assert {r.span_id for r in rows if r.critical} == {"root", "auth", "db", "q", "render"}
    assert rows[3].error and rows[0].attributes == {"http.route": "/x"}
    assert waterfall(spans, "nope") == []


def test_a_span_whose_parent_never_arrived_is_shown_as_a_root() -> None:
    spans = spans_of(
        Span("T", "a", "", "web", "GET /x", 10.0, 50.0, kind="server"),
        Span("T", "b", "missing", "pg", "SELECT", 10.01, 5.0, kind="db"),
        Span("T", "c", "c", "pg", "loop", 10.02, 1.0, kind="db"),  # its own parent
    )
    rows = waterfall(spans, "T")
    assert sorted(r.span_id for r in rows) == ["a", "b", "c"]
    assert all(r.depth == 0 for r in rows)
    assert rows[0].span_id == "a" and rows[0].critical


def test_recent_traces_are_slowest_first_and_filter() -> None:
    spans = spans_of(
        Span("A", "a", "", "shop", "GET /cart", 1.0, 30.0, kind="server",
             attributes={"http.route": "/api/cart"}),
        Span("A", "a2", "a", "pg", "SELECT", 1.0, 20.0, kind="db", error=True),
        Span("B", "b", "", "shop", "GET /x", 2.0, 90.0, kind="server",
             attributes={"http.route": "/api/orders"}),
        Span("C", "c", "", "billing", "POST /pay", 3.0, 60.0, kind="server"),
    )  # fmt: skip
    found = recent_traces(spans)
    assert [t.trace_id for t in found] == ["B", "C", "A"]
    assert [t.spans for t in found] == [1, 1, 2]
    assert [t.error for t in found] == [False, False, True]  # an error anywhere in the trace
    # Two services: each endpoint is named with its service, as in the endpoint table.
    assert found[0].endpoint == "shop /api/orders" and found[1].endpoint == "billing POST /pay"
    one = recent_traces(spans.take(np.flatnonzero(spans["service"] != "billing")))
    assert [t.endpoint for t in one] == ["/api/orders", "/api/cart"]  # one service: the route
    assert [t.trace_id for t in recent_traces(spans, text="BILL")] == ["C"]
    assert [t.trace_id for t in recent_traces(spans, text="cart")] == ["A"]
    assert [t.trace_id for t in recent_traces(spans, errors_only=True)] == ["A"]
    assert [t.trace_id for t in recent_traces(spans, limit=1)] == ["B"]


def test_synthetic_traces_have_whole_waterfalls() -> None:
    spans = SyntheticSource(WorldSettings(hours=1, traces=50, start=WORLD_START)).backfill().spans
    found = recent_traces(spans)
    assert len(found) == 50
    durations = [t.duration_ms for t in found]
    assert durations == sorted(durations, reverse=True)
    rows = waterfall(spans, found[0].trace_id)
    assert len(rows) == found[0].spans and rows[0].depth == 0 and rows[0].critical
    assert rows[0].service == "api-gateway"
    # A child never starts before its parent, and the critical path is a chain from the root.
    assert all(r.offset_ms >= 0 for r in rows)
    assert sum(r.critical for r in rows) >= 2


def test_finished_by_keeps_the_spans_that_had_ended() -> None:
    t = 1000.0
    spans = spans_of(
        Span("T", "root", "", "web", "GET /x", t, 100.0, kind="server"),  # ends t + 0.1
        Span("T", "db", "root", "pg", "SELECT", t + 0.01, 20.0, kind="db"),  # ends t + 0.03
        Span("U", "late", "", "web", "GET /y", t + 5, 1.0, kind="server"),
        Span("V", "open", "", "web", "GET /z", t, float("nan"), kind="server"),
    )
    assert set(finished_by(spans, t + 0.05)["span_id"]) == {"db", "open"}
    assert set(finished_by(spans, t + 0.1)["span_id"]) == {"root", "db", "open"}
    assert len(finished_by(spans, t + 10)) == 4
    assert len(finished_by(spans_of(), t)) == 0
