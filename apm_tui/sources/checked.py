"""A source of the user's own, with what it returns checked where it enters: it may return
anything, and a batch that is not one fails deep in the analysis, far from its cause. Wrong
data is a `BadBatch` (a `SourceError`) naming the problem, which the report says in one line
with the source's name, and the dashboard and `record` say as a notice after the source's name
before dropping the source, as for any failure."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table
from apm_tui.sources.base import Source, SourceError

_short = reprlib.Repr()
_short.maxstring = 40


class BadBatch(SourceError):
    """What a source returned is not a batch the analysis can use. The message does not name
    the source: the dashboard and `record` put its name first, the report adds it."""


class Checked:
    """`source` with its batches checked (`check_batch`)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = source.name

    def open(self) -> None:
        self.source.open()

    def backfill(self) -> Batch:
        return check_batch("backfill()", self.source.backfill())

    def poll(self, now: float) -> Batch:
        return check_batch("poll()", self.source.poll(now))

    def close(self) -> None:
        self.source.close()


def check_batch(call: str, batch: object) -> Batch:
    """`batch` if it is a Batch the analysis can use: tables of numpy columns, numeric
    metrics, finite numeric times."""
    said = f"{call} returned"
    if not isinstance(batch, Batch):
        raise BadBatch(f"{said} {_a(batch)} instead of a Batch")
    for part in ("metrics", "spans"):
        table = getattr(batch, part)
        if not isinstance(table, Table):
            raise BadBatch(f"{said} {part} that are {_a(table)}, not a Table")
    if not isinstance(batch.status, Mapping):
        raise BadBatch(f"{said} a status that is {_a(batch.status)}, not a dict")
    metrics, spans = batch.metrics, batch.spans
    if len(metrics):
        _numbers(said, "metrics", metrics, "timestamp", finite=True)
        for column in metrics.names:
            _numbers(said, "metrics", metrics, column, finite=False)
    if len(spans):
        _numbers(said, "spans", spans, "start", finite=True)
        _numbers(said, "spans", spans, "duration_ms", finite=False)
    return batch


def _a(value: object) -> str:
    """ "None", "a dict", "an int": what a value is, in words."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _numbers(said: str, part: str, table: Table, column: str, *, finite: bool) -> None:
    if column not in table:
        raise BadBatch(f"{said} {part} without a {column!r} column")
    values: Any = table[column]
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        first = np.asarray(values[:1], dtype=object).tolist()[0] if len(values) else None
        raise BadBatch(
            f"{said} {part} whose {column!r} column is not numbers (e.g. {_short.repr(first)})"
        )
    if finite and not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise BadBatch(f"{said} {part} whose {column!r} column is not all finite ({bad})")
