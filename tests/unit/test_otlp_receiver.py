"""The OTLP/HTTP receiver and `OtlpSource`, over real loopback sockets on ephemeral ports."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from apm_tui.analysis.requests import extract_requests
from apm_tui.model import Batch
from apm_tui.sources.base import Source, SourceError
from apm_tui.sources.otlp import OtlpSource, parse_listen
from tests.unit.otlp_bodies import T0, S, body_json, body_protobuf, request_json, span_id, trace_id

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


@pytest.fixture
def source() -> Iterator[OtlpSource]:
    """A receiver that releases every trace at the next poll (no settling)."""
    src = OtlpSource("127.0.0.1:0", settle_s=0.0, root_wait_s=0.0)
    src.open()
    yield src
    src.close()


def post(
    src: OtlpSource,
    body: bytes,
    content_type: str = JSON,
    encoding: str | None = None,
    path: str = "/v1/traces",
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    url = f"http://127.0.0.1:{src.port}{path}"
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def drain(src: OtlpSource) -> Batch:
    return src.poll(time.time() + 1.0)


def status_pb(body: bytes) -> Any:
    from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]

    return Status.FromString(body)


def response_pb(body: bytes) -> Any:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    return ExportTraceServiceResponse.FromString(body)


def two_spans() -> dict[str, list[S]]:
    t = trace_id(7)
    return {
        "web": [
            S(t, span_id(1), "", "GET /a", 2, attrs={"http.route": "/a"}),
            S(t, span_id(2), span_id(1), "SELECT", 3, attrs={"db.system": "mysql"}),
        ]
    }


# -- the real OpenTelemetry SDK ------------------------------------------------------------------
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_opentelemetry_sdk_exports_to_the_receiver(
    source: OtlpSource, compression: str
) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    exporter = OTLPSpanExporter(endpoint=source.endpoint, compression=Compression(compression))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span(
        "POST /cart", kind=SpanKind.SERVER,
        attributes={"http.route": "/cart", "http.response.status_code": 502},
    ) as root:  # fmt: skip
        with tracer.start_as_current_span(
            "SELECT carts", kind=SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": "SELECT * FROM carts"},
        ):  # fmt: skip
            time.sleep(0.02)
        with tracer.start_as_current_span("charge", kind=SpanKind.CLIENT) as charge:
            charge.set_status(Status(StatusCode.ERROR, "card declined"))
            time.sleep(0.01)
    assert provider.force_flush(10_000)
    provider.shutdown()

    spans = drain(source).spans
    assert spans["operation"].tolist() == ["POST /cart", "SELECT carts", "charge"]
    assert set(spans["service"].tolist()) == {"checkout"}
    assert spans["kind"].tolist() == ["server", "db", "client"]
    root_id = f"{root.get_span_context().span_id:016x}"
    assert spans["span_id"][0] == root_id and spans["parent_id"].tolist() == ["", root_id, root_id]
    assert len(set(spans["trace_id"].tolist())) == 1
    assert spans["trace_id"][0] == f"{root.get_span_context().trace_id:032x}"
    assert spans["error"].tolist() == [True, False, True]  # 502 on the server span; ERROR status
    d = spans["duration_ms"]
    assert d[1] >= 20.0 and d[2] >= 10.0 and d[0] >= d[1] + d[2]
    assert spans["start"][0] == pytest.approx(time.time(), abs=30)
    assert spans["attributes"][1]["db.statement"] == "SELECT * FROM carts"
    req = extract_requests(spans)
    assert req.endpoint.tolist() == ["/cart"] and req.error.tolist() == [True]
    stats = source.stats()
    assert stats["received"] == 3 and stats["rejected"] == 0 and stats["requests"] >= 1


# -- JSON over HTTP -------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
def test_json_bodies_plain_and_gzip(source: OtlpSource, compress: bool) -> None:
    body = body_json(two_spans())
    code, headers, reply = post(source, gzip.compress(body) if compress else body, JSON,
                                "gzip" if compress else None)  # fmt: skip
    assert code == 200
    assert headers["Content-Type"] == JSON
    assert json.loads(reply) == {}  # full success: partialSuccess left unset
    spans = drain(source).spans
    assert spans["operation"].tolist() == ["GET /a", "SELECT"]
    assert spans["kind"].tolist() == ["server", "db"]


def test_protobuf_success_is_an_empty_protobuf_response(source: OtlpSource) -> None:
    code, headers, reply = post(source, body_protobuf(two_spans()), PROTOBUF)
    assert (code, headers["Content-Type"]) == (200, PROTOBUF)
    assert not response_pb(reply).HasField("partial_success")
    assert len(drain(source).spans) == 2


def test_partial_success_counts_rejected_spans_json(source: OtlpSource) -> None:
    body = request_json(two_spans())
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append({**spans[0], "spanId": "123"})
    spans.append({**spans[0], "traceId": "xyz", "spanId": span_id(9)})
    code, _, reply = post(source, json.dumps(body).encode())
    assert code == 200
    partial = json.loads(reply)["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert "span id must be 16 hex digits" in partial["errorMessage"]
    assert "trace id must be 32 hex digits" in partial["errorMessage"]
    assert len(drain(source).spans) == 2
    assert source.stats()["rejected"] == 2


def test_partial_success_counts_rejected_spans_protobuf(source: OtlpSource) -> None:
    spans = [*two_spans()["web"], S(trace_id(7), "0" * 16)]
    code, _, reply = post(source, body_protobuf({"web": spans}), PROTOBUF)
    assert code == 200
    partial = response_pb(reply).partial_success
    assert partial.rejected_spans == 1 and "span id is all zeros" in partial.error_message


def test_a_logs_body_on_the_traces_path_is_a_warning(source: OtlpSource) -> None:
    code, _, reply = post(source, b'{"resourceLogs": []}')
    assert code == 200
    assert json.loads(reply)["partialSuccess"] == {
        "rejectedSpans": "0",
        "errorMessage": "no spans: this is an OTLP logs request",
    }


def test_a_json_document_that_is_not_an_otlp_request_is_a_warning(source: OtlpSource) -> None:
    """A Jaeger JSON document posted to the receiver got `{}` and went unnoticed."""
    code, _, reply = post(source, b'{"data": [{"traceID": "ab"}], "total": 0}')
    assert code == 200
    assert json.loads(reply)["partialSuccess"] == {
        "rejectedSpans": "0",
        "errorMessage": "no spans: no resourceSpans in this JSON ('data', 'total'): not an "
        "OTLP trace request",
    }
    assert post(source, b"{}")[2] == b"{}"  # an empty request is a valid one


# -- failures -------------------------------------------------------------------------------------
def test_truncated_protobuf_is_400_with_a_status(source: OtlpSource) -> None:
    body = body_protobuf(two_spans())
    code, headers, reply = post(source, body[: len(body) - 7], PROTOBUF)
    assert (code, headers["Content-Type"]) == (400, PROTOBUF)
    assert "not a protobuf ExportTraceServiceRequest" in status_pb(reply).message


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b'{"resourceSpans": 5}'])
def test_bad_json_is_400_with_a_json_status(source: OtlpSource, body: bytes) -> None:
    code, headers, reply = post(source, body)
    assert (code, headers["Content-Type"]) == (400, JSON)
    status = json.loads(reply)
    assert status["code"] == 3 and status["message"]


def test_a_body_over_the_limit_is_413() -> None:
    src = OtlpSource("127.0.0.1:0", max_body=64 << 10)
    src.open()
    try:
        code, _, reply = post(src, b"{" + b" " * (4 << 20) + b"}")
        assert code == 413
        assert "over 65536 bytes" in json.loads(reply)["message"]
        # the receiver still works
        assert post(src, body_json(two_spans()))[0] == 200
    finally:
        src.close()


def test_the_default_limit_is_16_mib_and_a_gzip_bomb_is_413(source: OtlpSource) -> None:
    assert source.max_body == 16 << 20
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1 << 20)
    bomb = b"".join(squeeze.compress(chunk) for _ in range(64)) + squeeze.flush()
    assert len(bomb) < 200_000  # 64 MiB of spaces
    started = time.perf_counter()
    code, _, reply = post(source, bomb, JSON, "gzip")
    assert code == 413
    assert "after gunzip" in json.loads(reply)["message"]
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [("text/plain", None), ("application/xml", None), ("", None), (JSON, "br"), (JSON, "zstd")],
)
def test_other_media_is_415(source: OtlpSource, content_type: str, encoding: str | None) -> None:
    code, _, reply = post(source, body_json(two_spans()), content_type, encoding)
    assert code == 415
    message = json.loads(reply)["message"] if content_type == JSON else status_pb(reply).message
    assert ("unsupported content" if content_type else "no content type: send") in message


def test_other_paths_are_404_and_other_methods_405(source: OtlpSource) -> None:
    code, _, reply = post(source, body_json(two_spans()), path="/v1/logs")
    assert code == 404 and "/v1/traces" in json.loads(reply)["message"]
    code, _, _ = post(source, body_protobuf(two_spans()), PROTOBUF, path="/")
    assert code == 404
    code, headers, reply = post(source, b"", path="/v1/traces", method="PUT")
    assert code == 405 and headers["Allow"] == "POST"
    conn = http.client.HTTPConnection("127.0.0.1", source.port, timeout=10)
    conn.request("GET", "/v1/traces")
    resp = conn.getresponse()
    assert resp.status == 405 and "use POST" in status_pb(resp.read()).message
    conn.close()
    assert len(drain(source).spans) == 0


def test_refused_requests_are_said_not_only_answered(source: OtlpSource) -> None:
    """Regression: an exporter pointed at /v1/metrics logs only "404 Not Found", and the
    dashboard said "no trace has arrived" with nothing about the refused requests."""
    from apm_tui.ui.widgets.header import input_counts

    for _ in range(3):
        assert post(source, body_protobuf(two_spans()), PROTOBUF, path="/v1/metrics")[0] == 404
    batch = drain(source)
    status = batch.status["otlp"]
    assert status["refused_requests"] == 3
    assert status["last_refusal"].startswith("404: no such path '/v1/metrics'")
    refused = [n for n in batch.status["notices"] if "refused" in n]
    assert refused == [
        "OTLP: 3 request(s) refused — 404: no such path '/v1/metrics': POST OTLP traces to "
        "/v1/traces"
    ]
    assert "(3 requests refused)" in input_counts(batch.status).plain
    later = drain(source).status.get("notices", [])
    assert not [n for n in later if "refused" in n]  # said once, not every tick


def test_a_quiet_receiver_says_since_when(source: OtlpSource) -> None:
    """When traffic stops the charts flatten a minute at a time and the header's clock (the
    newest data's) stands still: the header says how long no span has come, once a minute."""
    from apm_tui.ui.widgets.header import input_counts

    assert drain(source).status["otlp"]["last_span_at"] is None
    before = time.time()
    assert post(source, body_protobuf(two_spans()), PROTOBUF)[0] == 200
    status = drain(source).status
    last = status["otlp"]["last_span_at"]
    assert before <= last <= time.time()
    assert "none for" not in input_counts(status, now=last + 59).plain
    assert "(none for 2:10)" in input_counts(status, now=last + 130).plain
    assert "none for" not in input_counts(status).plain  # not live: a replay, a paused view


def test_keep_alive_survives_errors_and_chunked_bodies(source: OtlpSource) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", source.port, timeout=10)
    answers = []
    for path, body, ctype, chunked in [
        ("/nope", b"{}", JSON, False),
        ("/v1/traces", b"{bad", JSON, False),
        ("/v1/traces", b"x", "text/plain", False),
        ("/v1/traces", body_json(two_spans()), JSON, True),
        ("/v1/traces", body_protobuf(two_spans()), PROTOBUF, False),
    ]:
        if chunked:
            conn.request("POST", path, body=iter([body[:50], body[50:]]),
                         headers={"Content-Type": ctype}, encode_chunked=True)  # fmt: skip
        else:
            conn.request("POST", path, body=body, headers={"Content-Type": ctype})
        resp = conn.getresponse()
        resp.read()
        answers.append(resp.status)
    conn.close()
    assert answers == [404, 400, 415, 200, 200]
    spans = drain(source).spans
    assert len(spans) == 2  # the second body repeats the first's spans: a retry, dropped
    assert source.stats()["received"] == 4 and source.stats()["duplicates"] == 2


def answer(sock: socket.socket) -> bytes:
    """What the server says before it closes the connection."""
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    return reply


@pytest.mark.parametrize("size", [b"-1", b"+10", b"0x10", b"1_0", b" ", b"1" * 17])
def test_a_chunk_size_that_is_not_hex_digits_is_400_at_once(
    source: OtlpSource, size: bytes
) -> None:
    """`-1` was read as "to the end of the stream": one request held gigabytes, past the
    limit, until the client closed. The answer must come before the body is sent."""
    with socket.create_connection(("127.0.0.1", source.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + b" " * 4096
        )
        reply = answer(sock)  # no more is sent: an answer here did not wait for the body
    assert reply.startswith(b"HTTP/1.1 400 ") and b"bad chunk size" in reply
    assert post(source, body_json(two_spans()))[0] == 200  # the receiver still works


def test_endless_trailers_are_400(source: OtlpSource) -> None:
    with socket.create_connection(("127.0.0.1", source.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n" + b"X-T: 1\r\n" * 200
        )
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"trailer lines" in reply


def test_a_stalled_body_is_408_and_the_connection_closes(source: OtlpSource) -> None:
    assert source._server is not None
    source._server.body_timeout = 0.5
    head = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", source.port), timeout=10) as sock:
        sock.sendall(head + b"Content-Length: 100\r\n\r\n{" + b" " * 9)  # then nothing
        started = time.monotonic()
        reply = answer(sock)
    assert time.monotonic() - started < 5
    assert reply.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in reply
    status = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert status == {"code": 4, "message": "the body did not arrive within 0.5 s"}
    assert post(source, body_json(two_spans()))[0] == 200  # the receiver still works


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_sent_a_byte_at_a_time_still_has_a_deadline(
    source: OtlpSource, chunked: bool
) -> None:
    """Each byte comes well within the idle timeout (30 s): only the deadline of the whole
    body ends it, so one client cannot hold a thread for ever."""
    assert source._server is not None
    source._server.body_timeout = 0.6
    framing = b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: 50\r\n\r\n"
    drip = b"32\r\n" + b" " * 50 if chunked else b" " * 50
    head = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", source.port), timeout=10) as sock:
        sock.sendall(head + framing)
        started = time.monotonic()
        try:
            for byte in drip:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:  # the server closed: it answered
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 2.5  # not the 50 × 0.05 s the drip would take


def test_connections_over_the_limit_get_503_and_retry_after() -> None:
    from apm_tui.sources.otlp.receiver import OtlpHttpServer

    got: list[object] = []
    server = OtlpHttpServer(("127.0.0.1", 0), lambda d, t: got.append(d), 1 << 20,
                            max_connections=2)  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        time.sleep(0.2)  # both accepted, each holding a thread
        with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
            reply = answer(third)
        assert reply.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in reply
        assert server.answers == {503: 1}
        assert server.last_refusal == "503: more than 2 connections at once"
        idle[0].close()
        deadline = time.monotonic() + 5
        while True:  # the closed connection's slot comes back
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("POST", "/v1/traces", body=body_json(two_spans()),
                             headers={"Content-Type": JSON})  # fmt: skip
                status = conn.getresponse().status
            except OSError:
                status = 0
            finally:
                conn.close()
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 200 and len(got) == 1
        idle[1].close()
    finally:
        server.shutdown()
        server.server_close()


def test_requests_on_one_connection_do_not_wait_for_delayed_acks(source: OtlpSource) -> None:
    """Headers and body were two writes: with Nagle's algorithm the body waited for the
    client's delayed ACK, 40 ms a request (an SDK exporter keeps its connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", source.port, timeout=10)
    body = body_json(two_spans())
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": JSON})
        resp = conn.getresponse()
        resp.read()
        times.append(time.perf_counter() - t0)
    conn.close()
    assert sorted(times)[len(times) // 2] < 0.025


def test_no_traceback_and_nothing_on_stderr_for_junk(
    source: OtlpSource, capfd: pytest.CaptureFixture[str]
) -> None:
    junk = [b"\x00" * 10, b"\xff" * 300, b'{"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]}']
    for body in junk:
        for ctype in (JSON, PROTOBUF):
            assert post(source, body, ctype)[0] in (200, 400)
    with socket.create_connection(("127.0.0.1", source.port), timeout=5) as raw:
        raw.sendall(
            b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: nope\r\n\r\n"
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", source.port), timeout=5) as raw:
        raw.sendall(b"GARBAGE\r\n\r\n")
        raw.recv(100)
    assert post(source, body_json(two_spans()))[0] == 200
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert source.stats()["refused_requests"] >= 4


# -- the source -----------------------------------------------------------------------------------
def test_source_protocol_status_and_notice(source: OtlpSource) -> None:
    assert isinstance(source, Source) and source.name == "otlp"
    assert len(source.backfill().spans) == 0
    post(source, body_json(two_spans()))
    batch = drain(source)
    assert batch.status["notices"] == [f"OTLP: receiving traces at {source.endpoint}"]
    stats = batch.status["otlp"]
    assert json.loads(json.dumps(stats)) == stats  # plain JSON values
    assert (stats["received"], stats["rejected"], stats["dropped"], stats["requests"]) == (
        2,
        0,
        0,
        1,
    )
    assert "notices" not in drain(source).status  # said once


def test_a_port_in_use_is_one_clear_source_error(source: OtlpSource) -> None:
    other = OtlpSource(f"127.0.0.1:{source.port}")
    with pytest.raises(SourceError, match=r"^cannot receive OTLP on 127\.0\.0\.1:\d+: the port "
                                          r"is in use .*--listen HOST:PORT$"):  # fmt: skip
        other.open()


def test_ipv6_loopback_and_addresses_that_cannot_be_used() -> None:
    src = OtlpSource("[::1]:0")
    try:
        src.open()
    except SourceError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert src.endpoint.startswith("http://[::1]:")
        req = urllib.request.Request(src.endpoint, data=body_json(two_spans()),
                                     headers={"Content-Type": JSON})  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        assert len(drain(src).spans) == 2
    finally:
        src.close()
    with pytest.raises(SourceError, match="not an address of this machine"):
        OtlpSource("192.0.2.1:0").open()  # TEST-NET-1: never a local address


def test_close_frees_the_port_and_is_safe_twice() -> None:
    src = OtlpSource("127.0.0.1:0")
    src.open()
    port = src.port
    src.close()
    src.close()
    again = OtlpSource(f"127.0.0.1:{port}")
    again.open()
    again.close()


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:4318") == ("127.0.0.1", 4318)
    assert parse_listen("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_listen(":4318") == ("127.0.0.1", 4318)
    assert parse_listen("4318") == ("127.0.0.1", 4318)
    assert parse_listen("[::1]:4318") == ("::1", 4318)
    for bad in ("host:port", "::1:4318", "[::1]4318", "h:70000", "h:-1"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    with pytest.raises(SourceError):
        OtlpSource("nope:nope")
    assert OtlpSource().address == ("127.0.0.1", 4318)  # loopback unless asked
    # A host without a port was told its port must be 0–65535.
    for bare in ("foo", "foo:"):
        with pytest.raises(ValueError, match=r": use HOST:PORT, e\.g\. 127\.0\.0\.1:4318$"):
            parse_listen(bare)
    with pytest.raises(ValueError, match=r"'h:70000': the port must be 0–65535$"):
        parse_listen("h:70000")


def test_a_full_queue_drops_the_oldest_spans_and_counts_them() -> None:
    src = OtlpSource("127.0.0.1:0", max_queue=5, settle_s=0.0, root_wait_s=0.0)
    src.open()
    try:
        for n in range(3):  # 3 requests of 3 spans, no poll in between
            t = trace_id(n + 1)
            spans = [S(t, span_id(1)), S(t, span_id(2), span_id(1)), S(t, span_id(3), span_id(1))]
            assert post(src, body_json({"svc": spans}))[0] == 200
        batch = drain(src)
        assert batch.status["otlp"]["dropped"] == 4
        assert batch.status["otlp"]["received"] == 9
        kept = list(zip(batch.spans["trace_id"].tolist(), batch.spans["span_id"].tolist(),
                        strict=True))  # fmt: skip
        assert sorted(kept) == sorted(
            [(trace_id(2), span_id(3))]
            + [(trace_id(3), span_id(i)) for i in (1, 2, 3)]
            + [(trace_id(2), span_id(2))]
        )  # the oldest four (trace 1, and trace 2's first span) went
        assert any("dropped" in n for n in batch.status["notices"])
    finally:
        src.close()


# -- traces that arrive in pieces ---------------------------------------------------------------
def test_children_before_their_root_are_released_with_it() -> None:
    """Two services export separately: the downstream server span arrives first, then its
    caller's trace. The source holds both and hands the trace over whole: one request."""
    src = OtlpSource("127.0.0.1:0", settle_s=1.0, root_wait_s=6.0)
    src.open()
    try:
        t = trace_id(5)
        downstream = [S(t, span_id(3), span_id(2), "charge", 2, T0 + 10_000_000, T0 + 20_000_000)]
        upstream = [
            S(t, span_id(1), "", "POST /pay", 2, T0, T0 + 30_000_000, attrs={"http.route": "/pay"}),
            S(t, span_id(2), span_id(1), "call payments", 3, T0 + 9_000_000, T0 + 21_000_000),
        ]
        post(src, body_json({"payments": downstream}))
        first = src.poll(time.time())
        assert len(first.spans) == 0 and first.status["otlp"]["held"] == 1
        post(src, body_json({"gateway": upstream}))
        assert len(src.poll(time.time()).spans) == 0  # the root came, settling
        released = src.poll(time.time() + 1.5).spans
        assert released["span_id"].tolist() == [span_id(1), span_id(2), span_id(3)]  # by start
        req = extract_requests(released)
        assert req.endpoint.tolist() == ["/pay"]  # the downstream server span is not a request
        assert src.poll(time.time() + 10).status["otlp"]["held"] == 0
    finally:
        src.close()


def test_a_trace_whose_root_never_comes_is_released_after_root_wait() -> None:
    src = OtlpSource("127.0.0.1:0", settle_s=1.0, root_wait_s=6.0)
    src.open()
    try:
        t = trace_id(6)
        post(src, body_json({"svc": [S(t, span_id(2), span_id(1), "GET /x", 2)]}))
        assert len(src.poll(time.time() + 3).spans) == 0
        orphan = src.poll(time.time() + 7).spans
        assert orphan["span_id"].tolist() == [span_id(2)]
        assert len(extract_requests(orphan)) == 1  # an orphan server span is the request
    finally:
        src.close()


def test_out_of_order_parents_within_one_body() -> None:
    t = trace_id(8)
    ms = 1_000_000
    spans = [
        S(t, span_id(3), span_id(2), start=T0 + 2 * ms),
        S(t, span_id(2), span_id(1), start=T0 + ms),
        S(t, span_id(1), "", kind=2, start=T0),
    ]
    src = OtlpSource("127.0.0.1:0", settle_s=0.0)
    src.open()
    try:
        post(src, body_json({"svc": spans}))
        out = drain(src).spans
        assert out["span_id"].tolist() == [span_id(1), span_id(2), span_id(3)]
        assert len(extract_requests(out)) == 1
    finally:
        src.close()


def test_too_many_held_spans_release_the_oldest_traces() -> None:
    src = OtlpSource("127.0.0.1:0", settle_s=60, root_wait_s=60, max_held=4)
    src.open()
    try:
        for n in range(3):
            t = trace_id(n + 1)
            post(src, body_json({"svc": [S(t, span_id(1)), S(t, span_id(2), span_id(1))]}))
            time.sleep(0.01)  # distinct arrival times
        out = src.poll(time.time())
        assert out.spans["trace_id"].tolist() == [trace_id(1), trace_id(1)]
        assert out.status["otlp"]["held"] == 4
    finally:
        src.close()


def test_the_assembler_on_a_fake_clock() -> None:
    from apm_tui.sources.otlp.otlp_json import decode_json
    from apm_tui.sources.otlp.source import TraceAssembler

    def spans(*items: S) -> Any:
        return decode_json(body_json({"svc": list(items)})).spans

    a, b, c = trace_id(1), trace_id(2), trace_id(3)
    hold = TraceAssembler(settle_s=1.0, root_wait_s=6.0, max_hold_s=30.0, max_held=5)
    hold.add(spans(S(a, span_id(1)), S(a, span_id(2), span_id(1))), arrival=100.0)  # a: root
    hold.add(spans(S(b, span_id(3), span_id(9))), arrival=100.0)  # b: waits for its root
    assert len(hold.release(100.5)) == 0
    assert hold.release(101.0)["trace_id"].tolist() == [a, a]  # quiet 1 s after its root
    assert len(hold.release(105.0)) == 0
    # a retry of b's span is dropped; c's spans push the holding over max_held
    assert hold.add(spans(S(b, span_id(3), span_id(9))), arrival=105.5) == 1
    c_spans = [S(c, span_id(10 + i), span_id(10)) for i in range(1, 5)]
    hold.add(spans(S(c, span_id(10)), *c_spans), arrival=105.5)  # 1 + 5 = 6 held > 5
    early = hold.release(105.6)
    assert early["trace_id"].tolist() == [b]  # the oldest trace goes early, just enough
    assert len(hold) == 5
    assert hold.release(106.6)["trace_id"].tolist() == [c] * 5
    # a span of a trace already released is held again and released on its own
    hold.add(spans(S(a, span_id(20), span_id(1))), arrival=107.0)
    assert len(hold.release(112.9)) == 0
    assert hold.release(113.0)["span_id"].tolist() == [span_id(20)]
    # a trace that never goes quiet is released after max_hold_s
    hold = TraceAssembler(settle_s=1.0, root_wait_s=6.0, max_hold_s=30.0, max_held=1000)
    for t in range(0, 40, 2):
        hold.add(spans(S(a, span_id(100 + t), span_id(1))), arrival=200.0 + t)
        out = hold.release(200.5 + t)
        if len(out):
            break
    assert 200.5 + t - 200.0 >= 30.0 and len(out) == t // 2 + 1


def test_a_decoder_bug_is_a_500_status_not_a_traceback(
    source: OtlpSource, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from apm_tui.sources.otlp import wire

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(wire, "decode_body", broken)
    code, _, reply = post(source, body_json(two_spans()))
    assert code == 500 and json.loads(reply)["message"] == "internal error: KeyError"
    monkeypatch.undo()
    assert post(source, body_json(two_spans()))[0] == 200  # the receiver carries on
    assert capfd.readouterr().err == ""
