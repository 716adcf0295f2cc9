"""OpenTelemetry traces for apm-tui: an OTLP/HTTP receiver source and a trace-file reader.

- `OtlpSource(listen="127.0.0.1:4318", max_body=16 MiB)`: a Source that receives
  `POST /v1/traces` (OTLP/HTTP, JSON or protobuf, gzip or not) from applications' exporters.
- `read_trace_file(path) -> (Table, TraceFileStats)`: OTLP JSON (one request, or one per line),
  Zipkin v2 JSON and Jaeger JSON trace files.
- `decode_json`, `decode_protobuf`, `decode_body`: the decoders, for tests and benchmarks.

Nothing here imports Textual, and protobuf is imported only when a protobuf body arrives.
"""

from __future__ import annotations

from apm_tui.sources.otlp.files import TraceFileError, TraceFileStats, read_trace_file
from apm_tui.sources.otlp.otlp_json import OtlpDecodeError, decode_json
from apm_tui.sources.otlp.proto import decode_protobuf
from apm_tui.sources.otlp.source import DEFAULT_LISTEN, OtlpSource, parse_listen
from apm_tui.sources.otlp.spans import Decoded
from apm_tui.sources.otlp.wire import BodyTooLarge, UnsupportedMedia, decode_body

__all__ = [
    "DEFAULT_LISTEN",
    "BodyTooLarge",
    "Decoded",
    "OtlpDecodeError",
    "OtlpSource",
    "TraceFileError",
    "TraceFileStats",
    "UnsupportedMedia",
    "decode_body",
    "decode_json",
    "decode_protobuf",
    "parse_listen",
    "read_trace_file",
]
