"""What every trace format is decoded into: accepted spans as columns, rejected spans counted.

The OTLP (JSON and protobuf), Zipkin and Jaeger decoders all feed one `SpanSink`, so the rules
that turn a foreign span into one of ours live here once:

- **kind**: SERVER → "server", CLIENT → "client", PRODUCER → "producer", CONSUMER → "consumer",
  INTERNAL or unspecified → "internal"; but a span that names a database system
  (`db.system` / `db.system.name`) is a "db" span, or a "cache" span for Redis, Memcached and
  friends — the kinds the synthetic world uses, so the slow-query list and the DB hotspots
  (which read `db.statement` / `db.query.text`) work on real traces. Only "server" spans can
  be requests.
- **error**: the span's status is ERROR, or a server span answered HTTP ≥ 500.
- **duplicates**: a second span with the same (trace id, span id) is rejected and counted —
  exporters retry, and a duplicate would count a request or a query twice.
- a span without a name is called "(unnamed)" (OTLP: an empty name means "unknown").
- a span that starts before 1990 or over 5 minutes ahead of this clock is rejected (`clock`).

(The OTLP/JSON decoder inlines `SpanSink.add` in its per-span loop, its hottest code.)
Rejections carry a short reason; `Decoded.reason` summarises them ("2 spans rejected: …") for
an OTLP partial-success message or a trace file's stats.
"""

from __future__ import annotations

import gc
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from apm_tui.model import SPAN_STR_FIELDS, AttributeValue, Table
from apm_tui.printable import any_control, attribute_texts, printable_attributes, printable_column
from apm_tui.sources.clock import OUT_OF_RANGE, plausible

UNKNOWN_SERVICE = "unknown_service"  # what OpenTelemetry SDKs call a service with no name
UNNAMED = "(unnamed)"
SENT_NAMES = frozenset(("service", "operation"))  # text from the sender (see apm_tui.printable)

#: OTLP `Span.SpanKind` values (and the Zipkin / Jaeger names) → our kinds.
KIND_BY_NUMBER = ("internal", "internal", "server", "client", "producer", "consumer")
KIND_BY_NAME = {
    "SPAN_KIND_UNSPECIFIED": "internal",
    "SPAN_KIND_INTERNAL": "internal",
    "SPAN_KIND_SERVER": "server",
    "SPAN_KIND_CLIENT": "client",
    "SPAN_KIND_PRODUCER": "producer",
    "SPAN_KIND_CONSUMER": "consumer",
    "INTERNAL": "internal",
    "SERVER": "server",
    "CLIENT": "client",
    "PRODUCER": "producer",
    "CONSUMER": "consumer",
}
DB_SYSTEM_KEYS = ("db.system", "db.system.name")
#: Key-value stores reported as "cache" spans (their commands are not slow-query candidates).
CACHE_SYSTEMS = frozenset({"redis", "memcached", "valkey", "hazelcast", "coherence", "geode"})
HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")

_HEX = re.compile(r"[0-9a-fA-F]+\Z")


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run a decode with Python's cyclic garbage collector paused.

    Decoding builds hundreds of thousands of dicts, lists and tuples, none of them in a
    reference cycle, and their allocations keep triggering collections that also walk every
    long-lived object — the dashboard's window holds one attribute dict per span. Measured on
    10,000 spans beside 300,000 such dicts, the collector was a third of the decode's time.
    Reference counting still frees everything at once; the collector resumes when the last
    concurrent decode ends (receiver threads may overlap), and only if it was running before.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class Rejected(Exception):
    """One span cannot be used; the message is the reason counted for it."""


def hex_id(value: object, digits: int, what: str) -> str:
    """A lower-case hex id of exactly `digits` digits, not all zeros (OTLP's rule)."""
    if type(value) is not str:
        raise Rejected(f"{what} is not a string")
    if len(value) != digits or not _HEX.match(value):
        hint = " (hex, not base64)" if len(value) == (digits // 2 + 2) // 3 * 4 else ""
        raise Rejected(f"{what} must be {digits} hex digits{hint}")
    if value.count("0") == digits:
        raise Rejected(f"{what} is all zeros")
    return value.lower()


def padded_hex_id(value: object, what: str) -> str:
    """Zipkin / Jaeger ids: 1–16 or 17–32 hex digits, left-padded to 16 or 32 (as Zipkin does:
    Jaeger drops leading zeros, and 64-bit trace ids are still common there)."""
    if type(value) is not str:
        raise Rejected(f"{what} is not a string")
    n = len(value)
    if not 0 < n <= 32 or not _HEX.match(value):
        raise Rejected(f"{what} must be up to 32 hex digits")
    value = value.lower().rjust(16 if n <= 16 else 32, "0")
    if value.count("0") == len(value):
        raise Rejected(f"{what} is all zeros")
    return value


def span_kind(base: str, attrs: dict[str, AttributeValue]) -> str:
    for key in DB_SYSTEM_KEYS:
        system = attrs.get(key)
        if system is not None:
            return "cache" if str(system).lower() in CACHE_SYSTEMS else "db"
    return base


def http_error(attrs: dict[str, AttributeValue]) -> bool:
    for key in HTTP_STATUS_KEYS:
        code = attrs.get(key)
        if code is None:
            continue
        try:
            return int(code) >= 500
        except (TypeError, ValueError):
            return False
    return False


@dataclass(frozen=True, slots=True)
class Decoded:
    """Spans decoded from one body or file: the accepted ones, and how many were rejected why."""

    spans: Table
    rejected: int = 0
    #: A short summary of why spans were rejected (or a warning, e.g. "no spans: OTLP logs");
    #: "" when there is nothing to say.
    reason: str = ""
    #: What `reason` sums up: each reason's count, and the notes.
    reasons: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def accepted(self) -> int:
        return len(self.spans)


def _held(texts: Sequence[str]) -> list[str]:
    held: dict[str, str] = {}
    return [held.setdefault(text, text) for text in texts]


def _shared(attrs: Sequence[dict[str, AttributeValue]]) -> Sequence[dict[str, AttributeValue]]:
    """The attribute sets with each distinct string value held once. A decoder makes a new
    string per span ("GET", "200", a host name): 3,600 values of 1,000 spans were 19 distinct
    ones, ≈ 200 of the ≈ 420 bytes a span's attributes held in the window. Changed in place
    (the sets are the decoder's own); ≈ 1 µs a span."""
    held: dict[str, str] = {}
    for one in attrs:
        for key, value in one.items():
            if type(value) is str:
                one[key] = held.setdefault(value, value)
    return attrs


class SpanSink:
    """Collects spans as rows; `add` applies the kind, error and duplicate rules. The names
    and attributes are made printable (`apm_tui.printable`) unless the caller knows that none
    can hold a control character (`clean`: a JSON body without an escape that could be one)."""

    def __init__(self, *, clean: bool = False) -> None:
        self.clean = clean
        self.rows: list[tuple[Any, ...]] = []
        self.reasons: Counter[str] = Counter()
        self.notes: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self.rows)

    def reject(self, reason: str, n: int = 1) -> None:
        if n:
            self.reasons[reason] += n

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def add(
        self,
        trace_id: str,
        span_id: str,
        parent_id: str,
        service: str,
        operation: str,
        base_kind: str,
        start: float,
        duration_ms: float,
        status_error: bool,
        attrs: dict[str, AttributeValue],
    ) -> bool:
        """Append one span (ids already checked); False (and counted) if it is a duplicate."""
        key = (trace_id, span_id)
        if key in self.seen:
            self.reasons["duplicate span id"] += 1
            return False
        self.seen.add(key)
        kind, error = base_kind, status_error
        if attrs:
            kind = span_kind(base_kind, attrs)
            if base_kind == "server" and not error:
                error = http_error(attrs)
        self.rows.append(
            (
                trace_id,
                span_id,
                parent_id,
                service or UNKNOWN_SERVICE,
                operation or UNNAMED,
                kind,
                start,
                duration_ms,
                error,
                attrs,
            )
        )
        return True

    def table(self) -> Table:
        if not self.rows:
            return Table({})
        columns = list(zip(*self.rows, strict=True))
        n = len(self.rows)
        cols: dict[str, np.ndarray[Any, Any]] = {}
        for i, name in enumerate(SPAN_STR_FIELDS):
            col = np.empty(n, dtype=object)
            # A span's name, like its attributes' strings, is one new string a span.
            col[:] = _held(columns[i]) if name == "operation" else columns[i]
            # The ids are checked hex and the kind one of ours; names come from the sender.
            cols[name] = printable_column(col) if name in SENT_NAMES and not self.clean else col
        cols["start"] = np.array(columns[6], dtype=np.float64)
        cols["duration_ms"] = np.array(columns[7], dtype=np.float64)
        cols["error"] = np.array(columns[8], dtype=bool)
        attrs = np.empty(n, dtype=object)
        sent = columns[9]
        dirty = not self.clean and any_control(attribute_texts(sent))
        attrs[:] = _shared([printable_attributes(a) for a in sent] if dirty else sent)
        cols["attributes"] = attrs
        table = Table(cols)
        ok = plausible(cols["start"])
        if not ok.all():
            self.reject(OUT_OF_RANGE, int((~ok).sum()))
            table = table.take(np.flatnonzero(ok))
        return table

    def reason(self) -> str:
        parts = []
        if self.reasons:
            n = self.rejected
            top = self.reasons.most_common(3)
            detail = "; ".join(f"{why} ({k})" for why, k in top)
            more = len(self.reasons) - len(top)
            if more > 0:
                detail += f"; {more} other reason{'s' if more > 1 else ''}"
            parts.append(f"{n} span{'s' if n != 1 else ''} rejected: {detail}")
        parts.extend(self.notes)
        return ". ".join(parts)

    def result(self) -> Decoded:
        spans = self.table()  # first: it rejects the spans with impossible times
        return Decoded(
            spans, self.rejected, self.reason(), tuple(self.reasons.items()), tuple(self.notes)
        )
