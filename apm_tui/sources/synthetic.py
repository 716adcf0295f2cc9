"""The seed's synthetic world: a seeded e-commerce application with a day's rhythm and incidents.

Metrics and traces come from one model of the application, so they agree: a metric sample's
response time is the expected mean of the requests traced at that moment, and its DB time the
mean of the DB spans. Every day (UTC) the world replays the same incident schedule, which the
analysis must find:

- memory leaks from ~42 % after the midnight restart to ~90 % by the end of the day;
- latency bursts at 09:40–10:10 (×2.6) and 16:20–16:35 (×2.0);
- a CPU burst at 13:00–13:25 (+32 points);
- an error burst at 19:10–19:30 (~7 % errors, mostly on /api/cart/add);
- a nightly batch job at 02:00–02:30 slows every DB query ×3;
- /api/orders/create is slow (~420 ms: a payment call and an un-indexed orders query), and the
  product search runs an un-indexed ILIKE.

Traces are generated per endpoint template, vectorised across all traces of that endpoint, so a
30-day world (30,000 traces) takes a fraction of a second.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apm_tui.model import METRIC_FIELDS, Batch, FloatArray, Table

DAY = 86_400.0

# (start hour, end hour, effect) of the daily incidents, UTC.
LATENCY_BURSTS = ((9 + 40 / 60, 10 + 10 / 60, 2.6), (16 + 20 / 60, 16 + 35 / 60, 2.0))
CPU_BURST = (13.0, 13 + 25 / 60, 32.0)
ERROR_BURST = (19 + 10 / 60, 19.5, 7.0)
DB_BATCH_JOB = (2.0, 2.5, 3.0)
MEMORY_AFTER_RESTART = 42.0
MEMORY_LEAK_PER_DAY = 48.0


@dataclass(frozen=True)
class Node:
    """One span of an endpoint's trace template; children run one after another."""

    service: str
    operation: str
    kind: str
    self_ms: float
    sigma: float = 0.3
    children: tuple[Node, ...] = ()
    statement: str = ""
    db_system: str = ""

    @property
    def is_db(self) -> bool:
        return self.kind in ("db", "cache")


def _db(statement: str, ms: float, sigma: float = 0.35) -> Node:
    return Node(
        "postgres",
        statement.split()[0],
        "db",
        ms,
        sigma,
        statement=statement,
        db_system="postgresql",
    )


def _cache(command: str, ms: float) -> Node:
    return Node(
        "redis", command.split()[0], "cache", ms, 0.25, statement=command, db_system="redis"
    )


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str
    weight: float
    service: Node
    errors_in_burst: float = 1.0  # relative share of the error burst this endpoint takes

    @property
    def name(self) -> str:
        return self.route


SLOW_ORDERS_QUERY = "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC"
SLOW_SEARCH_QUERY = "SELECT p.* FROM products p WHERE p.name ILIKE ? ORDER BY p.rank DESC"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/products",
        0.27,
        Node(
            "catalog-service",
            "CatalogService.list",
            "server",
            14,
            children=(
                _cache("GET products:page:?", 1.2),
                _db("SELECT id, name, price FROM products ORDER BY rank LIMIT ? OFFSET ?", 16),
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/api/products/{id}",
        0.22,
        Node(
            "catalog-service",
            "CatalogService.get",
            "server",
            8,
            children=(
                _cache("GET product:?", 0.9),
                _db("SELECT * FROM products WHERE id = ?", 2.5),
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/api/cart/add",
        0.14,
        Node(
            "cart-service",
            "CartService.add",
            "server",
            12,
            children=(
                _cache("HSET cart:? ? ?", 1.1),
                _db("UPDATE carts SET updated_at = now() WHERE id = ?", 4),
            ),
        ),
        errors_in_burst=6.0,
    ),
    Endpoint(
        "POST",
        "/api/orders/create",
        0.12,
        Node(
            "order-service",
            "OrderService.create",
            "server",
            30,
            children=(
                Node(
                    "inventory-service",
                    "InventoryService.reserve",
                    "server",
                    10,
                    children=(_db("UPDATE inventory SET qty = qty - ? WHERE sku = ?", 7),),
                ),
                _db(SLOW_ORDERS_QUERY, 150, 0.4),
                _db("INSERT INTO orders (customer_id, total, status) VALUES (?, ?, ?)", 12),
                Node("payment-service", "PaymentService.charge", "server", 190, 0.35),
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/api/users/{id}",
        0.13,
        Node(
            "user-service",
            "UserService.get",
            "server",
            9,
            children=(_db("SELECT * FROM users WHERE id = ?", 3),),
        ),
    ),
    Endpoint(
        "POST",
        "/api/auth/login",
        0.06,
        Node(
            "auth-service",
            "AuthService.login",
            "server",
            65,
            0.2,
            children=(_db("SELECT id, password_hash FROM users WHERE email = ?", 4),),
        ),
    ),
    Endpoint(
        "GET",
        "/api/search",
        0.06,
        Node(
            "search-service",
            "SearchService.query",
            "server",
            18,
            children=(_db(SLOW_SEARCH_QUERY, 110, 0.45),),
        ),
    ),
)

GATEWAY_SELF_MS = 2.5
ORDERS_SHARE = next(e.weight for e in ENDPOINTS if e.route == "/api/orders/create")


def _lognormal_mean(node: Node) -> float:
    return node.self_ms * math.exp(node.sigma**2 / 2)


def _expected_ms(node: Node) -> tuple[float, float]:
    """(application ms, db ms) a node's subtree takes on average at factor 1."""
    app, db = (0.0, _lognormal_mean(node)) if node.is_db else (_lognormal_mean(node), 0.0)
    for child in node.children:
        a, d = _expected_ms(child)
        app += a
        db += d
    return app, db


def _db_nodes(node: Node) -> list[Node]:
    found = [node] if node.kind == "db" else []
    for child in node.children:
        found.extend(_db_nodes(child))
    return found


# Per-endpoint expected times, used to keep the metric samples consistent with the traces.
_WEIGHTS = np.array([e.weight for e in ENDPOINTS]) / sum(e.weight for e in ENDPOINTS)
_APP_MS = np.array([_expected_ms(e.service)[0] + GATEWAY_SELF_MS for e in ENDPOINTS])
_DB_MS = np.array([_expected_ms(e.service)[1] for e in ENDPOINTS])
_DB_CALLS = np.array([len(_db_nodes(e.service)) for e in ENDPOINTS], dtype=float)
_DB_SPAN_MS = np.array([sum(_lognormal_mean(n) for n in _db_nodes(e.service)) for e in ENDPOINTS])
_BURST_NORM = float(_WEIGHTS @ np.array([e.errors_in_burst for e in ENDPOINTS]))


def _hour_of_day(ts: FloatArray) -> FloatArray:
    return np.asarray((ts % DAY) / 3600.0, dtype=np.float64)


def _in_window(hours: FloatArray, start: float, end: float) -> np.ndarray[Any, Any]:
    return (hours >= start) & (hours < end)


def load_factor(ts: FloatArray) -> FloatArray:
    """Diurnal traffic: lowest around 02:00 UTC, highest around 14:00."""
    return 1.0 + 0.45 * np.sin(2 * np.pi * (_hour_of_day(ts) - 8.0) / 24.0)


def latency_factor(ts: FloatArray) -> FloatArray:
    """Application time multiplier: more load is a little slower, bursts are much slower."""
    hours = _hour_of_day(ts)
    factor = 0.8 + 0.2 * load_factor(ts)
    for start, end, mult in LATENCY_BURSTS:
        factor = np.where(_in_window(hours, start, end), factor * mult, factor)
    return factor


def db_factor(ts: FloatArray) -> FloatArray:
    hours = _hour_of_day(ts)
    factor = 0.85 + 0.15 * load_factor(ts)
    start, end, mult = DB_BATCH_JOB
    return np.where(_in_window(hours, start, end), factor * mult, factor)


def error_rate_pct(ts: FloatArray) -> FloatArray:
    hours = _hour_of_day(ts)
    start, end, burst = ERROR_BURST
    return np.where(_in_window(hours, start, end), burst, 0.3)


@dataclass(frozen=True)
class WorldSettings:
    seed: int = 42
    hours: float = 24.0
    interval_s: float = 60.0
    traces: int = 1000
    #: Simulated seconds per wall-clock second when polled live.
    speed: float = 1.0
    #: Traces per simulated second when polled live (None: the backfill's rate).
    live_trace_rate: float | None = None
    #: Unix time the history starts; None: the last `hours` before today's midnight (UTC).
    start: float | None = None
    #: Base throughput in requests per second.
    throughput_rps: float = 12.0

    def __post_init__(self) -> None:
        if not self.hours > 0:
            raise ValueError(f"hours must be positive, got {self.hours}")
        if not self.interval_s > 0:
            raise ValueError(f"interval must be positive, got {self.interval_s}")
        if self.traces < 0:
            raise ValueError(f"traces must not be negative, got {self.traces}")
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, got {self.speed}")

    @property
    def samples(self) -> int:
        return round(self.hours * 3600 / self.interval_s)

    def resolved_start(self) -> float:
        if self.start is not None:
            return self.start
        midnight = math.floor(time.time() / DAY) * DAY
        return midnight - self.samples * self.interval_s


def generate_metrics(
    ts: FloatArray, rng: np.random.Generator, throughput_rps: float = 12.0
) -> Table:
    """Metric samples at the given timestamps (vectorised; noise from `rng`)."""
    n = len(ts)
    hours = _hour_of_day(ts)
    load = load_factor(ts)
    lat = latency_factor(ts)
    dbf = db_factor(ts)
    err = error_rate_pct(ts) * rng.gamma(4.0, 0.25, n)
    throughput = throughput_rps * load * rng.normal(1.0, 0.06, n)
    response = (_WEIGHTS @ _APP_MS) * lat + (_WEIGHTS @ _DB_MS) * dbf
    response = response * rng.normal(1.0, 0.05, n)
    db_query = (_WEIGHTS @ _DB_SPAN_MS) / (_WEIGHTS @ _DB_CALLS) * dbf * rng.normal(1.0, 0.07, n)
    cpu = 22.0 + 28.0 * load + rng.normal(0.0, 2.5, n)
    start, end, bump = CPU_BURST
    cpu = np.where(_in_window(hours, start, end), cpu + bump, cpu)
    memory = MEMORY_AFTER_RESTART + MEMORY_LEAK_PER_DAY * hours / 24.0 + rng.normal(0.0, 0.8, n)
    orders = throughput * 60.0 * ORDERS_SHARE * (1 - err / 100) * rng.normal(1.0, 0.08, n)
    columns = {
        "timestamp": np.asarray(ts, dtype=np.float64),
        "response_time_ms": np.maximum(response, 1.0),
        "throughput_rps": np.maximum(throughput, 0.0),
        "cpu_pct": np.clip(cpu, 0.0, 100.0),
        "memory_pct": np.clip(memory, 0.0, 100.0),
        "db_query_ms": np.maximum(db_query, 0.1),
        "error_rate_pct": np.clip(err, 0.0, 100.0),
        "orders_per_minute": np.maximum(orders, 0.0),
    }
    # To the thousandth, as an agent reports them (and so a recording stores them as integers).
    return Table({name: np.round(col, 3) for name, col in columns.items()})


@dataclass
class _SpanColumns:
    cols: dict[str, list[Any]] = field(
        default_factory=lambda: {
            "trace_id": [],
            "span_id": [],
            "parent_id": [],
            "service": [],
            "operation": [],
            "kind": [],
            "start": [],
            "duration_ms": [],
            "error": [],
            "attributes": [],
        }
    )

    def add(self, **parts: Any) -> None:
        for name, values in parts.items():
            self.cols[name].append(values)

    def table(self) -> Table:
        if not self.cols["start"]:
            return Table({})
        out: dict[str, np.ndarray[Any, Any]] = {}
        for name, parts in self.cols.items():
            if name in ("start", "duration_ms", "error"):
                out[name] = np.concatenate(parts)
            else:
                arr = np.empty(sum(len(p) for p in parts), dtype=object)
                arr[:] = [v for p in parts for v in p]
                out[name] = arr
        # Microseconds, as tracers report them (and so a recording stores them as integers).
        out["start"] = np.round(out["start"], 6)
        out["duration_ms"] = np.round(out["duration_ms"], 3)
        order = np.lexsort((out["start"],))
        return Table({k: v[order] for k, v in out.items()})


def _hex_ids(rng: np.random.Generator, n: int, words: int) -> list[str]:
    raw = rng.integers(0, 2**63, size=(n, words), dtype=np.int64)
    return ["".join(f"{int(w):016x}" for w in row) for row in raw]


def _emit_node(
    out: _SpanColumns,
    node: Node,
    trace_ids: list[str],
    parent_ids: list[str],
    start: FloatArray,
    lat: FloatArray,
    dbf: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, list[str]]:
    """Emit the spans of `node`'s subtree for every trace; return durations (ms) and span ids."""
    n = len(start)
    factor = dbf if node.is_db else lat
    self_ms = node.self_ms * factor * rng.lognormal(0.0, node.sigma, n)
    span_ids = _hex_ids(rng, n, 1)
    cursor = start + self_ms * 0.5 / 1000.0
    total = self_ms.copy()
    for child in node.children:
        child_ms, _ = _emit_node(out, child, trace_ids, span_ids, cursor, lat, dbf, rng)
        cursor = cursor + child_ms / 1000.0
        total += child_ms
    attrs: dict[str, Any] = {}
    if node.statement:
        attrs = {"db.system": node.db_system, "db.statement": node.statement}
    out.add(
        trace_id=trace_ids,
        span_id=span_ids,
        parent_id=parent_ids,
        service=[node.service] * n,
        operation=[node.operation] * n,
        kind=[node.kind] * n,
        start=start,
        duration_ms=total,
        error=np.zeros(n, dtype=bool),
        attributes=[attrs] * n,
    )
    return total, span_ids


def generate_traces(
    trace_times: FloatArray, rng: np.random.Generator, *, error_pct: FloatArray | None = None
) -> Table:
    """Traces starting at the given times: gateway → service → db / cache / downstream service."""
    n = len(trace_times)
    if n == 0:
        return Table({})
    errs = error_rate_pct(trace_times) if error_pct is None else error_pct
    in_burst = errs > 1.0
    choice = rng.choice(len(ENDPOINTS), size=n, p=_WEIGHTS)
    out = _SpanColumns()
    for idx, endpoint in enumerate(ENDPOINTS):
        mask = choice == idx
        m = int(mask.sum())
        if m == 0:
            continue
        start = np.asarray(trace_times[mask], dtype=np.float64)
        lat = latency_factor(start)
        dbf = db_factor(start)
        trace_ids = _hex_ids(rng, m, 2)
        gateway_ids = _hex_ids(rng, m, 1)
        gw_self = GATEWAY_SELF_MS * rng.lognormal(0.0, 0.2, m)
        inner_start = start + gw_self * 0.5 / 1000.0
        inner_ms, _ = _emit_node(
            out, endpoint.service, trace_ids, gateway_ids, inner_start, lat, dbf, rng
        )
        # In an error burst the broken endpoint takes most of the errors; the overall rate
        # stays what the metric samples say.
        share = np.where(in_burst[mask], endpoint.errors_in_burst / _BURST_NORM, 1.0)
        p_err = errs[mask] / 100.0 * share
        failed = rng.random(m) < np.clip(p_err, 0.0, 1.0)
        if failed.any():
            # The service span that failed is the one just emitted (last part for this node).
            out.cols["error"][-1] = failed.copy()
        status = np.where(failed, 500, 200)
        out.add(
            trace_id=trace_ids,
            span_id=gateway_ids,
            parent_id=[""] * m,
            service=["api-gateway"] * m,
            operation=[f"{endpoint.method} {endpoint.route}"] * m,
            kind=["server"] * m,
            start=start,
            duration_ms=gw_self + inner_ms,
            error=failed,
            attributes=[
                {
                    # OpenTelemetry's stable HTTP names, as the logs' spans have them.
                    "http.route": endpoint.route,
                    "http.request.method": endpoint.method,
                    "http.response.status_code": int(code),
                }
                for code in status
            ],
        )
    return out.table()


def trace_times_for(
    metrics: Table, count: int, rng: np.random.Generator, interval_s: float
) -> FloatArray:
    """`count` trace start times spread over the samples in proportion to their throughput."""
    if count == 0 or len(metrics) == 0:
        return np.empty(0)
    weights = metrics["throughput_rps"].astype(float)
    weights = weights / weights.sum()
    picks = rng.choice(len(metrics), size=count, p=weights)
    times = metrics["timestamp"][picks] + rng.random(count) * interval_s
    return np.sort(times)


class SyntheticSource:
    """The seeded synthetic world as a source: a history up front, then one sample per tick."""

    name = "synthetic"

    def __init__(self, settings: WorldSettings | None = None) -> None:
        self.settings = settings or WorldSettings()
        self._rng = np.random.default_rng(self.settings.seed)
        self._start = self.settings.resolved_start()
        # Simulated time of the next sample to emit when polled live.
        self._next_ts = self._start + self.settings.samples * self.settings.interval_s
        self._wall_origin: float | None = None
        self._sim_origin = self._next_ts

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def start(self) -> float:
        return self._start

    def backfill(self) -> Batch:
        s = self.settings
        ts = self._start + np.arange(s.samples, dtype=np.float64) * s.interval_s
        metrics = generate_metrics(ts, self._rng, s.throughput_rps)
        times = trace_times_for(metrics, s.traces, self._rng, s.interval_s)
        return Batch(metrics=metrics, spans=generate_traces(times, self._rng))

    def simulated_now(self, now: float) -> float:
        if self._wall_origin is None:
            self._wall_origin = now
        return self._sim_origin + (now - self._wall_origin) * self.settings.speed

    def poll(self, now: float) -> Batch:
        """Every sample due by the simulated clock (at most one hour's worth, to bound catch-up)."""
        s = self.settings
        sim_now = self.simulated_now(now)
        due = math.floor((sim_now - self._next_ts) / s.interval_s) + 1
        if due <= 0:
            return Batch()
        due = min(due, max(1, int(3600 / s.interval_s)))
        ts = self._next_ts + np.arange(due, dtype=np.float64) * s.interval_s
        self._next_ts = float(ts[-1] + s.interval_s)
        metrics = generate_metrics(ts, self._rng, s.throughput_rps)
        rate = s.live_trace_rate
        if rate is None:
            rate = s.traces / (s.hours * 3600.0)
        count = int(self._rng.poisson(rate * s.interval_s * due))
        times = trace_times_for(metrics, count, self._rng, s.interval_s)
        return Batch(metrics=metrics, spans=generate_traces(times, self._rng))


__all__ = ["ENDPOINTS", "METRIC_FIELDS", "SyntheticSource", "WorldSettings"]
