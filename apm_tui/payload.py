"""A recorded tick's payload: one batch in compact, lossless, pickle-free bytes (schemas 2, 3).

Schema 1 wrote every string and id as JSON text and every number as float64 (≈ 65 bytes a
span, 8.7 MB for an hour of the default world). Schema 2 (≈ a quarter of that) keeps the same
values bit for bit, only smaller:

- Strings that repeat across ticks — services, operations, kinds, and each distinct set of
  span attributes as canonical JSON — are numbers into the recording's string table (its
  `strings` table, written in the same transaction as the tick that first uses them).
- Ids are numbers into the tick's own list of distinct ids (a trace's spans share one trace id;
  a parent id is another span's id), and that list is stored as raw bytes when every id is
  lowercase hex (random ids do not compress: 8 bytes beat 16 hex digits).
- A float column is stored as integers when it is exactly integers / 10**k for a small k (tick
  times and span times to the microsecond, most metrics): `ints / 10**k` gives back the very
  same float64s, checked before choosing this; otherwise it stays float64. NaN-only columns
  take no bytes.

Layout inside zlib: a 4-byte length, a header (the encodings, the status), then the columns'
bytes in header order, each numeric column's bytes shuffled (all first bytes, then all second
bytes …) so the mostly zero high bytes compress. Schema 2's header is JSON (with `ZDICT`, the
usual header text, as zlib's preset dictionary); schema 3's is the same fields packed
(`payload_header`, with its own dictionary), and its payloads are decoded by
`payload_block.decode_joined`. Decoding checks every length and index.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table, factorize
from apm_tui.payload_header import PACKED_ZDICT, TYPES, packed
from apm_tui.printable import any_control, attribute_texts, printable, printable_attributes

#: A tick's payload may not inflate beyond this (a damaged or hostile file must not eat memory).
MAX_PAYLOAD = 64 * 1024 * 1024
#: Decimal places tried, fewest first, before a float column is left as float64.
PLACES = (0, 1, 2, 3, 6)
ID_FIELDS = ("trace_id", "span_id", "parent_id")
TEXT_FIELDS = ("service", "operation", "kind")
KNOWN_SPAN_COLUMNS = (*ID_FIELDS, *TEXT_FIELDS, "start", "duration_ms", "error", "attributes")
HEX_CHARS = re.compile(r"[0-9a-f]+")

Intern = Callable[[str], int]

#: zlib's preset dictionary for schema 2: the text every header repeats (a tick's header
#: compresses from ≈ 330 to ≈ 100 bytes). Part of the format: changing it needs a new schema.
ZDICT = (
    b'"status":{}}"text":{"service":"<i1","operation":"<i1","kind":"<i1","attributes":"<i1"},'
    b'"start":{"places":6,"base":17,"dtype":"<i4"},"duration_ms":{"places":3,"base":'
    b'"spans":{"rows":,"trace_id":"<i1","span_id":"<i1","parent_id":"<i1","ids":{"hex":,"bytes":'
    b'["timestamp",{"places":0,"base":17,"dtype":"<i1"}],["response_time_ms",{"places":3,"base":'
    b'"dtype":"<i1"}],["throughput_rps",{"places":3,"base":"dtype":"<i1"}],["cpu_pct",'
    b'{"places":3,"base":"dtype":"<i1"}],["memory_pct",{"places":3,"base":"dtype":"<i1"}],'
    b'["db_query_ms",{"places":3,"base":"dtype":"<i1"}],["error_rate_pct",{"places":3,"base":'
    b'"dtype":"<i1"}],["orders_per_minute",{"places":3,"base":"dtype":"<i1"}]]},'
    b'{"metrics":{"rows":1,"columns":[["timestamp",{"places":0,"base":17'
)


def jsonable(value: Any) -> Any:
    """Plain JSON: tuples become lists, NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    return value


# -- numbers -------------------------------------------------------------------------------------
_INT_RANGES = tuple((d, int(np.iinfo(d).min), int(np.iinfo(d).max)) for d in ("<i1", "<i2", "<i4"))


def _int_dtype(low: int, high: int) -> str:
    for dtype, least, most in _INT_RANGES:
        if least <= low and high <= most:
            return dtype
    return "<i8"


def pack_floats(values: np.ndarray[Any, Any]) -> tuple[dict[str, Any], bytes]:
    """(how, bytes) for a float column, lossless; see the module docstring."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.isnan(v).all():
        return {"nan": True}, b""
    if np.isfinite(v).all() and np.abs(v).max() < 2**52 / 1e6:
        first = float(v[0])
        for places in PLACES:
            scale = 10.0**places
            if round(first * scale) / scale != first:  # (cheap: most places fail here)
                continue
            ints = np.rint(v * scale)
            if np.array_equal(ints / scale, v):
                k = ints.astype(np.int64)
                base = int(k.min())
                dtype = _int_dtype(0, int(k.max()) - base)
                return {"places": places, "base": base, "dtype": dtype}, _shuffled(
                    (k - base).astype(dtype)
                )
    return {"dtype": "<f8"}, _shuffled(v.astype("<f8"))


def _shuffled(values: np.ndarray[Any, Any]) -> bytes:
    width = values.dtype.itemsize
    return values.view(np.uint8).reshape(-1, width).T.tobytes()


def _unshuffled(raw: np.ndarray[Any, Any], dtype: str, rows: int) -> np.ndarray[Any, Any]:
    width = np.dtype(dtype).itemsize
    return raw.reshape(width, rows).T.copy().view(dtype).reshape(rows)


#: The stored types of a float column.
FLOAT_DTYPES = TYPES


def float_encoding(how: Any) -> tuple[str | None, int, int]:
    """(stored type, None for a NaN-only column; base; places) of a float column's encoding
    from a header, checked: anything else — not a dict, an unknown type or scale — is a
    ValueError, as a damaged payload must be."""
    if not isinstance(how, dict):
        raise ValueError(f"bad column encoding {how!r}")
    if how.get("nan"):
        return None, 0, 0
    dtype = how["dtype"]
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"bad column type {dtype!r}")
    if dtype == "<f8":
        return dtype, 0, 0
    places = int(how["places"])
    if places not in PLACES:
        raise ValueError("bad column scale")
    return dtype, int(how["base"]), places


def unpack_floats(how: Any, rows: int, take: Callable[[int, str], Any]) -> Any:
    dtype, base, places = float_encoding(how)
    if dtype is None:
        return np.full(rows, np.nan)
    raw = _unshuffled(take(rows * np.dtype(dtype).itemsize, "u1"), dtype, rows)
    if dtype == "<f8":
        return raw.astype(np.float64)
    return (raw.astype(np.int64) + base) / 10.0**places


# -- encoding ------------------------------------------------------------------------------------
def encode_batch(batch: Batch, intern: Intern, *, schema: int = 3) -> bytes:
    """The payload of one batch; `intern(text)` numbers a string in the recording's table.
    Schema 3 packs the header (`payload_header`); schema 2 (JSON) is written for tests of its
    reader."""
    metrics, spans = batch.metrics, batch.spans
    parts: list[bytes] = []
    columns = []
    for name in metrics.names:
        how, data = pack_floats(metrics[name])
        columns.append([name, how])
        parts.append(data)
    header: dict[str, Any] = {
        "metrics": {"rows": len(metrics), "columns": columns},
        "spans": {"rows": len(spans)},
        "status": jsonable(dict(batch.status)),
    }
    if len(spans):
        header["spans"].update(_encode_spans(spans, intern, parts))
    if schema == 2:
        head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
        packer = zlib.compressobj(6, zdict=ZDICT)
    else:
        head = packed(header, intern)
        packer = zlib.compressobj(6, zdict=PACKED_ZDICT)
    raw = len(head).to_bytes(4, "little") + head + b"".join(parts)
    return packer.compress(raw) + packer.flush()


def _encode_spans(spans: Table, intern: Intern, parts: list[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = len(spans)
    # One numbering for the three id columns, with "" (a root's parent) first, as 0.
    joined = np.concatenate([np.array([""], dtype=object), *(spans[f] for f in ID_FIELDS)])
    codes, distinct = _factorize(joined)
    distinct = distinct[1:] if distinct[0] == "" else distinct  # (factorize saw "" first)
    dtype = _int_dtype(0, len(distinct))
    for i, name in enumerate(ID_FIELDS):
        parts.append(codes[1 + i * n : 1 + (i + 1) * n].astype(dtype).tobytes())
        out[name] = dtype
    lengths = np.fromiter(map(len, distinct), np.int64, len(distinct))
    if not (lengths % 2).any() and HEX_CHARS.fullmatch("".join(distinct)):
        raw = bytes.fromhex("".join(distinct))
        parts.append((lengths // 2).astype(np.uint8).tobytes() + raw)
        out["ids"] = {"hex": len(distinct), "bytes": len(raw)}
    else:
        out["ids"] = {"text": distinct}
    texts = {}
    for name in TEXT_FIELDS:
        codes, values = _factorize(spans[name])
        index = np.array([intern(v) for v in values], dtype=np.int64)[codes]
        texts[name] = _int_dtype(0, int(index.max()))
        parts.append(index.astype(texts[name]).tobytes())
    # Sources share attribute dicts between spans, or build equal ones per span: each
    # distinct object, then each distinct content, is turned into JSON once.
    by_object: dict[int, int] = {}
    by_items: dict[Any, int] = {}

    def number(attrs: Any) -> int:
        found = by_object.get(id(attrs))
        if found is None:
            try:
                key: Any = tuple(attrs.items())
                found = by_items.get(key)
            except TypeError:  # a list among the values: not hashable
                key = None
            if found is None:
                found = intern(_attrs_text(attrs))
                if key is not None:
                    by_items[key] = found
            by_object[id(attrs)] = found
        return found

    index = np.fromiter(map(number, spans["attributes"]), np.int64, len(spans))
    texts["attributes"] = _int_dtype(0, int(index.max()))
    parts.append(index.astype(texts["attributes"]).tobytes())
    out["text"] = texts
    out["start"], data = pack_floats(spans["start"])
    parts.append(data)
    out["duration_ms"], data = pack_floats(spans["duration_ms"])
    parts.append(data)
    parts.append(np.asarray(spans["error"], dtype=np.uint8).tobytes())
    # A source's own numeric span columns (a log's response `bytes`, say) travel too.
    extra = []
    for name in spans.names:
        if name not in KNOWN_SPAN_COLUMNS and spans[name].dtype.kind in "fiub":
            how, data = pack_floats(np.asarray(spans[name], dtype=np.float64))
            extra.append([name, how])
            parts.append(data)
    if extra:
        out["extra"] = extra
    return out


def _factorize(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], list[str]]:
    """`factorize`, the distinct values as text (the format stores text)."""
    codes, uniques = factorize(values)
    return codes, [str(u) for u in uniques]


def _attrs_text(attrs: Any) -> str:
    return json.dumps(jsonable(dict(attrs)), separators=(",", ":"), allow_nan=False)


# -- decoding ------------------------------------------------------------------------------------
class Strings:
    """A recording's string table for decoding, with each attribute set parsed once (a
    replay at 64× decodes 64 ticks a second: parsing them again was a third of that)."""

    def __init__(self, values: Sequence[str | None]) -> None:
        # Names, ids and attribute sets (JSON, made printable as each is parsed): a recording
        # is anyone's file, and what it holds is drawn on a terminal (apm_tui.printable).
        self.values = list(values)
        if any_control([v for v in self.values if v is not None]):
            self.values = [v if v is None else printable(v) for v in self.values]
        self.words = np.empty(len(self.values), dtype=object)
        self.words[:] = self.values
        #: Which strings are lost (with a damaged page): many indexes checked in one go.
        self.missing = np.array([v is None for v in self.values], dtype=bool)
        # Each attribute set parsed once, by its index, and which are parsed already.
        self._parsed = np.empty(len(self.values), dtype=object)
        self._found = np.zeros(len(self.values), dtype=bool)

    def attributes(self, i: int) -> dict[str, Any]:
        if not self._found[i]:
            text = self.values[i]
            if text is None:
                raise ValueError("attributes: missing string")
            found = json.loads(text)
            if not isinstance(found, dict):
                raise ValueError("bad span attributes")
            # A file made before text was made printable where it enters, or by anyone.
            if any_control(attribute_texts([found])):
                found = printable_attributes(found)
            self._parsed[i] = found
            self._found[i] = True
        parsed: dict[str, Any] = self._parsed[i]
        return parsed

    def attributes_at(self, index: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """`attributes(i)` for each i of `index` (in range: the caller checks), as an object
        array; each distinct set is looked up once, not once per row."""
        new = index[~self._found[index]]
        for i in np.unique(new).tolist():
            self.attributes(i)
        found: np.ndarray[Any, Any] = self._parsed[index]
        return found


class Reader:
    """The columns' bytes after a payload's header, taken in order; every length is checked."""

    def __init__(self, body: memoryview) -> None:
        self.body = body
        self.cursor = 0

    def take(self, count: int, dtype: str) -> np.ndarray[Any, Any]:
        width = np.dtype(dtype).itemsize
        end = self.cursor + count * width
        if count < 0 or end > len(self.body):
            raise ValueError("payload truncated")
        out = np.frombuffer(self.body[self.cursor : end], dtype=dtype).copy()
        self.cursor = end
        return out

    def finish(self) -> None:
        if self.cursor != len(self.body):
            raise ValueError("payload has trailing bytes")


def split_payload(payload: bytes, zdict: bytes | None) -> tuple[bytes, memoryview]:
    """A payload inflated (capped at `MAX_PAYLOAD`): its header's bytes and its body."""
    inflater = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
    raw = inflater.decompress(payload, MAX_PAYLOAD)
    if inflater.unconsumed_tail:
        raise ValueError("payload too large")
    if len(raw) < 4:
        raise ValueError("payload too short")
    size = int.from_bytes(raw[:4], "little")
    if 4 + size > len(raw):
        raise ValueError("payload header truncated")
    return raw[4 : 4 + size], memoryview(raw)[4 + size :]


def open_payload(payload: bytes, zdict: bytes | None = ZDICT) -> tuple[dict[str, Any], Reader]:
    """A schema-1 or 2 payload's JSON header and a reader of the columns after it (schema 1
    has no preset dictionary: `zdict=None`)."""
    head, body = split_payload(payload, zdict)
    try:
        header = json.loads(head)
    except RecursionError:
        raise ValueError("header nested too deeply") from None
    if not isinstance(header, dict):
        raise ValueError("bad header")
    return header, Reader(body)


def check_rows(rows: int, body: int) -> int:
    """`rows` if a body of `body` bytes can hold them. Every row stores at least one byte (a
    sample's time, a span's ids and error flag), so a payload claiming more rows than it has
    bytes — which NaN-only columns (no bytes) would otherwise fill in, 300 million of them
    from a file of 765 KB — is damaged or hostile."""
    if rows < 0 or rows > body:
        raise ValueError(f"bad row count {rows} for a payload of {body} bytes")
    return rows


def decode_batch(payload: bytes, strings: Strings | Sequence[str | None]) -> Batch:
    """The batch in a payload; `ValueError` (or KeyError/TypeError) for anything that does not
    add up. `strings` is the recording's string table."""
    if not isinstance(strings, Strings):
        strings = Strings(strings)
    header, reader = open_payload(payload)
    m = header["metrics"]
    n = check_rows(int(m["rows"]), len(reader.body))
    if not isinstance(m["columns"], list):
        raise ValueError("bad metric columns")
    metrics: dict[str, Any] = {}
    for name, how in m["columns"]:
        if not isinstance(name, str) or not isinstance(how, dict):
            raise ValueError("bad metric column")
        metrics[name] = unpack_floats(how, n, reader.take)
    s = header["spans"]
    rows = check_rows(int(s["rows"]), len(reader.body))
    spans = _decode_spans(s, rows, reader, strings) if rows else Table({})
    reader.finish()
    return Batch(metrics=Table(metrics), spans=spans, status=checked_status(header))


def checked_status(header: dict[str, Any]) -> dict[str, Any]:
    """A payload's status: a dict, whose notices (said to the user) are a list of strings —
    a string would be said a character a line."""
    status = header.get("status", {})
    if not isinstance(status, dict):
        raise ValueError("bad status")
    notices = status.get("notices", [])
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise ValueError("bad notices")
    return status


def _decode_spans(s: dict[str, Any], rows: int, reader: Reader, strings: Strings) -> Table:
    if rows < 0:
        raise ValueError("bad span count")
    index = {name: reader.take(rows, index_dtype(s[name])) for name in ID_FIELDS}
    ids_how = s["ids"]
    if "hex" in ids_how:
        count = int(ids_how["hex"])
        lengths = reader.take(count, "u1")
        blob = reader.take(int(ids_how["bytes"]), "u1").tobytes()
        if int(lengths.sum()) != len(blob):
            raise ValueError("bad id bytes")
        ends = np.cumsum(lengths).tolist()
        distinct = [blob[a:b].hex() for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    else:
        distinct = ids_how["text"]
        if not all(isinstance(i, str) for i in distinct):
            raise ValueError("bad ids")
    table = np.array(["", *distinct], dtype=object)
    cols: dict[str, Any] = {}
    for name in ID_FIELDS:
        cols[name] = table[checked_index(index[name], len(table))]
    words = strings.words
    texts = s["text"]
    for name in TEXT_FIELDS:
        taken = checked_index(reader.take(rows, index_dtype(texts[name])), len(words))
        if strings.missing[taken].any():  # a string lost with a damaged page
            raise ValueError(f"{name}: missing string")
        cols[name] = words[taken]
    attr_index = checked_index(reader.take(rows, index_dtype(texts["attributes"])), len(words))
    attributes = strings.attributes_at(attr_index)
    cols["start"] = unpack_floats(s["start"], rows, reader.take)
    cols["duration_ms"] = unpack_floats(s["duration_ms"], rows, reader.take)
    cols["error"] = reader.take(rows, "u1").astype(bool)
    cols["attributes"] = attributes
    for name, how in s.get("extra", []):
        if not isinstance(name, str) or name in cols or not isinstance(how, dict):
            raise ValueError("bad span column")
        cols[name] = unpack_floats(how, rows, reader.take)
    return Table(cols)


def index_dtype(dtype: Any) -> str:
    """An index column's stored type from a header, checked."""
    if dtype not in ("<i1", "<i2", "<i4", "<i8"):
        raise ValueError(f"bad index type {dtype!r}")
    return str(dtype)


def checked_index(index: np.ndarray[Any, Any], size: int) -> np.ndarray[Any, Any]:
    """`index`, once every value is known to point into a table of `size` entries."""
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError("index out of range")
    return index
