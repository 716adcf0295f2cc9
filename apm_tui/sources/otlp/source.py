"""`OtlpSource`: the OTLP/HTTP receiver as a Source — applications send spans, ticks drain them.

The receiver runs in a daemon thread and hands each decoded request to a bounded inbox (a
deque under a lock). When the dashboard cannot keep up and the inbox passes `max_queue` spans,
the oldest spans are dropped and counted: the applications are never slowed down.

`poll(now)` does not hand spans on the moment they arrive. The engine derives requests per
batch (a server span whose parent is not in the batch counts as a request), and the services of
one trace export separately — each SDK's batch processor on its own timer (5 s by default) —
so a downstream service's server span often arrives a tick before or after its caller's, and
would be counted as a request of its own. Spans are therefore held per trace until the trace
has been quiet for `settle_s` after its root (a span without a parent) arrived, or for
`root_wait_s` if no root has come (a trace whose root service is not instrumented, or whose
root went elsewhere), and released whole. Traces held past `max_hold_s`, or beyond
`max_held` spans, are released anyway. A span that arrives again while its trace is held (an
exporter retrying after a timeout) is dropped and counted as a duplicate. A span that arrives
after its trace was released is released on its own later; it is still a correct span for the
trace view, but if it is a server span the per-batch request count sees it as a request.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections import Counter, deque
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table
from apm_tui.sources.base import SourceError
from apm_tui.sources.otlp.receiver import TRACES_PATH, OtlpHttpServer
from apm_tui.sources.otlp.spans import Decoded
from apm_tui.sources.otlp.wire import DEFAULT_MAX_BODY

DEFAULT_LISTEN = "127.0.0.1:4318"
#: Seconds between notices that repeat (rejections, drops), so a broken client cannot flood.
NOTICE_EVERY_S = 30.0


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` → (host, port); the host defaults to
    127.0.0.1 (loopback: the receiver takes spans from this machine unless asked otherwise)."""
    text = listen.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"bad listen address {listen!r}: use [IPv6]:PORT")
    elif text.count(":") > 1:
        raise ValueError(f"bad listen address {listen!r}: write an IPv6 host as [::1]:PORT")
    else:
        host, _, port = text.rpartition(":")
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        # `foo` alone is a host without a port, not a bad port.
        bare = ":" not in text and not port.isdigit()
        why = (
            "use HOST:PORT, e.g. 127.0.0.1:4318" if bare or not port else "the port must be 0–65535"
        )
        raise ValueError(f"bad listen address {listen!r}: {why}")
    return host or "127.0.0.1", int(port)


class TraceAssembler:
    """Holds spans per trace until the trace looks complete (see the module docstring)."""

    def __init__(
        self, settle_s: float, root_wait_s: float, max_hold_s: float, max_held: int
    ) -> None:
        self.settle_s = settle_s
        self.root_wait_s = root_wait_s
        self.max_hold_s = max_hold_s
        self.max_held = max_held
        self._parts: list[Table] = []  # joined at release, not at every request
        self._count = 0
        # trace id → [first arrival, last arrival, root seen, span ids]
        self._traces: dict[str, list[Any]] = {}

    def __len__(self) -> int:
        return self._count

    def add(self, spans: Table, arrival: float) -> int:
        """Hold `spans`; a span already held (an exporter's retry) is dropped. Returns how
        many were dropped so."""
        if not len(spans):
            return 0
        traces = self._traces
        keep = np.ones(len(spans), dtype=bool)
        rows = zip(
            spans["trace_id"].tolist(),
            spans["span_id"].tolist(),
            spans["parent_id"].tolist(),
            strict=True,
        )
        for i, (trace, span, parent) in enumerate(rows):
            state = traces.get(trace)
            if state is None:
                traces[trace] = [arrival, arrival, parent == "", {span}]
                continue
            if span in state[3]:
                keep[i] = False
                continue
            state[3].add(span)
            state[1] = max(state[1], arrival)
            if parent == "":
                state[2] = True
        duplicates = int(len(keep) - keep.sum())
        if duplicates:
            spans = spans.take(keep)
        self._parts.append(spans)
        self._count += len(spans)
        return duplicates

    def release(self, now: float) -> Table:
        """The spans of every trace that is ready at `now`, ordered by start time."""
        if not self._count:
            return Table({})
        ready = set()
        for trace, (first, last, root, _) in self._traces.items():
            quiet = now - last
            if quiet >= (self.settle_s if root else self.root_wait_s) or (
                now - first >= self.max_hold_s
            ):
                ready.add(trace)
        held = Table.concat(self._parts)
        ids = held["trace_id"].tolist()
        if self._count > self.max_held:  # too much held: release the oldest traces early
            counts = Counter(ids)
            excess = self._count - self.max_held - sum(counts[t] for t in ready)
            for trace, _ in sorted(self._traces.items(), key=lambda item: item[1][0]):
                if excess <= 0:
                    break
                if trace not in ready:
                    ready.add(trace)
                    excess -= counts[trace]
        if not ready:
            self._parts = [held]
            return Table({})
        for trace in ready:
            del self._traces[trace]
        mask = np.fromiter((t in ready for t in ids), dtype=bool, count=len(ids))
        out, kept = held.take(mask), held.take(~mask)
        self._parts = [kept] if len(kept) else []
        self._count = len(kept)
        return out.take(np.argsort(out["start"], kind="stable"))


class OtlpSource:
    """Receives OTLP/HTTP traces on `listen` (default 127.0.0.1:4318, POST /v1/traces)."""

    name = "otlp"

    def __init__(
        self,
        listen: str = DEFAULT_LISTEN,
        max_body: int = DEFAULT_MAX_BODY,
        *,
        max_queue: int = 200_000,
        settle_s: float = 1.0,
        root_wait_s: float = 6.0,
        max_hold_s: float = 30.0,
        max_held: int = 200_000,
    ) -> None:
        try:
            self.host, self.port = parse_listen(listen)
        except ValueError as exc:
            raise SourceError(str(exc)) from None
        if max_body <= 0 or max_queue <= 0:
            raise SourceError("max_body and max_queue must be positive")
        self.max_body = max_body
        self.max_queue = max_queue
        self._assembler = TraceAssembler(settle_s, root_wait_s, max_hold_s, max_held)
        self._server: OtlpHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._inbox: deque[tuple[float, Table]] = deque()
        self._queued = 0
        self._closed = False
        self.received = 0  # spans accepted
        self.rejected = 0  # spans refused by the decoder (bad ids, types, duplicates)
        self.dropped = 0  # accepted spans dropped because the inbox was full
        self.requests = 0  # export requests answered 200
        self.duplicates = 0  # spans received again while their trace was held (retries)
        self.last_reason = ""
        self.last_span_at: float | None = None  # when spans last came (this machine's clock)
        self._notices: list[str] = []
        self._noticed_at: dict[str, float] = {}
        self._reported = {"rejected": 0, "dropped": 0, "refused": 0}

    # -- the Source interface ------------------------------------------------------------------
    def open(self) -> None:
        if self._server is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            server = OtlpHttpServer((self.host, self.port), self._on_decoded, self.max_body, family)
        except OSError as exc:
            raise SourceError(self._bind_error(exc)) from None
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.25,), name="apm-otlp", daemon=True
        )
        self._thread.start()
        self._notices.append(f"OTLP: receiving traces at {self.endpoint}")

    def backfill(self) -> Batch:
        return Batch()

    def poll(self, now: float) -> Batch:
        with self._lock:
            fresh, self._inbox, self._queued = self._inbox, deque(), 0
        for arrival, spans in fresh:
            self.duplicates += self._assembler.add(spans, arrival)
        spans = self._assembler.release(now)
        self._note_problems(now)
        status: dict[str, Any] = {"otlp": self.stats()}
        if self._notices:
            status["notices"], self._notices = self._notices, []
        return Batch(spans=spans, status=status)

    def close(self) -> None:
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- details -------------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """The address listened on (after `open`, the real port when 0 was asked for)."""
        return self.host, self.port

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{TRACES_PATH}"

    def stats(self) -> dict[str, Any]:
        """Counts since `open`, as plain JSON values (recorded with each batch's status)."""
        server = self._server
        with self._lock:
            queued = self._queued
        return {
            "listen": f"{self.host}:{self.port}",
            "requests": self.requests,
            "received": self.received,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "duplicates": self.duplicates,
            "queued": queued,
            "held": len(self._assembler),
            "refused_requests": self.refused_requests(),
            "last_reason": self.last_reason,
            "last_refusal": server.last_refusal if server is not None else "",
            "last_span_at": self.last_span_at,
        }

    def _on_decoded(self, decoded: Decoded, arrival: float) -> None:
        """Called on a server thread for every decoded request."""
        n = len(decoded.spans)
        with self._lock:
            if self._closed:
                return
            self.requests += 1
            self.received += n
            self.rejected += decoded.rejected
            if decoded.reason:
                self.last_reason = decoded.reason
            if n:
                self._inbox.append((arrival, decoded.spans))
                self._queued += n
                self.last_span_at = arrival
            while self._queued > self.max_queue:
                self._drop_oldest(self._queued - self.max_queue)

    def _drop_oldest(self, excess: int) -> None:
        arrival, oldest = self._inbox[0]
        if len(oldest) <= excess:
            self._inbox.popleft()
            dropped = len(oldest)
        else:
            self._inbox[0] = (arrival, oldest.take(slice(excess, None)))
            dropped = excess
        self._queued -= dropped
        self.dropped += dropped

    def refused_requests(self) -> int:
        """Requests answered with an error, whole (a wrong path, a deflate body, gRPC on this
        HTTP port)."""
        server = self._server
        answers = dict(server.answers) if server is not None else {}  # a copy: threads add
        return sum(n for code, n in answers.items() if code != 200)

    def _note_problems(self, now: float) -> None:
        server = self._server
        # An exporter logs only "404 Not Found": the dashboard says what the answer said.
        for what, total in (
            ("rejected", self.rejected),
            ("dropped", self.dropped),
            ("refused", self.refused_requests()),
        ):
            new = total - self._reported[what]
            if new <= 0 or now - self._noticed_at.get(what, -1e18) < NOTICE_EVERY_S:
                continue
            self._reported[what] = total
            self._noticed_at[what] = now
            if what == "rejected":
                self._notices.append(f"OTLP: {new} span(s) rejected — {self.last_reason}")
            elif what == "refused":
                last = server.last_refusal if server is not None else ""
                self._notices.append(f"OTLP: {new} request(s) refused — {last}")
            else:
                self._notices.append(
                    f"OTLP: {new} span(s) dropped: the dashboard fell behind "
                    f"(queue of {self.max_queue} spans)"
                )

    def _bind_error(self, exc: OSError) -> str:
        where = f"{self.host}:{self.port}"
        if exc.errno == errno.EADDRINUSE:
            return (
                f"cannot receive OTLP on {where}: the port is in use (an OpenTelemetry "
                f"Collector or another apm-tui?); choose another with --listen HOST:PORT"
            )
        if exc.errno == errno.EACCES:
            return f"cannot receive OTLP on {where}: permission denied (ports below 1024?)"
        if isinstance(exc, socket.gaierror):
            return f"cannot receive OTLP on {where}: unknown host {self.host!r}"
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"cannot receive OTLP on {where}: not an address of this machine"
        return f"cannot receive OTLP on {where}: {exc.strerror or exc}"
