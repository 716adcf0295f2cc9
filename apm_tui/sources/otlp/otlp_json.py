"""OTLP/JSON trace requests (`ExportTraceServiceRequest`, the OTLP JSON mapping) → spans.

What the mapping allows, and what is accepted here: trace and span ids as case-insensitive hex
(32 and 16 digits; all zeros is invalid); int64 times as decimal strings or numbers; enums as
integers (the specification) or their names (the proto3 mapping; lenient); field names in
lowerCamelCase (the specification) or the proto's snake_case (what protobuf's own JSON
parser accepts). Unknown fields are ignored, as the specification requires.

A body that is not JSON, or whose envelope (resourceSpans → scopeSpans → spans) has the wrong
shape, raises `OtlpDecodeError` (HTTP 400). A span with a bad id, no times, an end before its
start, or a field of the wrong type is rejected and counted, and the rest of the body is kept.
Attributes are flattened to str / int / float / bool: arrays of scalars are joined with ", ",
key-value lists become dotted keys, bytes and empty values are left out.
"""

from __future__ import annotations

import json
import math
from typing import Any

from apm_tui.model import AttributeValue
from apm_tui.printable import json_may_hold_control
from apm_tui.sources.otlp.spans import (
    KIND_BY_NAME,
    KIND_BY_NUMBER,
    UNKNOWN_SERVICE,
    UNNAMED,
    Decoded,
    Rejected,
    SpanSink,
    hex_id,
    http_error,
    paused_gc,
    span_kind,
)

#: How deep key-value lists are flattened (deeper values are left out).
MAX_DEPTH = 8
STATUS_ERROR_NAMES = ("STATUS_CODE_ERROR", "ERROR")
UINT64 = 1 << 64
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class OtlpDecodeError(ValueError):
    """The body as a whole cannot be decoded (HTTP 400); the message says why."""


def decode_json(body: bytes | str) -> Decoded:
    """Decode an OTLP/JSON `ExportTraceServiceRequest`; raises `OtlpDecodeError` if malformed."""
    with paused_gc():
        try:
            obj = json.loads(body)
        except RecursionError:
            raise OtlpDecodeError("JSON nested too deeply") from None
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError
            raise OtlpDecodeError(f"not valid JSON: {exc}") from None
        sink = SpanSink(clean=not json_may_hold_control(body))
        decode_request(obj, sink)
        return sink.result()


def decode_request(obj: object, sink: SpanSink) -> None:
    """Add the spans of one decoded JSON request object to `sink` (see the module docstring)."""
    if not isinstance(obj, dict):
        raise OtlpDecodeError("the body is not a JSON object (an ExportTraceServiceRequest)")
    ids = _Ids()
    resource_spans = _field(obj, "resourceSpans", "resource_spans")
    if resource_spans is None:
        signal = other_signal(obj)
        if signal:
            sink.notes.append(f"no spans: this is an OTLP {signal} request")
        elif obj:  # `{}` is an empty request; a Jaeger or Zipkin document is not one
            keys = ", ".join(repr(k)[:40] for k in list(obj)[:3])
            sink.notes.append(
                f"no spans: no resourceSpans in this JSON ({keys}): not an OTLP trace request"
            )
        return
    for i, rs in enumerate(_list(resource_spans, "resourceSpans")):
        if not isinstance(rs, dict):
            raise OtlpDecodeError(f"resourceSpans[{i}] is not an object")
        scopes = _field(rs, "scopeSpans", "scope_spans")
        if scopes is None:  # OTLP < 0.15 named it instrumentationLibrarySpans
            scopes = _field(rs, "instrumentationLibrarySpans", "instrumentation_library_spans")
        span_lists = []
        for j, ss in enumerate(_list(scopes, f"resourceSpans[{i}].scopeSpans")):
            if not isinstance(ss, dict):
                raise OtlpDecodeError(f"resourceSpans[{i}].scopeSpans[{j}] is not an object")
            spans = _list(ss.get("spans"), f"resourceSpans[{i}].scopeSpans[{j}].spans")
            span_lists.append(spans)
        try:
            service = _service(rs.get("resource"))
        except Rejected as exc:
            sink.reject(f"resource: {exc}", sum(len(s) for s in span_lists))
            continue
        for spans in span_lists:
            for span in spans:
                try:
                    _add_span(span, service, sink, ids)
                except Rejected as exc:
                    sink.reject(str(exc))


def other_signal(obj: dict[str, Any]) -> str:
    """ "logs" / "metrics" / "profiles" if `obj` is another signal's OTLP request, else ""."""
    for camel, snake, name in (
        ("resourceLogs", "resource_logs", "logs"),
        ("resourceMetrics", "resource_metrics", "metrics"),
        ("resourceProfiles", "resource_profiles", "profiles"),
    ):
        if camel in obj or snake in obj:
            return name
    return ""


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"{where} is not a list")
    return value


def _service(resource: object) -> str:
    if resource is None:
        return UNKNOWN_SERVICE
    if not isinstance(resource, dict):
        raise Rejected("resource is not an object")
    attrs = attributes(resource.get("attributes"))
    name = attrs.get("service.name")
    return str(name) if name not in (None, "") else UNKNOWN_SERVICE


def _nanos(value: object, what: str) -> int:
    """A fixed64 time: a decimal string or a number, 0 ≤ t < 2^64."""
    n = -1
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 20:
            n = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    if not 0 <= n < UINT64:
        raise Rejected(f"{what} is not a non-negative 64-bit integer")
    return n


def _kind(value: object) -> str:
    if value is None:
        return "internal"
    if isinstance(value, int) and not isinstance(value, bool):
        return KIND_BY_NUMBER[value] if 0 <= value < len(KIND_BY_NUMBER) else "internal"
    if isinstance(value, str):
        kind = KIND_BY_NAME.get(value)
        if kind is not None:
            return kind
        raise Rejected("unknown span kind")
    raise Rejected("kind is not an enum value")


def _status_error(status: object) -> bool:
    if status is None:
        return False
    if not isinstance(status, dict):
        raise Rejected("status is not an object")
    code = status.get("code")
    if code is None or (isinstance(code, int) and not isinstance(code, bool)):
        return code == 2
    if isinstance(code, str):
        return code in STATUS_ERROR_NAMES
    raise Rejected("status.code is not an enum value")


class _Ids:
    """Checked ids of one body: a trace id recurs in every span of its trace, and a span id
    as its children's parent, so each distinct id is checked once."""

    __slots__ = ("spans", "traces")

    def __init__(self) -> None:
        self.traces: dict[str, str] = {}
        self.spans: dict[str, str] = {}

    def trace(self, raw: object) -> str:
        if type(raw) is str:
            checked = self.traces.get(raw)
            if checked is not None:
                return checked
            checked = self.traces[raw] = hex_id(raw, 32, "trace id")
            return checked
        return hex_id(raw, 32, "trace id")  # raises with the reason

    def span(self, raw: object, what: str) -> str:
        if type(raw) is str:
            checked = self.spans.get(raw)
            if checked is not None:
                return checked
            checked = self.spans[raw] = hex_id(raw, 16, what)
            return checked
        return hex_id(raw, 16, what)


def _add_span(span: object, service: str, sink: SpanSink, ids: _Ids) -> None:
    if type(span) is not dict:
        raise Rejected("span is not an object")
    get = span.get
    raw = get("traceId")
    if raw is None:
        raw = get("trace_id")
    trace_id = ids.traces.get(raw) if type(raw) is str else None
    if trace_id is None:
        trace_id = ids.trace(raw)
    raw = get("spanId")
    if raw is None:
        raw = get("span_id")
    span_id = ids.spans.get(raw) if type(raw) is str else None
    if span_id is None:
        span_id = ids.span(raw, "span id")
    parent = get("parentSpanId")
    if parent is None:
        parent = get("parent_span_id")
    parent_id: str | None = ""
    if parent is not None and parent != "":
        parent_id = ids.spans.get(parent) if type(parent) is str else None
        if parent_id is None:
            parent_id = ids.span(parent, "parent span id")
    start_raw = get("startTimeUnixNano")
    if start_raw is None:
        start_raw = get("start_time_unix_nano")
    end_raw = get("endTimeUnixNano")
    if end_raw is None:
        end_raw = get("end_time_unix_nano")
    if start_raw is None or end_raw is None:
        raise Rejected("missing start or end time")
    # the usual shape first: 19 decimal digits in a string
    if (
        type(start_raw) is str
        and len(start_raw) < 20
        and start_raw.isdigit()
        and start_raw.isascii()
    ):
        start = int(start_raw)
    else:
        start = _nanos(start_raw, "startTimeUnixNano")
    if type(end_raw) is str and len(end_raw) < 20 and end_raw.isdigit() and end_raw.isascii():
        end = int(end_raw)
    else:
        end = _nanos(end_raw, "endTimeUnixNano")
    if start == 0:
        raise Rejected("missing start or end time")
    if end < start:
        raise Rejected("ends before it starts")
    name = get("name")
    if name is not None and type(name) is not str:
        raise Rejected("name is not a string")
    kind = get("kind")
    base_kind = KIND_BY_NUMBER[kind] if type(kind) is int and 0 <= kind < 6 else _kind(kind)
    status = get("status")
    error = False if not status else _status_error(status)
    attrs = attributes(get("attributes"))
    # SpanSink.add, inlined: this is the hot loop of a JSON export
    key = (trace_id, span_id)
    if key in sink.seen:
        raise Rejected("duplicate span id")
    sink.seen.add(key)
    kind = base_kind
    if attrs:
        kind = span_kind(base_kind, attrs)
        if base_kind == "server" and not error:
            error = http_error(attrs)
    sink.rows.append(
        (
            trace_id,
            span_id,
            parent_id,
            service,
            name or UNNAMED,
            kind,
            start / 1e9,
            (end - start) / 1e6,
            error,
            attrs,
        )
    )


def attributes(value: object) -> dict[str, AttributeValue]:
    """A `KeyValue` list flattened to plain values; raises `Rejected` on a wrong type."""
    out: dict[str, AttributeValue] = {}
    if value is None:
        return out
    if type(value) is not list:
        raise Rejected("attributes is not a list")
    _flatten(value, "", out, 0)
    return out


def _flatten(kvs: list[Any], prefix: str, out: dict[str, AttributeValue], depth: int) -> None:
    for kv in kvs:
        if type(kv) is not dict:
            raise Rejected("an attribute is not a key/value object")
        key = kv.get("key")
        if type(key) is not str:
            raise Rejected("an attribute key is not a string")
        value = kv.get("value")
        if value is None:
            continue
        if type(value) is not dict:
            raise Rejected(f"attribute {key[:40]!r} has a value that is not an AnyValue")
        if len(value) == 1:  # the usual shapes, without a call: a string, an int as a string
            v = value.get("stringValue")
            if type(v) is str:
                out[prefix + key] = v
                continue
            v = value.get("intValue")
            if type(v) is str and v.isdigit() and v.isascii() and len(v) < 19:
                out[prefix + key] = int(v)
                continue
        _any_value(value, prefix + key, out, depth)


_STR, _BOOL, _INT, _DOUBLE, _ARRAY, _KVLIST, _BYTES = range(7)
_ANY_FIELDS = {
    "stringValue": _STR,
    "string_value": _STR,
    "boolValue": _BOOL,
    "bool_value": _BOOL,
    "intValue": _INT,
    "int_value": _INT,
    "doubleValue": _DOUBLE,
    "double_value": _DOUBLE,
    "arrayValue": _ARRAY,
    "array_value": _ARRAY,
    "kvlistValue": _KVLIST,
    "kvlist_value": _KVLIST,
    "bytesValue": _BYTES,
    "bytes_value": _BYTES,
}
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _any_value(value: dict[str, Any], key: str, out: dict[str, AttributeValue], depth: int) -> None:
    for field, v in value.items():
        t = _ANY_FIELDS.get(field)
        if t is None:
            continue  # an unknown field: ignored, as the specification requires
        if t == _ARRAY:
            joined = _array(v, key)
            if joined is not None:
                out[key] = joined
        elif t == _KVLIST:
            if not isinstance(v, dict):
                raise Rejected(f"attribute {key[:40]!r} has a malformed kvlistValue")
            if depth < MAX_DEPTH:
                _flatten(_list_or_reject(v.get("values"), key), key + ".", out, depth + 1)
        elif t != _BYTES:
            out[key] = _scalar(t, v, key)
        return


def _scalar(t: int, v: object, key: str) -> AttributeValue:
    if t == _STR:
        if isinstance(v, str):
            return v
    elif t == _BOOL:
        if isinstance(v, bool):
            return v
    elif t == _INT:
        if isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX:
            return v
        if isinstance(v, str) and v.isascii() and len(v) <= 20:
            digits = v[1:] if v[:1] == "-" else v
            if digits.isdigit() and INT64_MIN <= int(v) <= INT64_MAX:
                return int(v)
    elif isinstance(v, float | int) and not isinstance(v, bool):  # _DOUBLE
        return float(v)
    elif isinstance(v, str) and v in _SPECIAL_DOUBLES:
        return _SPECIAL_DOUBLES[v]
    raise Rejected(f"attribute {key[:40]!r} has a value of the wrong type")


def _list_or_reject(value: object, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected(f"attribute {key[:40]!r} has a malformed list")
    return value


def _array(v: object, key: str) -> str | None:
    if not isinstance(v, dict):
        raise Rejected(f"attribute {key[:40]!r} has a malformed arrayValue")
    parts = []
    for item in _list_or_reject(v.get("values"), key):
        if not isinstance(item, dict):
            raise Rejected(f"attribute {key[:40]!r} has a malformed array item")
        for field, iv in item.items():
            t = _ANY_FIELDS.get(field)
            if t is not None and t < _ARRAY:
                parts.append(str(_scalar(t, iv, key)))
                break
    return ", ".join(parts) if parts else None
