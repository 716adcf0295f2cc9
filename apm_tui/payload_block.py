"""Many schema-2 payloads decoded in one pass into one batch: what decoding each payload
(`payload.decode_batch`) and stacking the batches (`Table.concat`, statuses merged in order,
later wins) gives, value for value, with the per-column numpy work done once for the block.

A 64× replay decodes 64 ticks a second; one at a time, each tick's ≈ 20 small numpy calls
(unshuffling, scaling, range checks) cost more than the data in them. Here each payload is
only inflated and its header read; every column's bytes are then gathered from all payloads
at once, and scaled with the same integer-plus-base-over-power-of-ten arithmetic.

The block path covers the usual case — every payload's metric columns, and every span
section's extra columns, named alike — and raises `Unsupported` otherwise; anything that
does not add up raises `ValueError`, as `decode_batch` does. The caller then decodes the
payloads one by one, which also decides which tick is damaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table
from apm_tui.payload import ID_FIELDS, PLACES, TEXT_FIELDS, Strings, open_payload

INTS = ("<i1", "<i2", "<i4", "<i8")
#: Bytes per value of each stored type (looked up ≈ 600 times a 64-tick block: not np.dtype).
SIZES = {"<i1": 1, "<i2": 2, "<i4": 4, "<i8": 8, "<f8": 8}


class Unsupported(Exception):
    """The payloads differ in a way only the one-by-one path reproduces."""


@dataclass
class _Column:
    """One column's pieces, one per payload with rows: where its bytes start, how many rows,
    and how they are stored (`how`: the payload's encoding; `shuffled`: byte planes)."""

    offsets: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    hows: list[dict[str, Any]] = field(default_factory=list)


class _Cursor:
    """Walks one payload's body as `payload.Reader` does, checking every length, without
    reading: it hands out offsets into the block's joined bodies."""

    def __init__(self, start: int, size: int) -> None:
        self.at, self.end = start, start + size

    def take(self, nbytes: int) -> int:
        if nbytes < 0 or self.at + nbytes > self.end:
            raise ValueError("payload truncated")
        at, self.at = self.at, self.at + nbytes
        return at

    def finish(self) -> None:
        if self.at != self.end:
            raise ValueError("payload has trailing bytes")


def _width(how: dict[str, Any]) -> int:
    if how.get("nan"):
        return 0
    dtype = how["dtype"]
    size = SIZES.get(dtype) if isinstance(dtype, str) else None
    if size is None:
        raise ValueError(f"bad column type {dtype!r}")
    if dtype != "<f8" and int(how["places"]) not in PLACES:
        raise ValueError("bad column scale")
    return size


def _index_width(dtype: Any) -> int:
    if dtype not in INTS:
        raise ValueError(f"bad index type {dtype!r}")
    return SIZES[dtype]


def decode_joined(payloads: Sequence[bytes], strings: Strings) -> Batch:
    """The payloads' batches as one; see the module docstring."""
    heads, bodies = [], []
    for payload in payloads:
        header, reader = open_payload(payload)
        heads.append(header)
        bodies.append(reader.body)
    starts = np.concatenate([[0], np.cumsum([len(b) for b in bodies])]).tolist()
    blob = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    metric_names: tuple[str, ...] | None = None
    metrics: dict[str, _Column] = {}
    spans = _Spans(blob, strings)
    status: dict[str, Any] = {}
    for header, start, end in zip(heads, starts, starts[1:], strict=False):
        cursor = _Cursor(start, end - start)
        m = header["metrics"]
        n = int(m["rows"])
        if n < 0 or not isinstance(m["columns"], list):
            raise ValueError("bad metric columns")
        names = []
        for name, how in m["columns"]:
            if not isinstance(name, str) or not isinstance(how, dict):
                raise ValueError("bad metric column")
            column = metrics.setdefault(name, _Column())
            at = cursor.take(n * _width(how))
            if n:
                column.offsets.append(at)
                column.rows.append(n)
                column.hows.append(how)
                names.append(name)
        if len(set(names)) != len(names):
            raise Unsupported("a metric column twice")
        if n:
            if metric_names is not None and tuple(names) != metric_names:
                raise Unsupported("metric columns differ between ticks")
            metric_names = tuple(names)
        s = header["spans"]
        rows = int(s["rows"])
        if rows < 0:
            raise ValueError("bad span count")
        if rows:
            spans.add(s, rows, cursor)
        cursor.finish()
        tick_status = header.get("status", {})
        if not isinstance(tick_status, dict):
            raise ValueError("bad status")
        status.update(tick_status)
    columns = {name: _floats(blob, metrics[name]) for name in metric_names or ()}
    return Batch(metrics=Table(columns), spans=spans.table(), status=status)


def _floats(blob: np.ndarray[Any, Any], column: _Column) -> np.ndarray[Any, Any]:
    """A float column from its pieces: `payload.unpack_floats` of each, concatenated."""
    total = sum(column.rows)
    out = np.empty(total)
    bounds = np.concatenate([[0], np.cumsum(column.rows)]).tolist()
    groups: dict[tuple[str, int], list[int]] = {}
    for i, how in enumerate(column.hows):
        if how.get("nan"):
            out[bounds[i] : bounds[i + 1]] = np.nan
        else:
            places = -1 if how["dtype"] == "<f8" else int(how["places"])
            groups.setdefault((how["dtype"], places), []).append(i)
    for (dtype, places), members in groups.items():
        rows = np.array([column.rows[i] for i in members])
        raw = _unshuffle(blob, np.array([column.offsets[i] for i in members]), rows, dtype)
        where: slice | np.ndarray[Any, Any]
        if len(members) == len(column.hows):  # the usual case: every piece alike, in order
            where = slice(0, total)
        else:
            where = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in members])
        if places < 0:
            out[where] = raw.astype(np.float64)
        else:
            base = np.repeat(np.array([int(column.hows[i]["base"]) for i in members]), rows)
            out[where] = (raw.astype(np.int64) + base) / 10.0**places
    return out


def _unshuffle(
    blob: np.ndarray[Any, Any],
    offsets: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    dtype: str,
) -> np.ndarray[Any, Any]:
    """Values stored as byte planes (all first bytes, then all second bytes …) per piece."""
    width = np.dtype(dtype).itemsize
    piece = np.repeat(np.arange(len(rows)), rows)
    within = np.arange(int(rows.sum())) - np.repeat(np.cumsum(rows) - rows, rows)
    first = offsets[piece] + within
    index = first[:, None] + rows[piece][:, None] * np.arange(width)
    return np.ascontiguousarray(blob[index]).view(dtype).reshape(-1)


def _plain(
    blob: np.ndarray[Any, Any], offsets: list[int], rows: list[int], dtype: str
) -> np.ndarray[Any, Any]:
    """Little-endian values stored one after another, per piece, concatenated."""
    width = np.dtype(dtype).itemsize
    n = np.array(rows)
    piece = np.repeat(np.arange(len(rows)), n)
    within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    first = np.array(offsets, dtype=np.int64)[piece] + within * width
    index = first[:, None] + np.arange(width)
    return np.ascontiguousarray(blob[index]).view(dtype).reshape(-1).astype(np.int64)


class _Spans:
    """The span sections of a block's payloads, gathered, then decoded together."""

    def __init__(self, blob: np.ndarray[Any, Any], strings: Strings) -> None:
        self.blob = blob
        self.strings = strings
        self.rows: list[int] = []
        self.index: dict[str, tuple[list[int], list[str]]] = {}
        self.floats = {"start": _Column(), "duration_ms": _Column()}
        self.extra: dict[str, _Column] = {}
        self.extra_names: tuple[str, ...] | None = None
        self.ids: list[str] = []  # every payload's id table, "" first, one after another
        self.id_base: list[int] = []
        self.id_size: list[int] = []
        self.errors: list[int] = []

    def _index(self, name: str, at: int, dtype: str) -> None:
        offsets, dtypes = self.index.setdefault(name, ([], []))
        offsets.append(at)
        dtypes.append(dtype)

    def add(self, s: dict[str, Any], rows: int, cursor: _Cursor) -> None:
        self.rows.append(rows)
        for name in ID_FIELDS:
            self._index(name, cursor.take(rows * _index_width(s[name])), s[name])
        ids_how = s["ids"]
        if "hex" in ids_how:
            count = int(ids_how["hex"])
            lengths = self.blob[cursor.take(count) :][:count]
            nbytes = int(ids_how["bytes"])
            at = cursor.take(nbytes)
            if int(lengths.sum()) != nbytes:
                raise ValueError("bad id bytes")
            raw = self.blob[at : at + nbytes].tobytes()
            ends = np.cumsum(lengths).tolist()
            distinct = [raw[a:b].hex() for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        else:
            distinct = ids_how["text"]
            if not all(isinstance(i, str) for i in distinct):
                raise ValueError("bad ids")
        self.id_base.append(len(self.ids))
        self.id_size.append(len(distinct) + 1)
        self.ids.append("")
        self.ids.extend(distinct)
        texts = s["text"]
        for name in (*TEXT_FIELDS, "attributes"):
            self._index(name, cursor.take(rows * _index_width(texts[name])), texts[name])
        for name in ("start", "duration_ms"):
            how = s[name]
            column = self.floats[name]
            column.offsets.append(cursor.take(rows * _width(how)))
            column.rows.append(rows)
            column.hows.append(how)
        self.errors.append(cursor.take(rows))
        names = []
        for name, how in s.get("extra", []):
            if not isinstance(name, str) or not isinstance(how, dict):
                raise ValueError("bad span column")
            if name in (*ID_FIELDS, *TEXT_FIELDS, "start", "duration_ms", "error", "attributes"):
                raise ValueError("bad span column")
            column = self.extra.setdefault(name, _Column())
            column.offsets.append(cursor.take(rows * _width(how)))
            column.rows.append(rows)
            column.hows.append(how)
            names.append(name)
        if self.extra_names is not None and tuple(names) != self.extra_names:
            raise Unsupported("span columns differ between ticks")
        if len(set(names)) != len(names):
            raise ValueError("bad span column")
        self.extra_names = tuple(names)

    def _codes(self, name: str) -> np.ndarray[Any, Any]:
        offsets, dtypes = self.index[name]
        if len(set(dtypes)) == 1:
            return _plain(self.blob, offsets, self.rows, dtypes[0])
        pieces = zip(offsets, self.rows, dtypes, strict=True)
        return np.concatenate([_plain(self.blob, [o], [r], d) for o, r, d in pieces])

    def table(self) -> Table:
        if not self.rows:
            return Table({})
        rows = np.array(self.rows)
        cols: dict[str, Any] = {}
        table = np.array(self.ids, dtype=object)
        base = np.repeat(np.array(self.id_base), rows)
        size = np.repeat(np.array(self.id_size), rows)
        for name in ID_FIELDS:
            codes = self._codes(name)
            if codes.size and (int(codes.min()) < 0 or bool((codes >= size).any())):
                raise ValueError("index out of range")
            cols[name] = table[codes + base]
        words = self.strings.words
        for name in TEXT_FIELDS:
            cols[name] = words[_checked(self._codes(name), len(words))]
            if None in cols[name].tolist():
                raise ValueError(f"{name}: missing string")
        attr_index = _checked(self._codes("attributes"), len(words))
        distinct, inverse = np.unique(attr_index, return_inverse=True)
        parsed = np.empty(len(distinct), dtype=object)
        parsed[:] = [self.strings.attributes(i) for i in distinct.tolist()]
        attributes = parsed[inverse.reshape(-1)]
        cols["start"] = _floats(self.blob, self.floats["start"])
        cols["duration_ms"] = _floats(self.blob, self.floats["duration_ms"])
        cols["error"] = _plain(self.blob, self.errors, self.rows, "u1").astype(bool)
        cols["attributes"] = attributes
        for name in self.extra_names or ():
            cols[name] = _floats(self.blob, self.extra[name])
        return Table(cols)


def _checked(index: np.ndarray[Any, Any], size: int) -> np.ndarray[Any, Any]:
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError("index out of range")
    return index
