"""OTLP ingest speed: spans per second decoded, and received end to end over HTTP.

Run: python bench/otlp.py [--quick]. Builds a realistic export — 1,000 traces × 10 spans (a
gateway, two services, Redis, Postgres and an internal span per trace, with the attributes
OpenTelemetry's HTTP and DB instrumentations set, and an SDK's resource attributes) — and
measures the median time (of several runs) to decode it as OTLP/JSON, as gzipped OTLP/JSON and
as protobuf, with `apm_tui.sources.otlp.decode_body`, the receiver's own path. Also reported:
the best run, the median CPU time, the share of it json.loads takes, the load average and a
fixed Python loop's time — this machine's two cores are shared, and a wall-clock figure moves
by 2× with what else runs.

End to end: an `OtlpSource` on an ephemeral loopback port, and a local client (http.client,
one keep-alive connection, as an SDK exporter uses) posting the same spans in requests of 500
spans (an SDK batch holds at most 512); the clock runs from the first request until `poll`
has handed over every span. The source releases traces without settling (settle_s=0), so the
figure is the receiver's throughput, not its deliberate hold. The target is ≥ 20,000 spans/s
for JSON ingest. Writes bench/results/otlp.json.
"""

from __future__ import annotations

import argparse
import base64
import gc
import gzip
import http.client
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "otlp.json"

from apm_tui.sources.otlp import OtlpSource, decode_body  # noqa: E402

TARGET_SPANS_S = 20_000
T0 = 1_767_225_600_000_000_000
SPANS_PER_TRACE = 10
REQUEST_SPANS = 500


def kv(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in attrs.items():
        if isinstance(value, bool):
            v: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            v = {"intValue": str(value)}
        elif isinstance(value, float):
            v = {"doubleValue": value}
        else:
            v = {"stringValue": value}
        out.append({"key": key, "value": v})
    return out


def resource(service: str) -> dict[str, Any]:
    return {
        "attributes": kv(
            {
                "service.name": service,
                "service.version": "1.4.2",
                "deployment.environment": "production",
                "host.name": "ip-10-0-3-17",
                "process.pid": 4242,
                "telemetry.sdk.name": "opentelemetry",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.version": "1.45.2",
            }
        )
    }


def trace_spans(n: int) -> dict[str, list[dict[str, Any]]]:
    """One trace of ten spans, grouped by the service that exports them."""
    trace = f"{n + 1:032x}"
    base = T0 + n * 50_000_000
    ids = [f"{n * SPANS_PER_TRACE + i + 1:016x}" for i in range(SPANS_PER_TRACE)]

    def span(i: int, parent: int | None, name: str, kind: int, start_ms: float, dur_ms: float,
             attrs: dict[str, Any], error: bool = False) -> dict[str, Any]:  # fmt: skip
        start = base + int(start_ms * 1e6)
        return {
            "traceId": trace,
            "spanId": ids[i],
            "parentSpanId": "" if parent is None else ids[parent],
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + int(dur_ms * 1e6)),
            "attributes": kv(attrs),
            "status": {"code": 2, "message": "boom"} if error else {},
            "flags": 257,
        }

    http = {"http.request.method": "POST", "url.scheme": "http", "network.protocol.version": "1.1"}
    sql = "SELECT o.id, o.total FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC"
    failed = n % 50 == 0
    code = 500 if failed else 200
    return {
        "api-gateway": [
            span(0, None, "POST /api/orders", 2, 0, 42, {**http, "http.route": "/api/orders",
                 "url.path": "/api/orders", "http.response.status_code": code,
                 "client.address": "10.0.0.8", "user_agent.original": "okhttp/4.12"}),
            span(1, 0, "POST", 3, 1, 40, {**http, "server.address": "orders",
                 "server.port": 8080, "http.response.status_code": code}),
        ],
        "order-service": [
            span(2, 1, "POST /orders", 2, 2, 38, {**http, "http.route": "/orders",
                 "http.response.status_code": code}, failed),
            span(3, 2, "GET", 3, 3, 1.2, {"db.system": "redis", "db.statement": "GET cart:?",
                 "server.address": "redis", "server.port": 6379}),
            span(4, 2, "SELECT orders", 3, 5, 14, {"db.system": "postgresql", "db.name": "shop",
                 "db.statement": sql, "server.address": "pg", "server.port": 5432}),
            span(5, 2, "INSERT orders", 3, 20, 4, {"db.system": "postgresql", "db.name": "shop",
                 "db.statement": "INSERT INTO orders (customer_id, total) VALUES ($1, $2)"}),
            span(6, 2, "validate", 1, 25, 0.4, {"code.function": "validate_order"}),
            span(7, 2, "POST", 3, 26, 12, {**http, "server.address": "payments",
                 "http.response.status_code": 200}),
        ],
        "payment-service": [
            span(8, 7, "POST /charge", 2, 27, 10, {**http, "http.route": "/charge",
                 "http.response.status_code": 200}),
            span(9, 8, "UPDATE balances", 3, 28, 3, {"db.system": "postgresql",
                 "db.statement": "UPDATE balances SET amount = amount - $1 WHERE id = $2"}),
        ],
    }  # fmt: skip


def request(traces: range) -> dict[str, Any]:
    """An export request of these traces, one resource per service, as an SDK batches them."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for n in traces:
        for service, spans in trace_spans(n).items():
            by_service.setdefault(service, []).extend(spans)
    return {
        "resourceSpans": [
            {
                "resource": resource(service),
                "scopeSpans": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.flask", "version": "0.5"},
                        "spans": spans,
                    }
                ],
                "schemaUrl": "https://opentelemetry.io/schemas/1.11.0",
            }
            for service, spans in by_service.items()
        ]
    }


def to_protobuf(obj: dict[str, Any]) -> bytes:
    """The same request in binary protobuf (json_format wants base64 ids, OTLP JSON has hex)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    obj = json.loads(json.dumps(obj))
    for rs in obj["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    message = json_format.ParseDict(obj, ExportTraceServiceRequest())
    data: bytes = message.SerializeToString()
    return data


def medians(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """Median wall seconds, median CPU seconds of this process, and the best wall time.

    The machine's cores are shared: the CPU figure is what the decoder costs when it runs,
    the best run what it does when it has a core to itself."""
    fn()  # warm up (imports, caches)
    gc.collect()  # start each measurement with the previous one's garbage gone
    walls, cpus = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), min(walls)


def calibration_ms() -> float:
    """A fixed pure-Python loop (sum(range(10**6)), best of 5): this machine's speed right now,
    to compare runs made on different machines or under different load."""
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def decode_rates(traces: int, runs: int) -> dict[str, Any]:
    obj = request(range(traces))
    spans = traces * SPANS_PER_TRACE
    body = json.dumps(obj).encode()
    packed = gzip.compress(body, 6)
    proto = to_protobuf(obj)
    del obj  # 10,000 spans of live dicts would make every cyclic-GC pass below slower
    out: dict[str, Any] = {
        "spans": spans,
        "json_mb": len(body) / 1e6,
        "json_gzip_mb": len(packed) / 1e6,
        "protobuf_mb": len(proto) / 1e6,
    }
    for label, data, ctype, enc in (
        ("json", body, "application/json", None),
        ("json_gzip", packed, "application/json", "gzip"),
        ("protobuf", proto, "application/x-protobuf", None),
    ):
        decoded = decode_body(data, ctype, enc, max_body=1 << 30)
        assert len(decoded.spans) == spans and decoded.rejected == 0, decoded.reason
        wall, cpu, best = medians(
            lambda d=data, c=ctype, e=enc: decode_body(d, c, e, 1 << 30), runs
        )
        out[f"{label}_spans_s"] = spans / wall
        out[f"{label}_cpu_spans_s"] = spans / cpu
        out[f"{label}_best_spans_s"] = spans / best
    _, json_cpu, _ = medians(lambda: json.loads(body), runs)
    out["stdlib_json_loads_share"] = json_cpu / (spans / out["json_cpu_spans_s"])
    return out


def end_to_end(traces: int, protobuf: bool) -> dict[str, Any]:
    per_request = REQUEST_SPANS // SPANS_PER_TRACE
    bodies = []
    for first in range(0, traces, per_request):
        obj = request(range(first, min(first + per_request, traces)))
        bodies.append(to_protobuf(obj) if protobuf else json.dumps(obj).encode())
    ctype = "application/x-protobuf" if protobuf else "application/json"
    expected = traces * SPANS_PER_TRACE
    source = OtlpSource("127.0.0.1:0", settle_s=0.0, root_wait_s=0.0, max_queue=expected)
    source.open()
    got = 0
    try:
        conn = http.client.HTTPConnection("127.0.0.1", source.port, timeout=30)
        t0 = time.perf_counter()
        for body in bodies:
            conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200, resp.status
        while got < expected:
            got += len(source.poll(time.time()).spans)
            if time.perf_counter() - t0 > 120:
                break
        elapsed = time.perf_counter() - t0
        conn.close()
    finally:
        source.close()
    return {"spans": got, "requests": len(bodies), "seconds": elapsed, "spans_s": got / elapsed}


def collect(quick: bool = False) -> dict[str, Any]:
    runs = 3 if quick else 9
    traces = 200 if quick else 1000
    rates = decode_rates(traces, runs)
    e2e_runs = 1 if quick else 3
    e2e = {}
    for label, protobuf in (("json", False), ("protobuf", True)):
        samples = [end_to_end(traces, protobuf) for _ in range(e2e_runs)]
        e2e[label] = sorted(samples, key=lambda s: s["spans_s"])[len(samples) // 2]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": os.getloadavg(),
        "calibration_ms": calibration_ms(),
        "runs": runs,
        "traces": traces,
        "spans_per_trace": SPANS_PER_TRACE,
        "decode": rates,
        "end_to_end": e2e,
        "target_spans_s": TARGET_SPANS_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 traces, fewer runs")
    args = parser.parse_args()
    out = collect(args.quick)
    d = out["decode"]
    print(f"{out['traces']} traces × {out['spans_per_trace']} spans, {out['date']}, "
          f"load {out['loadavg'][0]:.2f}, sum(range(10**6)) {out['calibration_ms']:.0f} ms; "
          f"JSON {d['json_mb']:.1f} MB")  # fmt: skip
    for label, name in (("json", "OTLP/JSON"), ("json_gzip", "OTLP/JSON gzip"),
                        ("protobuf", "protobuf")):  # fmt: skip
        print(f"  decode {name:<15} {d[label + '_spans_s']:>8,.0f} spans/s wall (median), "
              f"{d[label + '_best_spans_s']:>8,.0f} best, "
              f"{d[label + '_cpu_spans_s']:>8,.0f} per CPU second")  # fmt: skip
    print(f"  json.loads is {d['stdlib_json_loads_share']:.0%} of the JSON decode's CPU time")
    for label, e in out["end_to_end"].items():
        print(f"  HTTP end to end, {label:<8} {e['spans_s']:>10,.0f} spans/s "
              f"({e['requests']} requests of {REQUEST_SPANS} spans)")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
