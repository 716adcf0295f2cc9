"""Trace files → spans: OTLP JSON, Zipkin v2 JSON and Jaeger JSON, told apart by their shape.

- **OTLP JSON**: one `ExportTraceServiceRequest` (`{"resourceSpans": …}`), a list of them, or
  one per line (the Collector's file exporter). Gzip-compressed files are read too, and a file
  that is not JSON is tried as one binary protobuf request.
- **Zipkin v2**: a list of spans (`traceId`, `id`, `parentId`, `timestamp` and `duration` in µs,
  `localEndpoint.serviceName`, `kind`, `tags`); a span without a duration (optional in Zipkin)
  is a call of unknown length. A tag `error` marks an error. Brave's
  `sql.query` tag is read as `db.statement` (a DB span). Zipkin's *shared* spans — a client
  and a server half with one id — become two spans: the client half gets the id `<id>.client`
  and the server half becomes its child, so the critical path and the request count stay right.
- **Jaeger JSON** (the query API / UI download: `{"data": [{"traceID", "spans", "processes"}]}`):
  service from the span's process, parent from its first CHILD_OF reference (else
  FOLLOWS_FROM), kind from the `span.kind` tag, error from `error=true` or
  `otel.status_code=ERROR`.

Zipkin and Jaeger ids of up to 16 / 32 hex digits are left-padded (Jaeger drops leading zeros;
64-bit trace ids are common there). Spans that cannot be used are counted with a reason, as
for OTLP. An OTLP logs, metrics or profiles file raises `TraceFileError` saying so.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apm_tui.inputs import not_regular
from apm_tui.model import AttributeValue, Table
from apm_tui.sources.base import SourceError
from apm_tui.sources.otlp.otlp_json import OtlpDecodeError, decode_request, other_signal
from apm_tui.sources.otlp.spans import (
    CACHE_SYSTEMS,
    DB_SYSTEM_KEYS,
    KIND_BY_NAME,
    UNKNOWN_SERVICE,
    Rejected,
    SpanSink,
    padded_hex_id,
    paused_gc,
)

SHAPES = (
    "expected OTLP JSON (resourceSpans), Zipkin v2 JSON (a list of spans) "
    'or Jaeger JSON ({"data": [traces]})'
)


MAX_MICROS = 1 << 63


class TraceFileError(SourceError):
    """The file cannot be read as traces; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class TraceFileStats:
    path: str
    #: "otlp-json", "otlp-json-lines", "otlp-protobuf", "zipkin-v2" or "jaeger"
    format: str
    spans: int
    rejected: int
    reason: str
    traces: int
    services: tuple[str, ...] = field(default_factory=tuple)
    #: Lines of a JSON-lines file that were not JSON or not a trace request.
    skipped_lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "spans": self.spans,
            "rejected": self.rejected,
            "reason": self.reason,
            "traces": self.traces,
            "services": list(self.services),
            "skipped_lines": self.skipped_lines,
        }


def read_trace_file(path: str | Path) -> tuple[Table, TraceFileStats]:
    """Read a trace file (format detected from its content); raises `TraceFileError`."""
    path = Path(path)
    why = not_regular(path)
    if why:
        raise TraceFileError(f"cannot read {path}: {why}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TraceFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise TraceFileError(f"{path}: not valid gzip: {exc}") from None
    sink = SpanSink()
    with paused_gc():
        fmt, skipped = _read(raw, sink, path)
        table = sink.table()
    reason = sink.reason()
    if not len(table) and not sink.rejected:
        reason = reason or "the file has no spans"
    stats = TraceFileStats(
        path=str(path),
        format=fmt,
        spans=len(table),
        rejected=sink.rejected,
        reason=reason,
        traces=len(set(table["trace_id"].tolist())) if len(table) else 0,
        services=tuple(sorted(set(table["service"].tolist()))) if len(table) else (),
        skipped_lines=skipped,
    )
    return table, stats


def once_each(spans: Table) -> tuple[Table, int]:
    """The spans less repeats of a trace id and span id already seen, and how many there were.

    For spans from several files: within one file the reader rejects a repeat, but a trace in
    two files (a file given twice, an exporter's retry in the next rotated file) counted its
    requests once and its spans and DB calls twice."""
    if not len(spans):
        return spans, 0
    seen: set[tuple[str, str]] = set()
    keep = np.ones(len(spans), dtype=bool)
    keys = zip(spans["trace_id"].tolist(), spans["span_id"].tolist(), strict=True)
    for i, key in enumerate(keys):
        if key in seen:
            keep[i] = False
        seen.add(key)
    again = len(spans) - int(np.count_nonzero(keep))
    return (spans.take(keep) if again else spans), again


def _read(raw: bytes, sink: SpanSink, path: Path) -> tuple[str, int]:
    """Parse `raw` into `sink`: (format, lines skipped)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _protobuf(raw, sink, path), 0
    if not text.strip():
        raise TraceFileError(f"{path}: the file is empty")
    try:
        obj = json.loads(text)
    except RecursionError:
        raise TraceFileError(f"{path}: JSON nested too deeply") from None
    except ValueError:
        return _json_lines(text, sink, path)
    return _json(obj, sink, path), 0


def _json(obj: object, sink: SpanSink, path: Path) -> str:
    if isinstance(obj, dict):
        if "resourceSpans" in obj or "resource_spans" in obj:
            _otlp(obj, sink, path)
            return "otlp-json"
        signal = other_signal(obj)
        if signal:
            raise TraceFileError(f"{path}: not a trace file (OTLP {signal})")
        if isinstance(obj.get("data"), list):
            _jaeger(obj["data"], sink, path)
            return "jaeger"
    elif isinstance(obj, list):
        if obj and all(isinstance(o, dict) and other_signal(o) for o in obj):
            raise TraceFileError(f"{path}: not a trace file (OTLP {other_signal(obj[0])})")
        if obj and all(isinstance(o, dict) and "resourceSpans" in o for o in obj):
            for request in obj:
                _otlp(request, sink, path)
            return "otlp-json"
        _zipkin(obj, sink, path)
        return "zipkin-v2"
    raise TraceFileError(f"{path}: not a trace file: {SHAPES}")


def _otlp(obj: dict[str, Any], sink: SpanSink, path: Path) -> None:
    try:
        decode_request(obj, sink)
    except OtlpDecodeError as exc:
        raise TraceFileError(f"{path}: malformed OTLP JSON: {exc}") from None


def _json_lines(text: str, sink: SpanSink, path: Path) -> tuple[str, int]:
    """One OTLP request per line (the Collector's file exporter); bad lines are counted."""
    lines = [line for line in text.splitlines() if line.strip()]
    skipped, requests, signals = 0, 0, set()
    for line in lines:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            skipped += 1
            continue
        if isinstance(obj, dict) and ("resourceSpans" in obj or "resource_spans" in obj):
            try:
                decode_request(obj, sink)
            except OtlpDecodeError:
                skipped += 1
                continue
            requests += 1
        else:
            signal = other_signal(obj) if isinstance(obj, dict) else ""
            if signal:
                signals.add(signal)
            skipped += 1
    if requests:
        if skipped:
            sink.notes.append(f"{skipped} line{'s' if skipped > 1 else ''} skipped")
        return "otlp-json-lines", skipped
    if signals:
        raise TraceFileError(f"{path}: not a trace file (OTLP {', '.join(sorted(signals))})")
    raise TraceFileError(f"{path}: not JSON, nor OTLP JSON lines: {SHAPES}")


def _protobuf(raw: bytes, sink: SpanSink, path: Path) -> str:
    from apm_tui.sources.otlp.proto import decode_protobuf

    try:
        decoded = decode_protobuf(raw)
    except OtlpDecodeError:
        decoded = None
    if decoded is None or not (len(decoded.spans) or decoded.rejected):
        raise TraceFileError(f"{path}: not a trace file (neither JSON nor OTLP protobuf)")
    # Re-feed the decoded columns so duplicates and stats go through one sink.
    spans = decoded.spans
    for why, count in decoded.reasons:
        sink.reject(why, count)
    sink.notes += [n for n in decoded.notes if n not in sink.notes]
    for i in range(len(spans)):
        sink.add(
            spans["trace_id"][i],
            spans["span_id"][i],
            spans["parent_id"][i],
            spans["service"][i],
            spans["operation"][i],
            spans["kind"][i],
            float(spans["start"][i]),
            float(spans["duration_ms"][i]),
            bool(spans["error"][i]),
            spans["attributes"][i],
        )
    return "otlp-protobuf"


# -- Zipkin v2 ------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Parsed:
    trace_id: str
    span_id: str
    parent_id: str
    service: str
    name: str
    kind: str  # our base kind, before the db rule
    start: float
    duration_ms: float
    error: bool
    attrs: dict[str, AttributeValue]
    shared: bool = False


def _zipkin(items: list[Any], sink: SpanSink, path: Path) -> None:
    if any(isinstance(s, dict) and "binaryAnnotations" in s for s in items):
        raise TraceFileError(f"{path}: Zipkin v1 JSON is not supported; use the v2 API's JSON")
    parsed: list[_Parsed] = []
    for item in items:
        try:
            parsed.append(_zipkin_span(item))
        except Rejected as exc:
            sink.reject(str(exc))
    for span in _split_shared(parsed):
        sink.add(
            span.trace_id,
            span.span_id,
            span.parent_id,
            span.service,
            span.name,
            span.kind,
            span.start,
            span.duration_ms,
            span.error,
            span.attrs,
        )


def _micros(value: object, what: str) -> int:
    if value is None:
        raise Rejected(f"no {what}")
    n = -1
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    if not 0 <= n < MAX_MICROS:
        raise Rejected(f"{what} is not a non-negative 64-bit integer")
    return n


def _zipkin_span(item: object) -> _Parsed:
    if not isinstance(item, dict):
        raise Rejected("span is not an object")
    trace_id = padded_hex_id(item.get("traceId"), "traceId")
    span_id = padded_hex_id(item.get("id"), "id")
    if len(span_id) != 16:
        raise Rejected("id must be up to 16 hex digits")
    parent = item.get("parentId")
    parent_id = "" if parent in (None, "") else padded_hex_id(parent, "parentId")
    start = _micros(item.get("timestamp"), "timestamp")
    # Optional in Zipkin (a span still in flight, or whose end was lost): a call, untimed, as
    # an access log line without a request time is a request.
    took = item.get("duration")
    duration_ms = math.nan if took is None else _micros(took, "duration") / 1e3
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise Rejected("name is not a string")
    kind = item.get("kind")
    if kind is not None and kind not in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER"):
        raise Rejected("unknown span kind")
    attrs = _tags(item.get("tags"))
    service = _endpoint_name(item.get("localEndpoint"), "localEndpoint")
    remote = _endpoint_name(item.get("remoteEndpoint"), "remoteEndpoint")
    if remote and "peer.service" not in attrs:
        attrs["peer.service"] = remote
    if "sql.query" in attrs and "db.statement" not in attrs:
        attrs["db.statement"] = attrs["sql.query"]
    return _Parsed(
        trace_id,
        span_id,
        parent_id,
        service or UNKNOWN_SERVICE,
        name or "",
        _db_kind(KIND_BY_NAME[kind] if kind else "internal", attrs),
        start / 1e6,
        duration_ms,
        "error" in attrs,
        attrs,
        item.get("shared") is True,
    )


def _tags(tags: object) -> dict[str, AttributeValue]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise Rejected("tags is not an object")
    for key, value in tags.items():
        if not isinstance(value, str | int | float | bool):
            raise Rejected(f"tag {key[:40]!r} is not a string")
    return dict(tags)


def _endpoint_name(endpoint: object, what: str) -> str:
    if endpoint is None:
        return ""
    if not isinstance(endpoint, dict):
        raise Rejected(f"{what} is not an object")
    name = endpoint.get("serviceName")
    if name is None:
        return ""
    if not isinstance(name, str):
        raise Rejected(f"{what}.serviceName is not a string")
    return name


def _db_kind(base: str, attrs: dict[str, AttributeValue]) -> str:
    """DB spans by the older conventions (OpenTracing's db.type, Brave's sql.query); spans
    with db.system are classified by the sink, like OTLP spans."""
    if any(key in attrs for key in DB_SYSTEM_KEYS):
        return base
    db_type = attrs.get("db.type")
    if db_type is not None:
        return "cache" if str(db_type).lower() in CACHE_SYSTEMS else "db"
    if "db.statement" in attrs or "sql.query" in attrs:
        return "db"
    return base


def _split_shared(spans: list[_Parsed]) -> list[_Parsed]:
    """Zipkin's shared spans (client and server halves with one id) → parent and child."""
    halves: dict[tuple[str, str], list[_Parsed]] = {}
    for span in spans:
        halves.setdefault((span.trace_id, span.span_id), []).append(span)
    for group in halves.values():
        if len(group) != 2:
            continue  # single spans, or duplicates the sink will count
        a, b = group
        if b.shared or (b.kind == "server" and a.kind != "server"):
            client, server = a, b
        elif a.shared or (a.kind == "server" and b.kind != "server"):
            client, server = b, a
        else:
            continue
        if client.shared or client.kind == "server":
            continue
        client.span_id = f"{client.span_id}.client"
        server.parent_id = client.span_id
    return spans


# -- Jaeger ---------------------------------------------------------------------------------------
def _jaeger(traces: list[Any], sink: SpanSink, path: Path) -> None:
    for i, trace in enumerate(traces):
        if not isinstance(trace, dict):
            raise TraceFileError(f"{path}: Jaeger data[{i}] is not a trace object")
        spans = trace.get("spans")
        if spans is None:
            continue
        if not isinstance(spans, list):
            raise TraceFileError(f"{path}: Jaeger data[{i}].spans is not a list")
        processes = trace.get("processes")
        processes = processes if isinstance(processes, dict) else {}
        for span in spans:
            try:
                _jaeger_span(span, processes, sink)
            except Rejected as exc:
                sink.reject(str(exc))


def _jaeger_span(span: object, processes: dict[str, Any], sink: SpanSink) -> None:
    if not isinstance(span, dict):
        raise Rejected("span is not an object")
    trace_id = padded_hex_id(span.get("traceID"), "traceID")
    span_id = padded_hex_id(span.get("spanID"), "spanID")
    if len(span_id) != 16:
        raise Rejected("spanID must be up to 16 hex digits")
    parent_id = _jaeger_parent(span, trace_id)
    start = _micros(span.get("startTime"), "startTime")
    duration = _micros(span.get("duration"), "duration")
    name = span.get("operationName")
    if name is not None and not isinstance(name, str):
        raise Rejected("operationName is not a string")
    attrs = _jaeger_tags(span.get("tags"))
    process = span.get("process")
    if not isinstance(process, dict):
        process = processes.get(str(span.get("processID")))
    service = process.get("serviceName") if isinstance(process, dict) else None
    kind = str(attrs.get("span.kind", "")).upper()
    error = attrs.get("error") in (True, "true") or attrs.get("otel.status_code") == "ERROR"
    sink.add(
        trace_id,
        span_id,
        parent_id,
        service if isinstance(service, str) and service else UNKNOWN_SERVICE,
        name or "",
        _db_kind(KIND_BY_NAME.get(kind, "internal"), attrs),
        start / 1e6,
        duration / 1e3,
        error,
        attrs,
    )


def _jaeger_parent(span: dict[str, Any], trace_id: str) -> str:
    refs = span.get("references")
    if refs is None:
        refs = []
    if not isinstance(refs, list):
        raise Rejected("references is not a list")
    for wanted in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            if not isinstance(ref, dict):
                raise Rejected("a reference is not an object")
            if ref.get("refType") != wanted:
                continue
            ref_trace = ref.get("traceID")
            if ref_trace is not None and padded_hex_id(ref_trace, "traceID") != trace_id:
                continue  # a link to another trace, not a parent
            return padded_hex_id(ref.get("spanID"), "reference spanID")
    legacy = span.get("parentSpanID")  # older Jaeger JSON
    if legacy not in (None, "", "0"):
        return padded_hex_id(legacy, "parentSpanID")
    return ""


def _jaeger_tags(tags: object) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    if tags is None:
        return out
    if not isinstance(tags, list):
        raise Rejected("tags is not a list")
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
            raise Rejected("a tag is not a key/value object")
        kind, value = str(tag.get("type", "string")).lower(), tag.get("value")
        if kind == "binary" or value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            raise Rejected(f"tag {tag['key'][:40]!r} has a value of the wrong type")
        try:
            if kind == "int64":
                value = int(value)
            elif kind == "float64":
                value = float(value)
            elif kind == "bool" and isinstance(value, str):
                value = value.lower() == "true"
        except ValueError:
            raise Rejected(f"tag {tag['key'][:40]!r} is not a {kind}") from None
        out[tag["key"]] = value
    return out


__all__ = ["TraceFileError", "TraceFileStats", "read_trace_file"]
