"""Trace files: every file in the shared data folder, each span accounted for, plus the shapes
(JSON lines, gzip, protobuf) and the files that are not traces."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apm_tui.analysis.bottlenecks import query_stats, span_frame
from apm_tui.analysis.requests import extract_requests
from apm_tui.model import SPAN_STR_FIELDS
from apm_tui.sources.base import SourceError
from apm_tui.sources.otlp import TraceFileError, read_trace_file
from tests.conftest import SHARED
from tests.unit.otlp_bodies import S, body_protobuf, count_otlp_spans, span_id, trace_id

TRACES = SHARED / "data" / "traces"
FILES = sorted(TRACES.glob("*.json"))
NOT_TRACES = {"logs.json": "logs", "events.json": "logs", "metrics.json": "metrics"}


def count_spans(obj: Any) -> int:
    """Spans in a file, counted by walking its JSON (not with the reader)."""
    if isinstance(obj, list):  # Zipkin v2
        return len(obj)
    if "data" in obj:  # Jaeger: top-level spans only (references embed copies of parents)
        return sum(len(trace["spans"]) for trace in obj["data"])
    return count_otlp_spans(obj)


def test_the_shared_trace_files_are_there() -> None:
    names = {p.name for p in FILES}
    assert len(FILES) == 15 and "trace.json" in names and "zipkin_yelp.json" in names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_span_of_every_file_is_parsed_or_rejected(path: Path) -> None:
    obj = json.loads(path.read_text())
    if path.name in NOT_TRACES:
        with pytest.raises(TraceFileError, match=rf"not a trace file \(OTLP "
                                                 rf"{NOT_TRACES[path.name]}\)"):  # fmt: skip
            read_trace_file(path)
        return
    expected = count_spans(obj)
    assert expected > 0
    table, stats = read_trace_file(path)
    assert len(table) + stats.rejected == expected
    assert stats.spans == len(table) > 0
    assert set(table.names) == {*SPAN_STR_FIELDS, "start", "duration_ms", "error", "attributes"}
    assert np.all(table["duration_ms"] >= 0) and np.all(table["start"] > 1e9)  # Unix seconds
    assert stats.traces == len(set(table["trace_id"].tolist()))
    assert json.loads(json.dumps(stats.as_dict())) == stats.as_dict()
    if stats.rejected:
        assert stats.reason.startswith(f"{stats.rejected} span")


@pytest.mark.parametrize(
    ("name", "fmt", "accepted", "rejected"),
    [
        ("trace.json", "otlp-json", 1, 0),
        ("otlp2jaeger-in.json", "otlp-json", 1, 1),  # the same span twice
        ("otlp2jaeger-in-error.json", "otlp-json", 1, 0),  # no service.name
        ("otlp2jaeger-multi-in-combined.json", "otlp-json", 4, 0),
        ("otlp2jaeger-out.json", "jaeger", 1, 1),
        ("oltp2jaeger-multi-out.json", "jaeger", 4, 0),
        ("zipkin_ascend.json", "zipkin-v2", 8, 0),
        ("zipkin_envoy.json", "zipkin-v2", 1, 0),
        ("zipkin_messaging.json", "zipkin-v2", 4, 0),
        ("zipkin_simple-db-p6.json", "zipkin-v2", 5, 0),
        ("zipkin_skew.json", "zipkin-v2", 4, 0),
        ("zipkin_yelp.json", "zipkin-v2", 16, 0),
    ],
)
def test_formats_and_counts(name: str, fmt: str, accepted: int, rejected: int) -> None:
    _, stats = read_trace_file(TRACES / name)
    assert (stats.format, stats.spans, stats.rejected) == (fmt, accepted, rejected)
    if rejected:
        assert stats.reason == "1 span rejected: duplicate span id (1)"


def test_jaegers_conversion_reads_as_the_otlp_it_came_from() -> None:
    """jaeger-ui's fixtures: an OTLP input and Jaeger's conversion of it. Read both, and get
    the same spans (Jaeger keeps microseconds, so times agree to a microsecond)."""
    otlp, _ = read_trace_file(TRACES / "otlp2jaeger-multi-in-combined.json")
    jaeger, _ = read_trace_file(TRACES / "oltp2jaeger-multi-out.json")
    a, b = np.argsort(otlp["span_id"]), np.argsort(jaeger["span_id"])
    for name in ("trace_id", "span_id", "parent_id", "service", "operation", "kind", "error"):
        assert otlp[name][a].tolist() == jaeger[name][b].tolist(), name
    assert np.allclose(otlp["start"][a], jaeger["start"][b], atol=1e-6)
    assert np.allclose(otlp["duration_ms"][a], jaeger["duration_ms"][b], atol=1e-3)
    assert otlp["parent_id"][a].tolist().count("") == 1  # main is the root


def test_official_example_keeps_upper_case_ids_as_lower_case() -> None:
    table, stats = read_trace_file(TRACES / "trace.json")
    assert table["trace_id"].tolist() == ["5b8efff798038103d269b633813fc60c"]
    assert stats.services == ("my.service",)


def test_zipkin_shared_spans_become_client_and_server() -> None:
    table, _ = read_trace_file(TRACES / "zipkin_ascend.json")
    columns = (table["span_id"], table["kind"], table["parent_id"], table["service"])
    rows = {(s, k): (p, svc) for s, k, p, svc in zip(*columns, strict=True)}
    # mobile-gateway calls content-service: one id in the file, a client and a server here
    assert rows[("ecc00062ceef4bf0.client", "client")] == ("ef86c83c0a05a6d6", "mobile-gateway")
    assert rows[("ecc00062ceef4bf0", "server")] == ("ecc00062ceef4bf0.client", "content-service")
    assert len(set(table["span_id"].tolist())) == 8
    req = extract_requests(table)
    assert req.endpoint.tolist() == ["get"]  # only the gateway's root span is a request
    assert req.duration_ms.tolist() == [38.793]
    frame = span_frame(table)  # the critical path's times sum to the root's time
    assert frame.critical.path_ms.sum() == pytest.approx(38.793, abs=0.01)


def test_zipkin_sql_spans_are_db_queries() -> None:
    table, _ = read_trace_file(TRACES / "zipkin_simple-db-p6.json")
    assert sorted(table["kind"].tolist()) == ["db", "db", "db", "db", "server"]
    queries = query_stats(span_frame(table))
    assert len(queries) == 4
    assert queries[0].statement == "call next value for hibernate_sequence"
    assert queries[0].avg_ms == pytest.approx(6.051)
    db = table["attributes"][table["kind"] == "db"][0]
    assert db["peer.service"] == "app_db" and db["db.statement"] == db["sql.query"]


def test_zipkin_without_a_service_name_and_messaging_kinds() -> None:
    envoy, _ = read_trace_file(TRACES / "zipkin_envoy.json")
    assert envoy["service"].tolist() == ["unknown_service"]
    assert envoy["duration_ms"].tolist() == [127.115]
    msg, _ = read_trace_file(TRACES / "zipkin_messaging.json")
    assert sorted(msg["kind"].tolist()) == ["consumer", "internal", "producer", "server"]


def test_zipkin_errors_and_rejections(tmp_path: Path) -> None:
    spans = [
        {"traceId": "a1", "id": "b1", "name": "get /", "kind": "SERVER",
         "timestamp": 1_600_000_000_000_000, "duration": 1500,
         "localEndpoint": {"serviceName": "web"}, "tags": {"error": ""}},
        {"traceId": "a1", "id": "b2", "parentId": "b1", "kind": "SERVER",
         "timestamp": 1_600_000_000_000_100, "duration": 10,
         "tags": {"http.status_code": "503"}},
        {"traceId": "a1", "id": "b3", "timestamp": 1_600_000_000_000_100},  # no duration
        {"traceId": "xyz!", "id": "b4", "timestamp": 1, "duration": 1},
        {"traceId": "a1", "id": "b5", "kind": "SIDEWAYS", "timestamp": 1, "duration": 1},
        {"traceId": "a1", "id": "b6", "timestamp": 1, "duration": 1, "tags": ["x"]},
        "not a span",
    ]  # fmt: skip
    path = tmp_path / "z.json"
    path.write_text(json.dumps(spans))
    table, stats = read_trace_file(path)
    assert (len(table), stats.rejected) == (3, 4)
    assert table["trace_id"].tolist() == ["00000000000000a1"] * 3  # padded as Zipkin does
    assert table["error"].tolist() == [True, True, False]  # the error tag; a 503 server span
    # Zipkin's duration is optional: a span without one is a call of unknown length.
    assert table["duration_ms"][:2].tolist() == [1.5, 0.01]
    assert math.isnan(table["duration_ms"][2])
    assert "unknown span kind (1)" in stats.reason and "duration" not in stats.reason


def test_otlp_json_lines_gzip_and_lists(tmp_path: Path) -> None:
    one = (TRACES / "trace.json").read_text()
    multi = (TRACES / "otlp2jaeger-multi-in-combined.json").read_text()
    lines = tmp_path / "export.jsonl"
    lines.write_text(
        json.dumps(json.loads(one)) + "\n" + "{not json\n\n" + json.dumps(json.loads(multi)) + "\n"
    )
    table, stats = read_trace_file(lines)
    assert (stats.format, len(table), stats.skipped_lines) == ("otlp-json-lines", 5, 1)
    assert "1 line skipped" in stats.reason
    packed = tmp_path / "trace.json.gz"
    packed.write_bytes(gzip.compress(multi.encode()))
    assert read_trace_file(packed)[1].spans == 4
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([json.loads(one), json.loads(multi)]))
    assert read_trace_file(listed)[1].spans == 5


def test_a_protobuf_request_file(tmp_path: Path) -> None:
    path = tmp_path / "trace.binpb"
    t = trace_id(3)
    path.write_bytes(body_protobuf({"svc": [S(t, span_id(1), kind=2), S(t, span_id(1))]}))
    table, stats = read_trace_file(path)
    assert (stats.format, len(table), stats.rejected) == ("otlp-protobuf", 1, 1)
    assert table["kind"].tolist() == ["server"]
    # Said as for JSON (it was "1 span rejected: 1 span rejected: duplicate span id (1) (1)").
    assert stats.reason == "1 span rejected: duplicate span id (1)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b'{"hello": 1}', "not a trace file: expected OTLP JSON"),
        (b"42", "not a trace file"),
        (b"{nope", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a trace file (neither JSON nor OTLP protobuf)"),
        (b'{"resourceMetrics": []}\n{"resourceMetrics": []}\n', "(OTLP metrics)"),
        (b'[{"traceId": "a", "id": "b", "binaryAnnotations": []}]', "Zipkin v1"),
        (b'{"resourceSpans": [{"scopeSpans": 1}]}', "malformed OTLP JSON"),
        (b'{"data": [1]}', "Jaeger data[0] is not a trace object"),
        (b"\x1f\x8b broken gzip", "not valid gzip"),
    ],
)
def test_files_that_are_not_traces(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(TraceFileError) as info:
        read_trace_file(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert isinstance(info.value, SourceError)  # the CLI's one-line, exit-status-2 path


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceFileError, match=r"cannot read .*missing\.json: No such file"):
        read_trace_file(tmp_path / "missing.json")


def test_an_empty_span_list_is_zero_spans_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    table, stats = read_trace_file(path)
    assert len(table) == 0 and stats.reason == "the file has no spans"
