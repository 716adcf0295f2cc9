"""Requests from spans: the server span at each trace's root is one request to one endpoint.

Endpoints are named by `http.route` when the span has it (so /users/1 and /users/2 group),
else by the span's operation. An endpoint belongs to its service: where the requests come from
more than one service, each endpoint's name starts with its service (`web /health` and
`billing /health` are two endpoints, not one). A trace's root is the span without a parent; a
span whose parent never arrived (or that names itself as its parent) is treated as a root too,
so partial traces still count as requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apm_tui.model import FloatArray, Grouping, Table

STATEMENT_KEYS = ("db.statement", "db.query.text")
#: Where spans keep the HTTP status: OpenTelemetry's current name, then the older one.
STATUS_KEYS = ("http.response.status_code", "http.status_code")


@dataclass(frozen=True, slots=True)
class Requests:
    trace_id: np.ndarray[Any, Any]
    time: FloatArray
    duration_ms: FloatArray
    error: np.ndarray[Any, Any]
    endpoint: np.ndarray[Any, Any]  # the route or operation (`labelled` adds the service)
    index: np.ndarray[Any, Any]  # the root spans' rows in the spans table
    service: np.ndarray[Any, Any]

    def __len__(self) -> int:
        return int(self.time.size)


#: Up to this many spans plain sets are as fast as pandas' hashing (measured 2026-11-29: 9 vs
#: 6.5 ms at 40,000 trace ids, 115 vs 115 ms at 200,000; pandas 0.43 s vs 0.68 s at 1M), and
#: the dashboard's first tick, which reads a day of spans, does not wait ≈ 0.5 s for pandas.
SMALL = 250_000


def root_mask(spans: Table) -> np.ndarray[Any, Any]:
    # A set, at any size: faster than pandas' isin on object arrays from 200,000 parent ids up
    # (143 vs 194 ms; 1.3 vs 2.0 s at 1M), 10 ms slower at 40,000.
    parent_ids, span_ids = spans["parent_id"], spans["span_id"]
    known = set(span_ids.tolist())
    orphan = np.fromiter(
        (p == "" or p not in known for p in parent_ids.tolist()), bool, len(parent_ids)
    )
    # A span named as its own parent is a root too (as the waterfall draws it): it was
    # neither a request nor rejected.
    orphan |= parent_ids == span_ids
    orphan |= cycle_roots(spans, orphan)
    return np.asarray(orphan & (spans["kind"] == "server"), dtype=bool)


def cycle_roots(spans: Table, roots: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The roots of the traces without one of `roots` (damaged data: such a trace was
    neither a request nor rejected). Within its trace, a span whose parent is not there is
    a root (its parent id named a span of another trace), and each cycle of parent ids
    (A → B → A) has its earliest span as root (`break_cycles`), as a trace's root is its
    first span."""
    traces = spans["trace_id"]
    out = np.zeros(len(traces), dtype=bool)
    # (Only traces of spans that are not roots can lack one: nothing to do for a log's.)
    rootless = set(traces[~roots].tolist())
    if rootless:
        rootless -= set(traces[roots].tolist())
    if not rootless:
        return out
    rows = np.flatnonzero(np.fromiter((t in rootless for t in traces.tolist()), bool, len(out)))
    keys = list(zip(traces[rows].tolist(), spans["span_id"][rows].tolist(), strict=True))
    index: dict[tuple[Any, Any], int] = {}
    for k, key in enumerate(keys):
        index.setdefault(key, k)  # (a repeated id: its first span, as `parent_rows` takes it)
    parents = spans["parent_id"][rows].tolist()
    parent = [index.get((t, p), -1) for (t, _), p in zip(keys, parents, strict=True)]
    made = [k for k, p in enumerate(parent) if p < 0]
    made += break_cycles(parent, np.asarray(spans["start"][rows], dtype=float).tolist())
    out[rows[made]] = True
    return out


def cycle_breaks(parent: np.ndarray[Any, Any], start: FloatArray) -> np.ndarray[Any, Any]:
    """`break_cycles` of the rows of `parent` (each row's parent row, -1 for none) that
    never reach a root, found with numpy: each row's ancestor jumps twice as far a pass, so
    a forest of depth d is done in log2(d) + 1 passes (a few for traces), and what is left
    after log2(n) + 2 lies on or under a cycle."""
    up = np.asarray(parent, dtype=np.int64).copy()
    left = np.flatnonzero(up >= 0)
    for _ in range(int(math.log2(len(up) + 1)) + 2):
        if not left.size:
            return left
        up[left] = up[up[left]]
        left = left[up[left] >= 0]
    # (A row's parent is left too: its chain is the row's, one step on.)
    local = {row: k for k, row in enumerate(left.tolist())}
    made = break_cycles([local[p] for p in parent[left].tolist()], start[left].tolist())
    return left[np.asarray(made, dtype=np.int64)]


def break_cycles(parent: list[int], start: list[float]) -> list[int]:
    """The nodes to make roots so that every node's parents (`parent[k]`, -1 for none) lead
    to a root: the earliest of each cycle (a NaN start last, then the first node). One walk
    over the nodes: the requests, the critical path and the waterfall share this choice."""
    state = [0] * len(parent)  # 0: not seen, 1: on the walk now, 2: done
    out = []
    for k in range(len(parent)):
        walk = []
        v = k
        while v >= 0 and state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = parent[v]
        if v >= 0 and state[v] == 1:  # the walk came back to itself: a cycle from v on
            cycle = walk[walk.index(v) :]
            out.append(min(cycle, key=lambda c: (math.isnan(start[c]), start[c], c)))
        for u in walk:
            state[u] = 2
    return out


def first_of_each(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """True where a value appears for the first time."""
    if len(values) <= SMALL:
        seen: set[Any] = set()
        out = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values.tolist()):
            if v not in seen:
                seen.add(v)
                out[i] = True
        return out
    import pandas as pd

    return np.asarray(~pd.Series(values).duplicated().to_numpy(), dtype=bool)


class Numbering:
    """Numbers for values that stay the same from tick to tick: the window's endpoints are
    numbered once, as their requests arrive, instead of hashing every request's endpoint
    each time the window is grouped (half the endpoint table's cost for a day of requests).
    `limit` bounds the memory for values the window no longer holds (see `Engine`)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.codes: dict[Any, int] = {}  # value → number, numbered in insertion order

    def __len__(self) -> int:
        return len(self.codes)

    def number(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        codes = self.codes
        return np.fromiter(
            (codes.setdefault(v, len(codes)) for v in values.tolist()), np.int64, len(values)
        )

    def reset(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Start again from these values (what the window holds now); their new numbers."""
        self.codes = {}
        return self.number(values)

    def grouped(self, codes: np.ndarray[Any, Any]) -> Grouping:
        """`factorize` of the values behind `codes`: renumbered in first-seen order."""
        if not len(codes):
            return np.empty(0, dtype=np.int64), []
        distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(distinct), dtype=np.int64)
        rank[order] = np.arange(len(distinct))
        values = list(self.codes)  # (a dict keeps insertion order: value i has number i)
        names = [values[i] for i in distinct[order].tolist()]
        return rank[inverse.reshape(-1)], names


def endpoint_names(spans: Table, index: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    attrs = spans["attributes"][index]
    ops = spans["operation"][index]
    out = np.empty(len(index), dtype=object)
    out[:] = [a.get("http.route") or op for a, op in zip(attrs, ops, strict=True)]
    return out


def request_rows(spans: Table) -> np.ndarray[Any, Any]:
    """The rows of the spans that are requests, in table order."""
    index = np.flatnonzero(root_mask(spans))
    # One request per trace: a trace with several orphan server spans keeps its earliest.
    order = np.argsort(spans["start"][index], kind="stable")
    index = index[order]
    first = first_of_each(spans["trace_id"][index])
    return np.sort(index[first])


def extract_requests(spans: Table) -> Requests:
    if len(spans) == 0:
        empty = np.empty(0)
        return Requests(
            np.empty(0, dtype=object),
            empty,
            empty,
            np.empty(0, dtype=bool),
            np.empty(0, dtype=object),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=object),
        )
    index = request_rows(spans)
    return Requests(
        trace_id=spans["trace_id"][index],
        time=spans["start"][index],
        duration_ms=spans["duration_ms"][index],
        error=spans["error"][index],
        endpoint=endpoint_names(spans, index),
        index=index,
        service=spans["service"][index],
    )


def labelled(req: Requests) -> Requests:
    """The requests with their endpoints named as the panels and the report show them."""
    return replace(req, endpoint=endpoint_labels(req.endpoint, req.service))


def endpoint_labels(
    routes: np.ndarray[Any, Any], services: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Each request's endpoint name: its route, after its service when the requests come from
    several services (one service: the route alone, as short as the panels need it)."""
    if len(set(services.tolist())) <= 1:
        return routes
    out = np.empty(len(routes), dtype=object)
    out[:] = [f"{s} {r}" for s, r in zip(services.tolist(), routes.tolist(), strict=True)]
    return out


def key_labels(keys: list[Any]) -> list[Any]:
    """`endpoint_labels` of distinct (service, route) keys: the names of grouped endpoints."""
    services, routes = np.empty(len(keys), dtype=object), np.empty(len(keys), dtype=object)
    services[:] = [service for service, _ in keys]
    routes[:] = [route for _, route in keys]
    return list(endpoint_labels(routes, services))


def endpoint_keys(
    services: np.ndarray[Any, Any], routes: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """(service, route) of each request: what tells endpoints apart."""
    pairs = zip(services.tolist(), routes.tolist(), strict=True)
    return np.fromiter(pairs, dtype=object, count=len(routes))


def status_codes(spans: Table, index: np.ndarray[Any, Any]) -> FloatArray:
    """The HTTP status of the spans at `index` (a loop over their attributes: the live view
    asks for it per tick's new requests, not the full analysis for the whole window)."""
    out = np.full(len(index), np.nan)
    if not len(index):
        return out
    # Recorded and received spans share one dict per distinct attribute set: read each once
    # (a 64× replay tick has ≈ 400 requests and a few dozen sets).
    seen: dict[int, float] = {}
    for i, attrs in enumerate(spans["attributes"][index]):
        code = seen.get(id(attrs))
        if code is None:
            code = seen[id(attrs)] = status_of(attrs)
        out[i] = code
    return out


def status_of(attrs: dict[str, Any]) -> float:
    """The HTTP status, NaN if none: also for a code outside 100–599 (HAProxy's -1 for an
    aborted request, 0 where a log has none), which the status mix counted as 1xx."""
    for key in STATUS_KEYS:
        code = attrs.get(key)
        if isinstance(code, int | float | str):
            try:
                value = float(code)
            except ValueError:
                return math.nan
            return value if 100 <= value < 600 else math.nan
    return math.nan


def statements(spans: Table) -> np.ndarray[Any, Any]:
    """The DB statement of each span ("" where it has none); only DB and cache spans have one."""
    out = np.full(len(spans), "", dtype=object)
    index = np.flatnonzero((spans["kind"] == "db") | (spans["kind"] == "cache"))
    attrs = spans["attributes"]
    old_key, new_key = STATEMENT_KEYS
    out[index] = [str(attrs[i].get(old_key) or attrs[i].get(new_key) or "") for i in index]
    return out
