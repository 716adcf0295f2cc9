"""OTLP protobuf: `ExportTraceServiceRequest` bodies → spans, and the protobuf responses.

`opentelemetry-proto` (and `protobuf`) are imported on first use, so JSON bodies and trace
files never load them. The same span rules as the JSON decoder apply (spans.py); a body that
protobuf cannot parse raises `OtlpDecodeError`.

`google.rpc.Status`, the body of every 4xx answer, is three lines of wire format and is encoded
here by hand: its generated class lives in googleapis-common-protos, which apm-tui does not
otherwise need.
"""

from __future__ import annotations

import functools
from typing import Any

from apm_tui.model import AttributeValue
from apm_tui.sources.base import SourceError
from apm_tui.sources.otlp.otlp_json import OtlpDecodeError
from apm_tui.sources.otlp.spans import (
    KIND_BY_NUMBER,
    UNKNOWN_SERVICE,
    Decoded,
    Rejected,
    SpanSink,
    paused_gc,
)

MAX_DEPTH = 8
MISSING = (
    "receiving OTLP protobuf needs the opentelemetry-proto package: pip install opentelemetry-proto"
)


@functools.cache
def _messages() -> tuple[Any, Any]:
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
    except ImportError as exc:
        raise SourceError(f"{MISSING} ({exc})") from None
    return svc.ExportTraceServiceRequest, svc.ExportTraceServiceResponse


def decode_protobuf(body: bytes) -> Decoded:
    """Decode a binary `ExportTraceServiceRequest`; raises `OtlpDecodeError` if malformed."""
    request_class, _ = _messages()
    try:
        request = request_class.FromString(body)
    except Exception as exc:  # DecodeError, and whatever else the C parser may raise
        raise OtlpDecodeError(f"not a protobuf ExportTraceServiceRequest: {exc}") from None
    sink = SpanSink()
    with paused_gc():
        for rs in request.resource_spans:
            service = _service(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    try:
                        _add_span(span, service, sink)
                    except Rejected as exc:
                        sink.reject(str(exc))
        return sink.result()


def _id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise Rejected(f"{what} must be {size} bytes")
    if not any(raw):
        raise Rejected(f"{what} is all zeros")
    return raw.hex()


def _service(kvs: Any) -> str:
    for kv in kvs:
        if kv.key == "service.name":
            name = _value(kv.value, "service.name")
            return str(name) if name not in (None, "") else UNKNOWN_SERVICE
    return UNKNOWN_SERVICE


def _add_span(span: Any, service: str, sink: SpanSink) -> None:
    trace_id = _id(span.trace_id, 16, "trace id")
    span_id = _id(span.span_id, 8, "span id")
    parent_id = _id(span.parent_span_id, 8, "parent span id") if span.parent_span_id else ""
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start == 0 or end == 0:
        raise Rejected("missing start or end time")
    if end < start:
        raise Rejected("ends before it starts")
    kind = span.kind
    attrs: dict[str, AttributeValue] = {}
    _flatten(span.attributes, "", attrs, 0)
    sink.add(
        trace_id,
        span_id,
        parent_id,
        service,
        span.name,
        KIND_BY_NUMBER[kind] if 0 <= kind < len(KIND_BY_NUMBER) else "internal",
        start / 1e9,
        (end - start) / 1e6,
        span.status.code == 2,
        attrs,
    )


def _flatten(kvs: Any, prefix: str, out: dict[str, AttributeValue], depth: int) -> None:
    for kv in kvs:
        key = prefix + kv.key
        which = kv.value.WhichOneof("value")
        if which == "kvlist_value":
            if depth < MAX_DEPTH:
                _flatten(kv.value.kvlist_value.values, key + ".", out, depth + 1)
            continue
        value = _value(kv.value, key)
        if value is not None:
            out[key] = value


def _value(any_value: Any, key: str) -> AttributeValue | None:
    which = any_value.WhichOneof("value")
    if which is None or which == "bytes_value" or which == "kvlist_value":
        return None
    if which == "array_value":
        parts = [_value(v, key) for v in any_value.array_value.values]
        joined = ", ".join(str(p) for p in parts if p is not None)
        return joined or None
    value: AttributeValue = getattr(any_value, which)
    return value


# -- responses -----------------------------------------------------------------------------------
def encode_response(rejected: int, message: str) -> bytes:
    """A binary `ExportTraceServiceResponse`: empty on full success, else a partial success."""
    _, response_class = _messages()
    response = response_class()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    data: bytes = response.SerializeToString()
    return data


def encode_status(code: int, message: str) -> bytes:
    """A binary `google.rpc.Status` {code = 1, message = 2}."""
    out = bytearray()
    if code:
        out += b"\x08" + _varint(code)
    text = message.encode()
    if text:
        out += b"\x12" + _varint(len(text)) + text
    return bytes(out)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
