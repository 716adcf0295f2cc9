"""The OTLP decoders: JSON and protobuf bodies → span columns, with per-span rejections."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apm_tui.analysis.bottlenecks import query_stats, span_frame
from apm_tui.analysis.requests import extract_requests
from apm_tui.model import SPAN_STR_FIELDS
from apm_tui.sources.otlp import (
    BodyTooLarge,
    Decoded,
    OtlpDecodeError,
    UnsupportedMedia,
    decode_body,
    decode_json,
    decode_protobuf,
)
from tests.conftest import SHARED
from tests.unit.otlp_bodies import (
    T0,
    S,
    body_json,
    body_protobuf,
    count_otlp_spans,
    request_json,
    span_id,
    trace_id,
)

SERVER, CLIENT, INTERNAL, PRODUCER, CONSUMER = 2, 3, 1, 4, 5


def shop() -> dict[str, list[S]]:
    """One request: a gateway server span, a DB call and a downstream service."""
    t = trace_id(1)
    return {
        "gateway": [
            S(t, span_id(1), "", "GET /api/orders/{id}", SERVER, T0, T0 + 80_000_000,
              attrs={"http.route": "/api/orders/{id}", "http.response.status_code": 200}),
            S(t, span_id(2), span_id(1), "SELECT orders", CLIENT, T0 + 1_000_000,
              T0 + 31_000_000,
              attrs={"db.system": "postgresql", "db.statement": "SELECT * FROM orders"}),
        ],
        "payments": [
            S(t, span_id(3), span_id(1), "charge", SERVER, T0 + 40_000_000, T0 + 70_000_000,
              status=2),
        ],
    }  # fmt: skip


def test_json_request_becomes_span_columns() -> None:
    out = decode_json(body_json(shop()))
    assert out.rejected == 0 and out.reason == ""
    spans = out.spans
    assert set(spans.names) == {*SPAN_STR_FIELDS, "start", "duration_ms", "error", "attributes"}
    assert spans["service"].tolist() == ["gateway", "gateway", "payments"]
    assert spans["operation"].tolist() == ["GET /api/orders/{id}", "SELECT orders", "charge"]
    assert spans["kind"].tolist() == ["server", "db", "server"]
    assert spans["parent_id"].tolist() == ["", span_id(1), span_id(1)]
    assert spans["start"].tolist() == pytest.approx([T0 / 1e9, T0 / 1e9 + 0.001, T0 / 1e9 + 0.04])
    assert spans["duration_ms"].tolist() == pytest.approx([80.0, 30.0, 30.0])
    assert spans["error"].tolist() == [False, False, True]
    assert spans["start"].dtype == np.float64 and spans["error"].dtype == bool
    assert spans["attributes"][0] == {"http.route": "/api/orders/{id}",
                                      "http.response.status_code": 200}  # fmt: skip


def test_the_analysis_reads_decoded_spans_as_requests_and_queries() -> None:
    spans = decode_json(body_json(shop())).spans
    req = extract_requests(spans)
    assert req.endpoint.tolist() == ["/api/orders/{id}"]  # the payments server span has a parent
    assert req.duration_ms.tolist() == [80.0]
    queries = query_stats(span_frame(spans))
    assert [(q.statement, q.calls) for q in queries] == [("SELECT * FROM orders", 1)]


def test_protobuf_decodes_to_the_same_columns_as_json() -> None:
    a = decode_json(body_json(shop())).spans
    b = decode_protobuf(body_protobuf(shop())).spans
    for name in a.names:
        assert a[name].tolist() == b[name].tolist(), name


def test_official_otlp_example_upper_case_ids() -> None:
    """opentelemetry-proto's examples/trace.json: upper-case hex ids; its parent is elsewhere."""
    raw = (SHARED / "data" / "traces" / "trace.json").read_bytes()
    out = decode_json(raw)
    assert out.rejected == 0
    assert out.spans["trace_id"].tolist() == ["5b8efff798038103d269b633813fc60c"]
    assert out.spans["span_id"].tolist() == ["eee19b7ec3c1b174"]
    assert out.spans["parent_id"].tolist() == ["eee19b7ec3c1b173"]
    assert out.spans["service"].tolist() == ["my.service"]
    assert out.spans["kind"].tolist() == ["server"]
    assert out.spans["duration_ms"].tolist() == [1000.0]
    assert out.spans["start"].tolist() == [1544712660.0]
    assert out.spans["attributes"][0] == {"my.span.attr": "some value"}
    # its parent is not in the file: the orphan server span is still one request
    assert len(extract_requests(out.spans)) == 1


def test_snake_case_names_numbers_and_enum_names_are_accepted() -> None:
    body = {
        "resource_spans": [
            {
                "resource": {"attributes": [{"key": "service.name",
                                             "value": {"string_value": "svc"}}]},
                "scope_spans": [{"spans": [{
                    "trace_id": trace_id(9), "span_id": span_id(9),
                    "parent_span_id": "", "name": "work", "kind": "SPAN_KIND_CONSUMER",
                    "start_time_unix_nano": T0, "end_time_unix_nano": T0 + 2_000_000,
                    "status": {"code": "STATUS_CODE_ERROR"},
                    "attributes": [{"key": "n", "value": {"int_value": 7}}],
                }]}],
            }
        ]
    }  # fmt: skip
    out = decode_json(json.dumps(body))
    assert out.rejected == 0
    assert out.spans["service"].tolist() == ["svc"]
    assert out.spans["kind"].tolist() == ["consumer"]
    assert out.spans["error"].tolist() == [True]
    assert out.spans["duration_ms"].tolist() == [2.0]
    assert out.spans["attributes"][0] == {"n": 7}


@pytest.mark.parametrize(
    ("kind", "attrs", "expected"),
    [
        (SERVER, {}, "server"),
        (CLIENT, {}, "client"),
        (INTERNAL, {}, "internal"),
        (0, {}, "internal"),  # unspecified
        (PRODUCER, {}, "producer"),
        (CONSUMER, {}, "consumer"),
        (9, {}, "internal"),  # an enum value from the future
        (CLIENT, {"db.system": "mysql"}, "db"),
        (INTERNAL, {"db.system.name": "postgresql"}, "db"),
        (CLIENT, {"db.system": "redis"}, "cache"),
        (CLIENT, {"db.system.name": "memcached"}, "cache"),
    ],
)
def test_span_kinds(kind: int, attrs: dict[str, Any], expected: str) -> None:
    s = S(trace_id(1), span_id(1), kind=kind, attrs=attrs)
    assert decode_json(body_json({"a": [s]})).spans["kind"].tolist() == [expected]
    assert decode_protobuf(body_protobuf({"a": [s]})).spans["kind"].tolist() == [expected]


@pytest.mark.parametrize(
    ("kind", "status", "attrs", "error"),
    [
        (SERVER, 0, {}, False),
        (SERVER, 2, {}, True),  # STATUS_CODE_ERROR
        (SERVER, 1, {}, False),  # OK
        (SERVER, 0, {"http.response.status_code": 503}, True),
        (SERVER, 0, {"http.status_code": 500}, True),
        (SERVER, 0, {"http.status_code": 404}, False),
        (CLIENT, 0, {"http.response.status_code": 503}, False),  # the server's error, not ours
        (CLIENT, 2, {}, True),
    ],
)
def test_errors(kind: int, status: int, attrs: dict[str, Any], error: bool) -> None:
    s = S(trace_id(1), span_id(1), kind=kind, status=status, attrs=attrs)
    assert decode_json(body_json({"a": [s]})).spans["error"].tolist() == [error]
    assert decode_protobuf(body_protobuf({"a": [s]})).spans["error"].tolist() == [error]


def test_attributes_are_flattened_to_plain_values() -> None:
    attrs = {
        "s": "x",
        "i": 42,
        "f": 1.5,
        "b": True,
        "arr": ["a", 1, True],
        "kv": {"inner": "v", "deeper": {"n": 3}},
    }
    s = S(trace_id(1), span_id(1), attrs=attrs)
    expected = {"s": "x", "i": 42, "f": 1.5, "b": True, "arr": "a, 1, True",
                "kv.inner": "v", "kv.deeper.n": 3}  # fmt: skip
    assert decode_json(body_json({"a": [s]})).spans["attributes"][0] == expected
    assert decode_protobuf(body_protobuf({"a": [s]})).spans["attributes"][0] == expected


def test_json_attribute_edge_values() -> None:
    body = request_json({"a": [S(trace_id(1), span_id(1))]})
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [
        {"key": "bytes", "value": {"bytesValue": base64.b64encode(b"\x00\x01").decode()}},
        {"key": "empty", "value": {}},
        {"key": "none"},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "neg", "value": {"intValue": "-12"}},
        {"key": "future", "value": {"someNewValue": 1}},
    ]
    attrs = decode_json(json.dumps(body)).spans["attributes"][0]
    assert set(attrs) == {"nan", "neg"}
    assert np.isnan(attrs["nan"]) and attrs["neg"] == -12


def broken_spans() -> tuple[list[dict[str, Any]], list[str]]:
    """Spans each wrong in one way, and the reason each must be rejected with."""
    good = request_json({"a": [S(trace_id(1), span_id(1))]})["resourceSpans"][0]
    base = good["scopeSpans"][0]["spans"][0]

    def variant(n: int, **changes: Any) -> dict[str, Any]:
        span = {**base, "spanId": span_id(100 + n), **changes}
        return {k: v for k, v in span.items() if v is not None}

    cases = [
        (variant(1, traceId="abc"), "trace id must be 32 hex digits"),
        (variant(2, traceId=base64.b64encode(bytes(range(1, 17))).decode()), "not base64"),
        (variant(3, spanId="0" * 16), "span id is all zeros"),
        (variant(4, spanId="zz" * 8), "span id must be 16 hex digits"),
        (variant(5, parentSpanId="12345"), "parent span id must be 16 hex digits"),
        (variant(6, traceId=None), "trace id is not a string"),
        (variant(7, endTimeUnixNano=None), "missing start or end time"),
        (variant(8, startTimeUnixNano="12x"), "startTimeUnixNano is not a non-negative"),
        (variant(9, endTimeUnixNano=str(T0 - 1)), "ends before it starts"),
        (variant(10, name=5), "name is not a string"),
        (variant(11, kind="SPAN_KIND_SIDEWAYS"), "unknown span kind"),
        (variant(12, kind=[2]), "kind is not an enum value"),
        (variant(13, status="ERROR"), "status is not an object"),
        (variant(14, attributes={"a": 1}), "attributes is not a list"),
        (variant(15, attributes=[{"key": "a", "value": {"intValue": "one"}}]), "wrong type"),
        (variant(16, attributes=[["a", 1]]), "not a key/value object"),
        (variant(17, startTimeUnixNano=True), "is not a non-negative 64-bit integer"),
        (variant(18, endTimeUnixNano="9" * 400), "endTimeUnixNano is not a non-negative 64"),
        (variant(21, startTimeUnixNano="١٧٦٧٢٢٥٦٠٠"), "startTimeUnixNano is not a non-negative"),
        (variant(19, endTimeUnixNano=1 << 64), "endTimeUnixNano is not a non-negative 64"),
        (
            variant(20, attributes=[{"key": "a", "value": {"intValue": str(1 << 63)}}]),
            "has a value of the wrong type",
        ),
        ("a span that is a string", "span is not an object"),
    ]
    return [c[0] for c in cases], [c[1] for c in cases]  # type: ignore[misc]


def test_bad_spans_are_rejected_one_by_one_and_the_rest_kept() -> None:
    bad, reasons = broken_spans()
    good = [S(trace_id(1), span_id(1)), S(trace_id(1), span_id(2), span_id(1))]
    body = request_json({"svc": good})
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1:1] = bad
    out = decode_json(json.dumps(body))
    assert out.rejected == len(bad)
    assert out.spans["span_id"].tolist() == [span_id(1), span_id(2)]
    assert out.reason.startswith(f"{len(bad)} spans rejected: ")
    for reason in reasons:  # each span alone gives its own reason
        one = request_json({"svc": []})
        one["resourceSpans"][0]["scopeSpans"][0]["spans"] = [bad[reasons.index(reason)]]
        single = decode_json(json.dumps(one))
        assert single.rejected == 1 and reason in single.reason, (reason, single.reason)


def test_duplicate_span_ids_are_rejected_and_counted() -> None:
    s = S(trace_id(1), span_id(1))
    out = decode_json(body_json({"a": [s, s], "b": [s]}))
    assert (len(out.spans), out.rejected) == (1, 2)
    assert out.reason == "2 spans rejected: duplicate span id (2)"


def test_a_resource_that_is_not_an_object_rejects_its_spans() -> None:
    body = request_json({"a": [S(trace_id(1), span_id(1)), S(trace_id(1), span_id(2))],
                         "b": [S(trace_id(1), span_id(3))]})  # fmt: skip
    body["resourceSpans"][0]["resource"] = "oops"
    out = decode_json(json.dumps(body))
    assert (len(out.spans), out.rejected) == (1, 2)
    assert "resource" in out.reason


def test_missing_service_name_is_unknown_service_and_empty_name_is_named() -> None:
    body = request_json({"a": [S(trace_id(1), span_id(1), name="")]})
    del body["resourceSpans"][0]["resource"]
    out = decode_json(json.dumps(body))
    assert out.spans["service"].tolist() == ["unknown_service"]
    assert out.spans["operation"].tolist() == ["(unnamed)"]


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"resourceSpans": {}}',
     b'{"resourceSpans": [1]}', b'{"resourceSpans": [{"scopeSpans": 3}]}',
     b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}', b"[" * 100_000],
)  # fmt: skip
def test_malformed_json_bodies_raise_the_decode_error(body: bytes) -> None:
    with pytest.raises(OtlpDecodeError):
        decode_json(body)


def test_an_empty_request_is_no_spans_and_a_logs_request_says_so() -> None:
    assert len(decode_json(b"{}").spans) == 0
    assert decode_json(b'{"resourceSpans": []}').reason == ""
    logs = (SHARED / "data" / "traces" / "logs.json").read_bytes()
    out = decode_json(logs)
    assert len(out.spans) == 0 and out.rejected == 0
    assert out.reason == "no spans: this is an OTLP logs request"


def test_protobuf_rejects_bad_ids_per_span() -> None:
    spans = [
        S(trace_id(1), span_id(1)),
        S("00" * 16, span_id(2)),
        S(trace_id(1), "abcd"),  # 2 bytes
        S(trace_id(1), span_id(4), end=T0 - 1),
        S(trace_id(1), span_id(5), start=0),
    ]
    out = decode_protobuf(body_protobuf({"a": spans}))
    assert out.spans["span_id"].tolist() == [span_id(1)]
    assert out.rejected == 4
    assert out.reason == (
        "4 spans rejected: trace id is all zeros (1); span id must be 8 bytes (1); "
        "ends before it starts (1); 1 other reason"  # the summary names at most three
    )
    only = decode_protobuf(body_protobuf({"a": [S(trace_id(1), span_id(5), start=0)]}))
    assert only.reason == "1 span rejected: missing start or end time (1)"


@pytest.mark.parametrize("encode", [body_json, body_protobuf])
def test_spans_with_impossible_times_are_rejected(encode: Any) -> None:
    """A span dated 2200 would have dropped every real request from a live window."""
    far, second = 7_258_118_400 * 10**9, 10**9  # 2200-01-01 and 1970-01-01 00:00:01
    spans = [
        S(trace_id(1), span_id(1)),
        S(trace_id(1), span_id(2), start=far, end=far + 5_000_000),
        S(trace_id(1), span_id(3), start=second, end=second + 5_000_000),
    ]
    decode = decode_json if encode is body_json else decode_protobuf
    out = decode(encode({"a": spans}))
    assert out.spans["span_id"].tolist() == [span_id(1)]
    assert out.rejected == 2
    assert out.reason == (
        "2 spans rejected: time before 1990 or over 5 minutes ahead of this clock (2)"
    )


def test_truncated_protobuf_raises_the_decode_error() -> None:
    body = body_protobuf(shop())
    with pytest.raises(OtlpDecodeError):
        decode_protobuf(body[: len(body) // 2])


def test_decode_body_media_types_gzip_and_limits() -> None:
    raw = body_json(shop())
    assert len(decode_body(raw, "application/json; charset=utf-8").spans) == 3
    assert len(decode_body(gzip.compress(raw), "application/json", "gzip").spans) == 3
    pb = body_protobuf(shop())
    assert len(decode_body(pb, "application/x-protobuf").spans) == 3
    assert len(decode_body(gzip.compress(pb), "application/protobuf", "GZIP").spans) == 3
    with pytest.raises(UnsupportedMedia):
        decode_body(raw, "text/plain")
    with pytest.raises(UnsupportedMedia):
        decode_body(raw, "application/json", "br")
    with pytest.raises(BodyTooLarge):
        decode_body(raw, "application/json", max_body=len(raw) - 1)
    bomb = gzip.compress(b" " * (4 << 20))
    with pytest.raises(BodyTooLarge):
        decode_body(bomb, "application/json", "gzip", max_body=1 << 20)
    with pytest.raises(OtlpDecodeError):
        decode_body(gzip.compress(raw)[:-12], "application/json", "gzip")
    with pytest.raises(OtlpDecodeError):
        decode_body(b"not gzip", "application/json", "gzip")
    # several gzip members are one body, as gzip(1) reads them
    halves = gzip.compress(raw[:100]) + gzip.compress(raw[100:])
    assert len(decode_body(halves, "application/json", "gzip").spans) == 3


def test_json_decoding_does_not_import_protobuf() -> None:
    code = (
        "import sys\n"
        "from apm_tui.sources.otlp import decode_json, read_trace_file\n"
        "from tests.unit.otlp_bodies import S, body_json, trace_id, span_id\n"
        "out = decode_json(body_json({'a': [S(trace_id(1), span_id(1))]}))\n"
        "assert len(out.spans) == 1\n"
        f"read_trace_file({str(SHARED / 'data' / 'traces' / 'zipkin_yelp.json')!r})\n"
        "loaded = [m for m in sys.modules if m.startswith(('google', 'opentelemetry'))]\n"
        "assert not loaded, loaded\n"
        "assert 'textual' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


# -- fuzzing: whatever the body, a Decoded or the decoder's own error ------------------------------
def check_decoded(out: Decoded) -> None:
    assert isinstance(out, Decoded)
    n = len(out.spans)
    assert out.rejected >= 0
    if n:
        for name in SPAN_STR_FIELDS:
            assert all(isinstance(v, str) for v in out.spans[name].tolist())
        assert np.all(out.spans["duration_ms"] >= 0)
        for attrs in out.spans["attributes"]:
            assert all(isinstance(v, str | int | float | bool) for v in attrs.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_json_decoder_with_bytes(body: bytes) -> None:
    with contextlib.suppress(OtlpDecodeError):
        check_decoded(decode_json(body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_protobuf_decoder_with_bytes(body: bytes) -> None:
    with contextlib.suppress(OtlpDecodeError):
        check_decoded(decode_protobuf(body))


FIELD_NAMES = ["resourceSpans", "scopeSpans", "spans", "resource", "attributes", "traceId",
               "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano",
               "status", "code", "key", "value", "stringValue", "intValue", "doubleValue",
               "boolValue", "arrayValue", "kvlistValue", "values", "bytesValue"]  # fmt: skip
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            trace_id(1),
            span_id(1),
            str(T0),
            "SPAN_KIND_SERVER",
            "0" * 16,
            "9" * 30,
            "NaN",
            "-Infinity",
            "STATUS_CODE_ERROR",
        ]
    )
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_json_decoder_with_otlp_shaped_structures(obj: Any) -> None:
    with contextlib.suppress(OtlpDecodeError):
        check_decoded(decode_json(json.dumps(obj)))


SPAN_FIELDS = ["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
               "endTimeUnixNano", "status", "attributes", "events", "links"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(SPAN_FIELDS), json_values), max_size=4),
       st.integers(min_value=0, max_value=2))  # fmt: skip
def test_fuzz_mutated_spans_are_each_accepted_or_rejected(
    mutations: list[tuple[str, Any]], which: int
) -> None:
    """A valid three-span body with one span's fields replaced by arbitrary JSON: the envelope
    is intact, so the body decodes and every span is accounted for."""
    body = request_json(shop())
    spans = [s for rs in body["resourceSpans"] for s in rs["scopeSpans"][0]["spans"]]
    for name, value in mutations:
        spans[which][name] = value
    out = decode_json(json.dumps(body))
    check_decoded(out)
    assert len(out.spans) + out.rejected == count_otlp_spans(body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                max_size=6))  # fmt: skip
def test_fuzz_protobuf_with_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    body = bytearray(body_protobuf(shop()))
    for pos, value in flips:
        body[pos % len(body)] = value
    with contextlib.suppress(OtlpDecodeError):
        check_decoded(decode_protobuf(bytes(body)))


def test_the_garbage_collector_is_paused_only_while_decoding() -> None:
    import gc

    from apm_tui.sources.otlp.spans import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # another receiver thread decoding at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer decode is still running
    assert gc.isenabled()
    with pytest.raises(OtlpDecodeError):
        decode_json(b"{broken")
    assert gc.isenabled()
    decode_protobuf(body_protobuf(shop()))
    assert gc.isenabled()
    gc.disable()  # someone else's choice is kept
    try:
        decode_json(body_json(shop()))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("encode", [body_json, body_protobuf])
def test_equal_attribute_strings_are_held_once(encode: Any) -> None:
    """A decoder made a string per span: the window held "GET" and "200" thousands of times
    (≈ 200 of the ≈ 420 bytes of a span's attributes)."""
    spans = [
        S(trace_id(i), span_id(i), "", "GET /a", 2, attrs={"http.request.method": "GET"})
        for i in range(1, 4)
    ]
    decode = decode_json if encode is body_json else decode_protobuf
    attrs = decode(encode({"a": spans})).spans["attributes"]
    methods = [a["http.request.method"] for a in attrs]
    assert methods == ["GET"] * 3 and methods[0] is methods[1] is methods[2]
