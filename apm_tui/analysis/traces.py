"""Traces for the trace screen: the recent ones (slowest first) and one as a waterfall.

A trace's root is its server span without a parent (as for requests); its spans are laid out
depth first in start order. The critical path is what the trace waited on: from the root's end,
the child that finished last before that point, then, from that child's start, the one that
finished last before it, and so on down each chosen child — the spans whose speed-up would
shorten the trace.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apm_tui.analysis.requests import break_cycles, endpoint_labels, endpoint_names, root_mask
from apm_tui.model import Table


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: str
    time: float  # the root's start (Unix s)
    endpoint: str
    service: str
    duration_ms: float
    error: bool  # any span of the trace failed
    spans: int


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    span_id: str
    depth: int
    service: str
    operation: str
    kind: str
    offset_ms: float  # from the trace's first start
    duration_ms: float
    error: bool
    critical: bool
    attributes: dict[str, Any] = field(default_factory=dict)


def finished_by(spans: Table, t: float, since: float = -math.inf) -> Table:
    """The spans that had ended by time `t` and started from `since`: what the window held
    when the dashboard showed `t` (a paused view; a pause holds older rows too). Sources hand
    spans over as they end, whole traces for OTLP."""
    if len(spans) == 0:
        return spans
    start = np.asarray(spans["start"], dtype=float)
    end = start + np.asarray(spans["duration_ms"], float) / 1e3
    # (a span of unknown duration is kept)
    return spans.take(np.flatnonzero(~(end > t) & (start >= since)))


def recent_traces(
    spans: Table, *, text: str = "", errors_only: bool = False, limit: int = 500
) -> list[TraceSummary]:
    """The slowest traces whose endpoint or service contains `text` (any case), slowest first."""
    if len(spans) == 0:
        return []
    roots = np.flatnonzero(root_mask(spans))
    if roots.size == 0:
        return []
    trace_ids = spans["trace_id"]
    counts = Counter(trace_ids.tolist())
    failed = set(trace_ids[np.asarray(spans["error"], dtype=bool)].tolist())
    service = spans["service"][roots]
    endpoint = endpoint_labels(endpoint_names(spans, roots), service)
    keep = np.ones(roots.size, dtype=bool)
    if text:
        needle = text.lower()
        keep &= np.array(
            [needle in str(e).lower() or needle in str(s).lower()
             for e, s in zip(endpoint, service, strict=True)],
            dtype=bool,
        )  # fmt: skip
    root_ids = trace_ids[roots]
    if errors_only:
        keep &= np.array([t in failed for t in root_ids], dtype=bool)
    idx = np.flatnonzero(keep)
    durations = np.asarray(spans["duration_ms"][roots], dtype=float)[idx]
    order = idx[np.argsort(-np.nan_to_num(durations, nan=-1.0), kind="stable")][:limit]
    starts = spans["start"][roots]
    return [
        TraceSummary(
            trace_id=str(root_ids[i]),
            time=float(starts[i]),
            endpoint=str(endpoint[i]),
            service=str(service[i]),
            duration_ms=float(spans["duration_ms"][roots[i]]),
            error=root_ids[i] in failed,
            spans=int(counts.get(root_ids[i], 1)),
        )
        for i in order.tolist()
    ]


def waterfall(spans: Table, trace_id: str) -> list[WaterfallRow]:
    """The trace's spans depth first (children in start order), with the critical path marked.
    A span whose parent is not in the trace is shown as another root."""
    if len(spans) == 0:
        return []
    rows = np.flatnonzero(spans["trace_id"] == trace_id)
    if rows.size == 0:
        return []
    ids = [str(v) for v in spans["span_id"][rows]]
    parents = [str(v) for v in spans["parent_id"][rows]]
    start = np.asarray(spans["start"][rows], dtype=float)
    dur = np.nan_to_num(np.asarray(spans["duration_ms"][rows], dtype=float))
    end = start + dur / 1000.0
    index_of: dict[str, int] = {}
    for i, sid in enumerate(ids):
        index_of.setdefault(sid, i)  # (a repeated id: its first span, as the requests take it)
    up = [index_of.get(p, -1) if p and p != ids[i] else -1 for i, p in enumerate(parents)]
    # Parent ids that run in a cycle (damaged data): its earliest span is a root, as
    # the critical path takes it (`requests.cycle_breaks`), so every span is shown.
    for k in break_cycles(up, start.tolist()):
        up[k] = -1
    children: dict[int, list[int]] = defaultdict(list)
    tops = []
    for i, parent in enumerate(up):
        if parent >= 0:
            children[parent].append(i)
        else:
            tops.append(i)
    for kids in children.values():
        kids.sort(key=lambda k: start[k])
    tops.sort(key=lambda k: (-(end[k] - start[k]), start[k]))  # the longest root first
    critical = _critical_path(tops[0], children, start, end) if tops else set()
    # (A span without a start, never from apm-tui's own sources, is drawn at the trace's.)
    first = float(np.nanmin(start)) if np.isfinite(start).any() else 0.0
    out: list[WaterfallRow] = []
    seen: set[int] = set()
    stack = [(k, 0) for k in reversed(tops)]
    while stack:
        k, depth = stack.pop()
        if k in seen:  # a cycle in damaged data: show each span once
            continue
        seen.add(k)
        r = rows[k]
        out.append(
            WaterfallRow(
                span_id=ids[k],
                depth=depth,
                service=str(spans["service"][r]),
                operation=str(spans["operation"][r]),
                kind=str(spans["kind"][r]),
                offset_ms=(start[k] - first) * 1000.0,
                duration_ms=float(dur[k]),
                error=bool(spans["error"][r]),
                critical=k in critical,
                attributes=dict(spans["attributes"][r]),
            )
        )
        stack.extend((c, depth + 1) for c in reversed(children.get(k, [])))
    return out


def _critical_path(
    root: int, children: dict[int, list[int]], start: np.ndarray[Any, Any], end: Any
) -> set[int]:
    path: set[int] = set()
    todo = [(root, float(end[root]))]
    while todo:
        span, until = todo.pop()
        if span in path:
            continue
        path.add(span)
        cursor = min(float(end[span]), until)
        taken: set[int] = set()
        while True:
            # The child still running latest before the cursor is what the span waited on;
            # before that child started, the span waited on whatever ran before it.
            live = [c for c in children.get(span, []) if start[c] < cursor and c not in taken]
            if not live:
                break
            last = max(live, key=lambda c: min(float(end[c]), cursor))
            taken.add(last)
            todo.append((last, cursor))
            cursor = float(start[last])
    return path
