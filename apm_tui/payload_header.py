"""Schema 3's payload header: schema 2's JSON header as packed binary fields.

A 64× replay inflates, parses and walks 64 headers a tick. As JSON (≈ 790 bytes for a tick
of the default world: eight metric columns, each `{"places":3,"base":79658,"dtype":"<i1"}`)
`json.loads` took 1.3–1.5 ms of them and the walk over the parsed dicts 1.1 ms, on a tick
budget of 40 ms; packed, the fields are read with `struct` at fixed offsets. The body after the
header is schema 2's, byte for byte. Little-endian throughout:

    metrics   u32 rows, u16 columns, then per column: u32 name (a string-table number), ENC
    spans     u32 rows; when rows > 0:
                u8 × 3   the trace / span / parent id index types (TYPE numbers 0–3)
                u8 form  0: ids as bytes — u32 count, u32 byte count (the lengths and bytes
                         are in the body); 1: ids as text — u32 size, then a JSON list of them
                u8 × 4   the service / operation / kind / attributes index types
                ENC      start, ENC duration_ms
                u16 extra columns, then per column: u32 name, ENC
    status    u32 size, then the status as a JSON object (size 0: none)

ENC, a float column's encoding: u8 type (0–3 integers of 1, 2, 4, 8 bytes, 4 float64, 5 NaN
only: no bytes), u8 places, i64 base; a value is (stored integer + base) / 10**places.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

#: The stored value types, numbered: a header names them by number.
TYPES = ("<i1", "<i2", "<i4", "<i8", "<f8")
F8, NAN = 4, 5  # a float64 column; a NaN-only column (no bytes)
HEX, TEXT = 0, 1  # how a span section's ids are stored

COUNTS = struct.Struct("<IH")  # metric rows, metric columns
COLUMN = struct.Struct("<IBBq")  # name, type, places, base
ROWS = struct.Struct("<I")
ID_TYPES = struct.Struct("<BBBB")  # three index types, the ids' form
HEX_IDS = struct.Struct("<II")  # count, bytes
TEXT_TYPES = struct.Struct("<BBBB")
TIMES = struct.Struct("<BBqBBq")  # start's ENC, duration's ENC
EXTRA = struct.Struct("<H")

_NUMBER = {dtype: i for i, dtype in enumerate(TYPES)}

#: zlib's preset dictionary for schema 3: a tick of the default world as written (its length
#: and packed header, eight metric columns and 160 spans). Fields recur from tick to tick in
#: the same places, so an hour's recording is 4 % smaller with it. Part of the format: changing
#: it needs a new schema.
PACKED_ZDICT = bytes.fromhex(
    "a40000000100000008003e0000000000b07f5769000000003f0000000003a14e010000000000400000000003"
    "6436000000000000410000000003ddc500000000000042000000000388e40000000000004300000000030"
    "57b0000000000004400000000036c0100000000000045000000000384a50100000000000e00000000000000"
    "11000000a00000000000000002062e9993616347060002039d05000000000000000000000000"
)


def _enc(how: dict[str, Any]) -> tuple[int, int, int]:
    """A column's encoding as `pack_floats` gives it, as (type, places, base)."""
    if how.get("nan"):
        return NAN, 0, 0
    if how["dtype"] == "<f8":
        return F8, 0, 0
    return _NUMBER[how["dtype"]], how["places"], how["base"]


def packed(header: dict[str, Any], intern: Callable[[str], int]) -> bytes:
    """Schema 2's header dict (from `payload.encode_batch`) as schema 3's binary header;
    column names go to the recording's string table."""
    m = header["metrics"]
    out = bytearray(COUNTS.pack(m["rows"], len(m["columns"])))
    for name, how in m["columns"]:
        out += COLUMN.pack(intern(name), *_enc(how))
    s = header["spans"]
    out += ROWS.pack(s["rows"])
    if s["rows"]:
        ids = s["ids"]
        index_types = [_NUMBER[s[name]] for name in ("trace_id", "span_id", "parent_id")]
        if "hex" in ids:
            out += ID_TYPES.pack(*index_types, HEX) + HEX_IDS.pack(ids["hex"], ids["bytes"])
        else:
            text = json.dumps(ids["text"], separators=(",", ":")).encode()
            out += ID_TYPES.pack(*index_types, TEXT) + ROWS.pack(len(text)) + text
        texts = s["text"]
        out += TEXT_TYPES.pack(
            *(_NUMBER[texts[name]] for name in ("service", "operation", "kind", "attributes"))
        )
        out += TIMES.pack(*_enc(s["start"]), *_enc(s["duration_ms"]))
        extra = s.get("extra", [])
        out += EXTRA.pack(len(extra))
        for name, how in extra:
            out += COLUMN.pack(intern(name), *_enc(how))
    status = header["status"]
    text = json.dumps(status, separators=(",", ":"), allow_nan=False).encode() if status else b""
    out += ROWS.pack(len(text)) + text
    return bytes(out)
