"""Requests from spans: roots, orphans, one request per trace — the same on both code paths."""

from __future__ import annotations

import numpy as np
import pytest

from apm_tui import model
from apm_tui.analysis import requests
from apm_tui.analysis.requests import extract_requests
from apm_tui.model import Span, spans_table


def spans() -> list[Span]:
    return [
        Span(
            "t1",
            "a",
            "",
            "web",
            "GET /x",
            10.0,
            50.0,
            kind="server",
            attributes={"http.route": "/x/{id}"},
        ),
        Span("t1", "b", "a", "db", "SELECT", 10.01, 5.0, kind="db"),
        # t2's root never arrived: its server span is an orphan and counts as the request
        Span("t2", "c", "missing", "web", "GET /y", 11.0, 80.0, kind="server", error=True),
        Span("t2", "d", "c", "web", "render", 11.01, 10.0),
        # two orphan server spans of one trace: the earliest is the request
        Span("t3", "f", "gone", "web", "POST /z", 12.5, 20.0, kind="server"),
        Span("t3", "e", "gone", "web", "POST /z", 12.0, 30.0, kind="server"),
        # a client span at the root is not a request
        Span("t4", "g", "", "web", "call", 13.0, 1.0, kind="client"),
        # a span named as its own parent is a root (it was neither a request nor rejected)
        Span("t5", "h", "h", "web", "GET /w", 14.0, 7.0, kind="server"),
        # parent ids in a cycle: the earliest span is the root (it was neither, too)
        Span("t6", "j", "i", "web", "render", 15.01, 3.0),
        Span("t6", "i", "j", "web", "GET /v", 15.0, 9.0, kind="server"),
    ]


def test_roots_orphans_and_one_request_per_trace() -> None:
    req = extract_requests(spans_table(spans()))
    assert req.trace_id.tolist() == ["t1", "t2", "t3", "t5", "t6"]
    assert req.endpoint.tolist() == ["/x/{id}", "GET /y", "POST /z", "GET /w", "GET /v"]
    assert req.time.tolist() == [10.0, 11.0, 12.0, 14.0, 15.0]
    assert req.error.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_set_and_pandas_paths_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(300):
        parent = rng.choice(["", f"s{rng.integers(0, 400)}"])
        kind = str(rng.choice(["server", "client", "db"]))
        rows.append(
            Span(
                f"t{rng.integers(0, 80)}",
                f"s{i}",
                str(parent),
                "svc",
                "op",
                float(rng.uniform(0, 100)),
                1.0,
                kind=kind,
            )
        )
    table = spans_table(rows)
    small = extract_requests(table)
    monkeypatch.setattr(requests, "SMALL", 0)  # first_of_each through pandas
    big = extract_requests(table)
    assert big.trace_id.tolist() == small.trace_id.tolist()
    assert np.array_equal(big.time, small.time)


@pytest.mark.parametrize("small", [0, 50_000])
def test_factorize_numbers_values_in_first_seen_order(
    small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "FACTORIZE_SMALL", small)  # 0: through pandas
    values = np.array(["/b", "/a", "/b", "/c", "/a"], dtype=object)
    codes, names = model.factorize(values)
    assert codes.tolist() == [0, 1, 0, 2, 1] and names == ["/b", "/a", "/c"]
    codes, names = model.factorize(np.array([], dtype=object))
    assert codes.tolist() == [] and names == []
    codes, numbers = model.numbering(values)
    assert codes.tolist() == [0, 1, 0, 2, 1] and numbers == {"/b": 0, "/a": 1, "/c": 2}


def test_status_codes_read_each_attribute_set() -> None:
    shared = {"http.route": "/x", "http.response.status_code": 503}
    rows = [
        Span("a", "1", "", "web", "GET /x", 1.0, 5.0, kind="server", attributes=shared),
        Span("b", "2", "", "web", "GET /x", 2.0, 5.0, kind="server", attributes=shared),
        Span("c", "3", "", "web", "GET /y", 3.0, 5.0, kind="server",
             attributes={"http.status_code": "404"}),
        Span("d", "4", "", "web", "GET /z", 4.0, 5.0, kind="server",
             attributes={"http.status_code": "n/a"}),
        Span("e", "5", "", "web", "GET /w", 5.0, 5.0, kind="server", attributes={}),
        Span("f", "6", "", "web", "GET /v", 6.0, 5.0, kind="server",
             attributes={"http.status_code": None, "http.response.status_code": 200}),
    ]  # fmt: skip
    table = spans_table(rows)
    codes = requests.status_codes(table, np.arange(len(rows)))
    assert codes[:3].tolist() == [503.0, 503.0, 404.0]
    assert np.isnan(codes[3]) and np.isnan(codes[4]) and codes[5] == 200.0
    assert requests.status_codes(table, np.array([], dtype=int)).size == 0


def test_numbering_grouped_is_factorize_of_the_values_behind_the_codes() -> None:
    from apm_tui.analysis.requests import Numbering
    from apm_tui.model import factorize

    rng = np.random.default_rng(4)
    numbering = Numbering()
    names = np.array([f"/api/{i}" for i in range(40)], dtype=object)
    window = np.empty(0, dtype=object)
    codes = np.empty(0, dtype=np.int64)
    for _ in range(20):  # rows arrive at the end and leave from the front, as in the window
        new = names[rng.integers(0, 40, int(rng.integers(0, 300)))]
        window = np.concatenate([window, new])[-1000:]
        codes = np.concatenate([codes, numbering.number(new)])[-1000:]
        got_codes, got_names = numbering.grouped(codes)
        want_codes, want_names = factorize(window)
        assert got_names == want_names
        assert np.array_equal(got_codes, want_codes)
    assert len(numbering) == 40  # a value seen again keeps its number
    fresh = numbering.reset(window[-5:])
    assert len(numbering) == len(set(window[-5:].tolist()))
    assert numbering.grouped(fresh)[1] == factorize(window[-5:])[1]
    empty_codes, empty_names = numbering.grouped(np.empty(0, dtype=np.int64))
    assert empty_codes.size == 0 and empty_names == []


def test_engine_renumbers_its_window_when_endpoints_never_repeat() -> None:
    """Paths that never repeat (a log of unique URLs) must not grow the numbering without
    bound: past its limit the window's own endpoints are numbered afresh, and the endpoint
    table is still the one `factorize` gives."""
    from apm_tui.config import Thresholds
    from apm_tui.engine import ENDPOINT_CODE, Engine, request_details
    from apm_tui.model import Batch, Table

    engine = Engine([], window_s=50.0)
    engine._endpoints.limit = 30
    for tick in range(12):
        spans = Table(
            {
                "trace_id": np.array([f"t{tick}-{i}" for i in range(8)], dtype=object),
                "span_id": np.array([f"s{tick}-{i}" for i in range(8)], dtype=object),
                "parent_id": np.array([""] * 8, dtype=object),
                "service": np.array(["web"] * 8, dtype=object),
                "operation": np.array([f"GET /u/{tick}/{i % 4}" for i in range(8)], dtype=object),
                "kind": np.array(["server"] * 8, dtype=object),
                "start": np.full(8, 10.0 * tick) + np.arange(8),
                "duration_ms": np.arange(8, dtype=float) + tick,
                "error": np.zeros(8, dtype=bool),
                "attributes": np.array([{} for _ in range(8)], dtype=object),
            }
        )
        engine._ingest(Batch(metrics=Table({}), spans=spans), score=False)
        assert len(engine._endpoints) <= 30 + 8
    requests = engine.window.requests.view()
    assert ENDPOINT_CODE in requests and len(requests) > 0
    th = Thresholds()
    numbered = request_details(requests, th, engine._endpoints)
    plain = request_details(requests, th)
    assert numbered[1] == plain[1] and numbered[2] == plain[2]
    assert {e.name for e in numbered[1]} == set(requests["endpoint"].tolist())
