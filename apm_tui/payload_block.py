"""Many payloads decoded in one pass into one batch: for schema 2, what decoding each payload
(`payload.decode_batch`) and stacking the batches (`Table.concat`, statuses merged in order,
later wins) gives, value for value, with the numpy work done once for the block. Schema 3
(packed headers, `payload_header`) has only this decoder: one payload is a block of one.

A 64× replay decodes 64 ticks a second; one at a time, each tick's ≈ 20 small numpy calls
(unshuffling, scaling, range checks) cost more than the data in them. Here each payload is
only inflated and its header walked, noting where each column's bytes lie in the block's
joined bodies (a "piece": offset, rows, stored type) and checking every length as
`payload.Reader` does. Then all float pieces of the block (metrics, span times, extra span
columns) are read in one go, and so are all index pieces and all hex ids, with the same
integer-plus-base-over-power-of-ten arithmetic `payload.unpack_floats` uses.

The block path covers the usual case — every payload's metric columns, and every span
section's extra columns, named alike — and raises `Unsupported` otherwise; anything that
does not add up raises `ValueError` (or `KeyError`/`TypeError`), as `decode_batch` does. The
caller then decodes the payloads one by one, which also decides which tick is damaged.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table
from apm_tui.payload import (
    FLOAT_DTYPES,
    ID_FIELDS,
    KNOWN_SPAN_COLUMNS,
    PLACES,
    TEXT_FIELDS,
    Strings,
    check_rows,
    checked_index,
    checked_status,
    float_encoding,
    index_dtype,
    open_payload,
    split_payload,
)
from apm_tui.payload_header import (
    COLUMN,
    COUNTS,
    EXTRA,
    F8,
    HEX,
    HEX_IDS,
    ID_TYPES,
    NAN,
    PACKED_ZDICT,
    ROWS,
    TEXT,
    TEXT_TYPES,
    TIMES,
)

Array = np.ndarray[Any, Any]

#: The stored value types, numbered: a piece's type travels as a number in an int64 array.
TYPES = FLOAT_DTYPES
WIDTHS = (1, 2, 4, 8, 8, 0)  # bytes per value, by type number (NAN: none)
FLOAT_TYPES = {dtype: i for i, dtype in enumerate(TYPES)}
INDEX_TYPES = {dtype: i for i, dtype in enumerate(TYPES[:F8])}  # indexes are integers
#: 10.0**places by places, computed as `payload.unpack_floats` computes it.
DIVISORS = np.array([10.0**places for places in range(max(PLACES) + 1)])
#: The span columns whose indexes are read together, in payload order.
INDEX_COLUMNS = (*ID_FIELDS, *TEXT_FIELDS, "attributes")


class Unsupported(Exception):
    """The payloads differ in a way only the one-by-one path reproduces."""


def decode_joined(payloads: Sequence[bytes], strings: Strings, schema: int = 2) -> Batch:
    """The payloads' batches as one; see the module docstring. Schema 3's headers are
    packed (`payload_header`); its payloads are decoded one by one as a block of one."""
    walk = _Walk()
    bodies = []
    at = 0
    for payload in payloads:
        if schema >= 3:
            head, body = split_payload(payload, PACKED_ZDICT)
            walk.packed(head, at, at + len(body))
        else:
            header, reader = open_payload(payload)
            body = reader.body
            walk.payload(header, at, at + len(body))
        bodies.append(body)
        at += len(body)
    walk.name_columns(strings if schema >= 3 else None)
    return walk.batch(np.frombuffer(b"".join(bodies), dtype=np.uint8), strings)


def _float_how(how: Any) -> tuple[int, int, int]:
    """(type number, base, places) of a float column's encoding, checked by
    `payload.float_encoding` as the one-by-one decoder checks it."""
    dtype, base, places = float_encoding(how)
    return (NAN if dtype is None else FLOAT_TYPES[dtype]), base, places


def _index_type(dtype: Any) -> int:
    return INDEX_TYPES[index_dtype(dtype)]


def _checked_enc(number: int, places: int, base: int) -> tuple[int, int, int]:
    """(type number, base, places) of a packed float column's encoding, checked as
    `payload.float_encoding` checks a JSON one."""
    if number in (F8, NAN):
        return number, 0, 0
    if number > NAN:
        raise ValueError(f"bad column type {number}")
    if places not in PLACES:
        raise ValueError("bad column scale")
    return number, base, places


def _checked_index_type(number: int) -> int:
    if number >= F8:
        raise ValueError(f"bad index type {number}")
    return number


def _packed_columns(
    head: bytes, pos: int, count: int, rows: int, at: int, pieces: list[int]
) -> tuple[int, int, list[int]]:
    """`count` packed float columns of `rows` rows from header offset `pos` and body offset
    `at`, noted in `pieces`: (the offsets after them, their names' string numbers)."""
    names: list[int] = []
    for _ in range(count):
        name, number, places, base = COLUMN.unpack_from(head, pos)
        pos += COLUMN.size
        number, base, places = _checked_enc(number, places, base)
        pieces += (at, rows, number, base, places)
        at += rows * WIDTHS[number]
        names.append(name)
    return pos, at, names


def _json(text: bytes) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("header nested too deeply") from None


def _names(numbers: list[int], strings: Strings) -> list[str]:
    """Column names from their string-table numbers."""
    values = strings.values
    if any(i >= len(values) or values[i] is None for i in numbers):
        raise ValueError("missing string")  # (lost with a damaged page, or not yet read)
    return [str(values[i]) for i in numbers]


class _Walk:
    """The block's payload headers, walked one after another: where every column's bytes
    lie in the block's joined bodies, noted payload by payload as flat lists of ints (one
    `np.array` each; the bytes are read for the whole block in `batch`).

    A payload's offsets only grow (every length is checked ≥ 0), so its last offset landing
    exactly on its end is what checking each length against the end would have found."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        #: The block's metric columns: names (schema 2) or their string-table numbers (3).
        self.metric_key: list[Any] | None = None
        self.metric_names: list[str] | None = None
        self.metric_rows: list[int] = []
        #: Each metric column's (offset, rows, type, base, places), payload by payload.
        self.metric_floats: list[int] = []
        self.span_rows: list[int] = []
        #: The same for start, duration_ms and the extra columns, span section by section.
        self.span_floats: list[int] = []
        self.extra_key: list[Any] | None = None  # the extra span columns, the same way
        self.extra_names: list[str] | None = None
        self.indexes: list[int] = []  # (offset, type) of each of INDEX_COLUMNS, by section
        self.errors: list[int] = []  # offsets of the error flags (one byte a row)
        self.id_counts: list[int] = []  # distinct ids of each span section
        #: (section, offset of the lengths, count, offset of the bytes, their size)
        self.hex_ids: list[int] = []
        self.text_ids: list[tuple[int, list[Any]]] = []  # (section, the ids)

    def payload(self, header: dict[str, Any], at: int, end: int) -> None:
        at = self._metrics(header["metrics"], at, end)
        s = header["spans"]
        rows = check_rows(int(s["rows"]), end - at)
        if rows:
            at = self._spans(s, rows, at)
        if at != end:
            raise ValueError("payload truncated" if at > end else "payload has trailing bytes")
        self.status.update(checked_status(header))

    def _metrics(self, m: dict[str, Any], at: int, end: int) -> int:
        n = check_rows(int(m["rows"]), end - at)
        columns = m["columns"]
        if not isinstance(columns, list):
            raise ValueError("bad metric columns")
        names: list[str] = []
        pieces: list[int] = []
        for name, how in columns:
            if not isinstance(name, str):
                raise ValueError("bad metric column")
            number, base, places = _float_how(how)
            pieces += (at, n, number, base, places)
            at += n * WIDTHS[number]
            names.append(name)
        # (One by one a column twice is taken, the last one winning: that path decides.)
        self._same_metrics(names, n, pieces, twice=Unsupported)
        return at

    def _same_metrics(
        self, key: list[Any], n: int, pieces: list[int], *, twice: type[Exception]
    ) -> None:
        """A payload's metric pieces, when it has rows: its columns must be the block's."""
        if not n:
            return
        if self.metric_key is None:
            if len(set(key)) != len(key):
                raise twice("a metric column twice")
            self.metric_key = key
        elif key != self.metric_key:
            raise Unsupported("metric columns differ between ticks")
        self.metric_rows.append(n)
        self.metric_floats += pieces

    def _same_extra(self, key: list[Any], rows: int) -> None:
        """A span section's extra columns must be the block's."""
        if self.extra_key is None:
            self.extra_key = key
        elif key != self.extra_key:
            raise Unsupported("span columns differ between ticks")
        self.span_rows.append(rows)

    def _spans(self, s: dict[str, Any], rows: int, at: int) -> int:
        section = len(self.span_rows)
        indexes = self.indexes
        for name in ID_FIELDS:
            number = _index_type(s[name])
            indexes += (at, number)
            at += rows * WIDTHS[number]
        at = self._ids(s["ids"], section, at)
        texts = s["text"]
        for name in (*TEXT_FIELDS, "attributes"):
            number = _index_type(texts[name])
            indexes += (at, number)
            at += rows * WIDTHS[number]
        floats = self.span_floats
        for how in (s["start"], s["duration_ms"]):
            number, base, places = _float_how(how)
            floats += (at, rows, number, base, places)
            at += rows * WIDTHS[number]
        self.errors.append(at)
        at += rows
        names: list[str] = []
        for name, how in s.get("extra", []):
            if not isinstance(name, str) or name in KNOWN_SPAN_COLUMNS or name in names:
                raise ValueError("bad span column")
            number, base, places = _float_how(how)
            floats += (at, rows, number, base, places)
            at += rows * WIDTHS[number]
            names.append(name)
        self._same_extra(names, rows)
        return at

    def _ids(self, how: Any, section: int, at: int) -> int:
        if "hex" in how:
            count, nbytes = int(how["hex"]), int(how["bytes"])
            if count < 0 or nbytes < 0:
                raise ValueError("payload truncated")
            self.hex_ids += (section, at, count, at + count, nbytes)
            at += count + nbytes
        else:
            distinct = list(how["text"])
            if not all(isinstance(i, str) for i in distinct):
                raise ValueError("bad ids")
            self.text_ids.append((section, distinct))
            count = len(distinct)
        self.id_counts.append(count)
        return at

    # -- schema 3 -----------------------------------------------------------------------------
    def packed(self, head: bytes, at: int, end: int) -> None:
        """`payload` for a packed header."""
        try:
            pos, at = self._packed_metrics(head, at, end)
            (rows,) = ROWS.unpack_from(head, pos)
            pos += ROWS.size
            rows = check_rows(rows, end - at)
            if rows:
                pos, at = self._packed_spans(head, pos, rows, at)
            (size,) = ROWS.unpack_from(head, pos)
            pos += ROWS.size
        except struct.error:
            raise ValueError("payload header truncated") from None
        text = head[pos : pos + size]
        if pos + size != len(head):
            raise ValueError("bad payload header length")
        if at != end:
            raise ValueError("payload truncated" if at > end else "payload has trailing bytes")
        if size:
            self.status.update(checked_status({"status": _json(text)}))

    def _packed_metrics(self, head: bytes, at: int, end: int) -> tuple[int, int]:
        rows, columns = COUNTS.unpack_from(head, 0)
        pos = COUNTS.size
        n = check_rows(rows, end - at)
        pieces: list[int] = []
        pos, at, names = _packed_columns(head, pos, columns, n, at, pieces)
        self._same_metrics(names, n, pieces, twice=ValueError)
        return pos, at

    def _packed_spans(self, head: bytes, pos: int, rows: int, at: int) -> tuple[int, int]:
        section = len(self.span_rows)
        indexes = self.indexes
        *id_types, form = ID_TYPES.unpack_from(head, pos)
        pos += ID_TYPES.size
        for number in id_types:
            number = _checked_index_type(number)
            indexes += (at, number)
            at += rows * WIDTHS[number]
        if form == HEX:
            count, nbytes = HEX_IDS.unpack_from(head, pos)
            pos += HEX_IDS.size
            self.hex_ids += (section, at, count, at + count, nbytes)
            self.id_counts.append(count)
            at += count + nbytes
        elif form == TEXT:
            (size,) = ROWS.unpack_from(head, pos)
            pos += ROWS.size
            distinct = _json(head[pos : pos + size])
            pos += size
            if not isinstance(distinct, list) or not all(isinstance(i, str) for i in distinct):
                raise ValueError("bad ids")
            self.text_ids.append((section, distinct))
            self.id_counts.append(len(distinct))
        else:
            raise ValueError(f"bad id form {form}")
        for number in TEXT_TYPES.unpack_from(head, pos):
            number = _checked_index_type(number)
            indexes += (at, number)
            at += rows * WIDTHS[number]
        pos += TEXT_TYPES.size
        times = TIMES.unpack_from(head, pos)
        pos += TIMES.size
        floats = self.span_floats
        for enc in (times[:3], times[3:]):
            number, base, places = _checked_enc(*enc)
            floats += (at, rows, number, base, places)
            at += rows * WIDTHS[number]
        self.errors.append(at)
        at += rows
        (count,) = EXTRA.unpack_from(head, pos)
        pos += EXTRA.size
        pos, at, names = _packed_columns(head, pos, count, rows, at, floats)
        if len(set(names)) != len(names):
            raise ValueError("bad span column")
        self._same_extra(names, rows)
        return pos, at

    def name_columns(self, strings: Strings | None) -> None:
        """The block's column names: its keys (schema 2), or (3, with the recording's string
        table) the names their numbers stand for."""
        if strings is None:
            self.metric_names, self.extra_names = self.metric_key, self.extra_key
            return
        if self.metric_key is not None:
            self.metric_names = _names(self.metric_key, strings)
        if self.extra_key is not None:
            self.extra_names = _names(self.extra_key, strings)
            if any(name in KNOWN_SPAN_COLUMNS for name in self.extra_names):
                raise ValueError("bad span column")

    # -- both ---------------------------------------------------------------------------------
    def batch(self, blob: Array, strings: Strings) -> Batch:
        metrics: dict[str, Array] = {}
        if self.metric_names:
            rows = np.array(self.metric_rows)
            pieces = _pieces(self.metric_floats, len(rows), 5)
            values = _floats(blob, pieces, *_expand(rows))
            metrics = dict(zip(self.metric_names, values, strict=True))
        spans = self._spans_table(blob, strings) if self.span_rows else Table({})
        return Batch(metrics=Table(metrics), spans=spans, status=self.status)

    def _spans_table(self, blob: Array, strings: Strings) -> Table:
        rows = np.array(self.span_rows)
        section, within = _expand(rows)  # each span's section, and its row there
        codes = _ints(blob, _pieces(self.indexes, len(rows), 2), section, within)
        cols: dict[str, Any] = {}
        table, starts, sizes = self._id_table(blob)
        ids = codes[: len(ID_FIELDS)]
        if ids.size and (int(ids.min()) < 0 or bool((ids >= sizes[section]).any())):
            raise ValueError("index out of range")
        cols.update(zip(ID_FIELDS, table[ids + starts[section]], strict=True))
        texts = checked_index(codes[len(ID_FIELDS) : -1], len(strings.words))
        if strings.missing[texts].any():  # a string lost with a damaged page
            raise ValueError("missing string")
        cols.update(zip(TEXT_FIELDS, strings.words[texts], strict=True))
        floats = _floats(blob, _pieces(self.span_floats, len(rows), 5), section, within)
        cols["start"], cols["duration_ms"] = floats[0], floats[1]
        cols["error"] = blob[np.array(self.errors)[section] + within].astype(bool)
        cols["attributes"] = strings.attributes_at(checked_index(codes[-1], len(strings.words)))
        cols.update(zip(self.extra_names or (), floats[2:], strict=True))
        return Table(cols)

    def _id_table(self, blob: Array) -> tuple[Array, Array, Array]:
        """Every span section's id table ("" then its distinct ids) one after another, where
        each section's table starts, and its size."""
        sizes = np.array(self.id_counts) + 1
        starts = np.cumsum(sizes) - sizes
        table = np.empty(int(sizes.sum()), dtype=object)
        table[starts] = ""
        if self.hex_ids:
            hex_ids = np.array(self.hex_ids, dtype=np.int64).reshape(-1, 5)
            section, at, count, bytes_at, nbytes = hex_ids.T
            _put_hex_ids(table, starts[section] + 1, blob, at, count, bytes_at, nbytes)
        for section_, distinct in self.text_ids:
            start = int(starts[section_]) + 1
            table[start : start + len(distinct)] = distinct
        return table, starts, sizes


def _pieces(flat: list[int], payloads: int, fields: int) -> Array:
    """Pieces noted as a flat list, payload by payload, as (payloads, columns, fields)."""
    return np.fromiter(flat, dtype=np.int64, count=len(flat)).reshape(payloads, -1, fields)


def _expand(rows: Array) -> tuple[Array, Array]:
    """For each row of payloads' pieces laid end to end: its payload, and its place there."""
    piece = np.repeat(np.arange(len(rows)), rows)
    starts = np.cumsum(rows) - rows
    return piece, np.arange(len(piece)) - starts[piece]


def _by_type(types: Array, row_types: Array) -> list[tuple[int, slice | Array]]:
    """Each stored type among pieces `types`, with where its rows are among `row_types` (all
    of them, as a slice, when the pieces share one type: the usual case)."""
    present = np.flatnonzero(np.bincount(types.reshape(-1), minlength=1)).tolist()
    if len(present) == 1:
        return [(present[0], slice(None))]
    return [(number, row_types == number) for number in present]


def _unshuffled(blob: Array, first: Array, step: Array, number: int) -> Array:
    """Values of one stored type, each from the bytes at `first`, `first + step` …"""
    width = WIDTHS[number]
    index = np.empty((*first.shape, width), dtype=np.int64)
    for k in range(width):  # (a byte of every value at a time: numpy is slow on short rows)
        index[..., k] = first + step * k
    return blob[index].view(TYPES[number]).reshape(first.shape)


def _at_every_byte(blob: Array, dtype: str) -> Array:
    """`blob` seen as values of `dtype` starting at every byte (overlapping and unaligned: a
    view, no copy), so that values stored whole at any offsets are one gather."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((max(len(blob) - size + 1, 0),), dtype=dtype, buffer=blob, strides=(1,))


def _by_row(pieces: Array, payload: Array) -> Array:
    """The pieces' fields (payloads, columns, fields) for each row: (fields, columns, rows)."""
    fields = np.ascontiguousarray(pieces.transpose(2, 1, 0))
    return np.take(fields, payload, axis=2)  # (`take`: a few times faster than [..., payload])


def _floats(blob: Array, pieces: Array, payload: Array, within: Array) -> Array:
    """Float columns, one row each: `payload.unpack_floats` of each payload's piece, stacked.
    `pieces` is (payloads, columns, fields); the rows are given by their payload and place
    within it. Values are stored shuffled: a piece's first bytes, then its second bytes …"""
    at, rows, types, base, places = _by_row(pieces, payload)
    first = at + within
    out = np.empty(at.shape)
    for number, where in _by_type(pieces[:, :, 2], types):
        if number == NAN:
            out[where] = np.nan
            continue
        raw = _unshuffled(blob, first[where], rows[where], number)
        if number == F8:
            out[where] = raw
        else:
            out[where] = (raw.astype(np.int64) + base[where]) / DIVISORS[places[where]]
    return out


def _ints(blob: Array, pieces: Array, payload: Array, within: Array) -> Array:
    """Index columns, one row each, as `_floats` (fields: offset, type), stored plainly."""
    at, types = _by_row(pieces, payload)
    out = np.empty(at.shape, dtype=np.int64)
    for number, where in _by_type(pieces[:, :, 1], types):
        first = (at + within * WIDTHS[number])[where]
        out[where] = _at_every_byte(blob, TYPES[number])[first]
    return out


def _put_hex_ids(
    table: Array, slots: Array, blob: Array, at: Array, count: Array, bytes_at: Array, nbytes: Array
) -> None:
    """Each span section's hex-stored ids into `table` from its slot on, as `bytes.hex()` of
    each: one conversion per id length, not one per id. Each section's lengths must add up
    to its byte count."""
    section, within = _expand(count)
    lengths = blob[at[section] + within].astype(np.int64)
    ends = np.concatenate([[0], np.cumsum(lengths)])  # each id's end, sections end to end
    before = ends[np.cumsum(count) - count]  # the bytes of earlier sections' ids
    if (ends[np.cumsum(count)] - before != nbytes).any():
        raise ValueError("bad id bytes")
    first = bytes_at[section] + ends[:-1] - before[section]
    where = slots[section] + within
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        which = np.flatnonzero(lengths == length)
        if not length:  # (never written, but a damaged header may say so)
            table[where[which]] = ""
            continue
        text = _at_every_byte(blob, f"V{length}")[first[which]].tobytes().hex()
        # The hex digits as one string, seen as fixed-width strings of one id each.
        table[where[which]] = np.array(text).reshape(1).view(f"<U{2 * length}")
