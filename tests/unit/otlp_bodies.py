"""Builders for OTLP export bodies in tests: the same spans as OTLP/JSON and as protobuf."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC in ns


@dataclass
class S:
    """A span to encode. Ids are hex; `kind` is the OTLP enum number; times in ns."""

    trace: str
    span: str
    parent: str = ""
    name: str = "op"
    kind: int = 1
    start: int = T0
    end: int = T0 + 5_000_000
    status: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)


def trace_id(n: int) -> str:
    return f"{n:032x}"


def span_id(n: int) -> str:
    return f"{n:016x}"


def any_json(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_json(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": kv_json(value)}}
    return {"stringValue": value}


def kv_json(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_json(v)} for k, v in attrs.items()]


def span_json(s: S) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": s.trace,
        "spanId": s.span,
        "name": s.name,
        "kind": s.kind,
        "startTimeUnixNano": str(s.start),
        "endTimeUnixNano": str(s.end),
        "attributes": kv_json(s.attrs),
        "status": {"code": s.status} if s.status else {},
    }
    if s.parent:
        out["parentSpanId"] = s.parent
    return out


def request_json(by_service: dict[str, list[S]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": kv_json({"service.name": service})},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": [span_json(s) for s in spans]}],
            }
            for service, spans in by_service.items()
        ]
    }


def body_json(by_service: dict[str, list[S]]) -> bytes:
    return json.dumps(request_json(by_service)).encode()


def body_protobuf(by_service: dict[str, list[S]]) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    for service, spans in by_service.items():
        rs = request.resource_spans.add()
        _set_attrs(rs.resource.attributes, {"service.name": service})
        ss = rs.scope_spans.add()
        ss.scope.name = "test"
        for s in spans:
            span = ss.spans.add()
            span.trace_id = bytes.fromhex(s.trace) if len(s.trace) % 2 == 0 else b"\x01"
            span.span_id = bytes.fromhex(s.span) if len(s.span) % 2 == 0 else b"\x01"
            if s.parent:
                span.parent_span_id = bytes.fromhex(s.parent)
            span.name = s.name
            span.kind = s.kind
            span.start_time_unix_nano = s.start
            span.end_time_unix_nano = s.end
            span.status.code = s.status
            _set_attrs(span.attributes, s.attrs)
    data: bytes = request.SerializeToString()
    return data


def _set_attrs(target: Any, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        kv = target.add()
        kv.key = key
        _set_any(kv.value, value)


def _set_any(target: Any, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list):
        for v in value:
            _set_any(target.array_value.values.add(), v)
    elif isinstance(value, dict):
        _set_attrs(target.kvlist_value.values, value)
    else:
        target.string_value = value


def count_otlp_spans(obj: Any) -> int:
    """Spans in an OTLP JSON request, counted by walking it (independently of the decoder)."""
    total = 0
    for rs in obj.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            total += len(ss.get("spans", []))
    return total
