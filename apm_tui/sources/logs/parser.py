"""Complete log lines → numpy columns → a spans Table of one server root span per request.

Speed is the design (a million nginx lines in a few seconds of pure Python): the format's regex
runs over a whole block with `findall`, and the number of matches is compared with the number of
lines. Only when they differ is the block bisected until the pieces that hold non-matching lines
are small enough to go line by line (the `loose` regex, then a reason for the rejection). Each
column is then converted at once: timestamps and endpoints through dicts keyed by the raw bytes
(a second's timestamp and a path repeat on many lines), numbers through a vectorised
decimal reader over a fixed-width byte matrix. Spans are only built in `table()`, with one
attributes dict per (route, method, status) shared by all of its requests.
"""

from __future__ import annotations

import gc
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apm_tui.model import FloatArray, Table
from apm_tui.printable import printable
from apm_tui.sources.clock import OUT_OF_RANGE, plausible
from apm_tui.sources.logs import stats as reasons
from apm_tui.sources.logs.formats import (
    _W3C_TOKEN,
    NUMBER_WIDTH,
    W3C_NO_FIELDS,
    LogFormat,
    detect,
    w3c_format,
)
from apm_tui.sources.logs.lines import MAX_LINE
from apm_tui.sources.logs.routes import INVALID, RouteNormaliser, Rule
from apm_tui.sources.logs.stats import LogStats
from apm_tui.sources.logs.timeparse import PARSERS

#: Caches keyed by raw bytes are cleared past this size (a log of unique paths stays bounded).
CACHE_LIMIT = 200_000
#: Below this many lines a non-matching piece goes line by line instead of being halved.
LINE_BY_LINE = 48
_POW10 = 10.0 ** np.arange(20)
_DIRECTIVE = re.compile(rb"^#[^\n]*+\n", re.MULTILINE)
_METHOD = re.compile(rb"^[^ \n]*+", re.MULTILINE)
_METHOD_PREFIX = re.compile(rb"^[^ \n]*+ ?", re.MULTILINE)
_TOKEN = re.compile(_W3C_TOKEN)
#: An HTTP method as servers log it (GET, PROPFIND, M-SEARCH); IIS's FTP log in the same W3C
#: format logs commands such as `[2]USER` and `[3]sent`, which are not requests.
_HTTP_METHOD = re.compile(rb"-|[A-Z][A-Z0-9_-]{0,23}")
#: Each parser numbers its spans from its own base, so ids stay unique across files.
_ID_BASES = itertools.count(1)

Row = tuple[bytes, ...]


@dataclass
class Rows:
    """Parsed requests as columns, before they become spans."""

    start: FloatArray
    duration_ms: FloatArray
    status: np.ndarray[Any, Any]  # int32; -1 where the server logged none (HAProxy aborts)
    nbytes: FloatArray
    route: np.ndarray[Any, Any]  # int32 index into the parser's (method, route) table

    def __len__(self) -> int:
        return int(self.start.size)

    def take(self, index: np.ndarray[Any, Any]) -> Rows:
        return Rows(
            self.start[index],
            self.duration_ms[index],
            self.status[index],
            self.nbytes[index],
            self.route[index],
        )

    @staticmethod
    def concat(parts: Sequence[Rows]) -> Rows:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return Rows(
                np.empty(0),
                np.empty(0),
                np.empty(0, np.int32),
                np.empty(0),
                np.empty(0, np.int32),
            )
        return Rows(
            np.concatenate([p.start for p in parts]),
            np.concatenate([p.duration_ms for p in parts]),
            np.concatenate([p.status for p in parts]),
            np.concatenate([p.nbytes for p in parts]),
            np.concatenate([p.route for p in parts]),
        )


def decimal_column(values: Sequence[bytes]) -> FloatArray:
    """Unsigned decimals ("0.018", "1234") as floats; "-", "" or a negative value give NaN.

    The values were validated by the format's regex, which also bounds their length (see
    `formats.NUMBER_WIDTH`): they are laid out as a NUL-padded byte matrix and read column
    by column.
    """
    if not values:
        return np.empty(0)
    if max(map(len, values)) > NUMBER_WIDTH:  # a custom regex's: the slow way
        return np.array([_to_float(v) for v in values], dtype=np.float64)
    matrix = np.array(values, dtype=f"S{NUMBER_WIDTH}").view(np.uint8)
    return decimal_matrix(matrix.reshape(len(values), NUMBER_WIDTH))


def decimal_matrix(m: np.ndarray[Any, Any]) -> FloatArray:
    """Rows of ASCII decimals, NUL-padded on the right, as floats (NaN for "-" or nothing).

    Horner's rule in int64 over the columns, then one division by a power of ten: exactly
    what `float()` gives for up to 18 digits.
    """
    n = len(m)
    used = np.flatnonzero(m.any(axis=0))
    width = int(used[-1]) + 1 if len(used) else 0
    acc = np.zeros(n, np.int64)
    frac = np.zeros(n, np.int64)
    dot = np.zeros(n, bool)
    for j in range(width):
        col = m[:, j]
        digit = col - np.uint8(48)
        is_digit = digit < 10
        acc = np.where(is_digit, acc * 10 + digit, acc)
        frac += is_digit & dot
        dot |= col == 46
    out = acc / _POW10[frac]
    if width:
        out[(m[:, 0] == 45) | (m[:, 0] == 0)] = np.nan
    else:
        out[:] = np.nan
    return out


def _to_float(value: bytes) -> float:
    try:
        number = float(value)
    except ValueError:
        return float("nan")
    return number if number >= 0 else float("nan")


def status_column(values: Sequence[bytes]) -> np.ndarray[Any, Any]:
    joined = b"".join(values)
    n = len(values)
    if len(joined) == 3 * n:
        return _status_digits(np.frombuffer(joined, np.uint8).reshape(n, 3))
    # HAProxy's -1 (aborted) stays; "-" or "" (none logged, W3C) is 0: no status.
    return np.array([int(v) if v not in (b"-", b"") else 0 for v in values], dtype=np.int32)


def _status_digits(m: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    digits = m.astype(np.int32) - 48
    return np.asarray(digits @ np.array([100, 10, 1], np.int32), dtype=np.int32)


def status_bytes_columns(values: Sequence[bytes]) -> tuple[np.ndarray[Any, Any], FloatArray]:
    """The `sb` group ("200 1234", "304 -") as a status column and a size column."""
    width = NUMBER_WIDTH
    m = np.array(values, dtype=f"S{width}").view(np.uint8).reshape(len(values), width)
    return _status_digits(m[:, :3]), decimal_matrix(m[:, 4:])


def split_request(request: bytes) -> tuple[bytes, bytes]:
    """(method, path) of a request line; (b"-", b"") when it is not one ("-", binary junk)."""
    parts = request.split()
    if len(parts) >= 2 and len(parts) <= 3 and len(parts[0]) <= 24 and parts[0].isalpha():
        return parts[0], parts[1]
    return b"-", b""


class LogParser:
    """Lines of one log → parsed request columns (`take`) → spans (`table`), with `stats`."""

    def __init__(
        self,
        fmt: LogFormat | None = None,
        *,
        rules: Iterable[Rule] = (),
        service: str = "web",
        stats: LogStats | None = None,
        normaliser: RouteNormaliser | None = None,
    ) -> None:
        self.stats = stats if stats is not None else LogStats()
        self.service = service
        self.normalise = normaliser if normaliser is not None else RouteNormaliser(rules)
        self.format: LogFormat | None = None
        self._w3c_fields: list[str] = []
        if fmt is not None:
            self.set_format(fmt)
        self._pending: list[Rows] = []
        self._times: dict[bytes, float] = {}
        # Bare W3C times: the last one read (as on the #Date day) and the days past it.
        self._w3c_clock, self._w3c_days = math.nan, 0
        self._keys: dict[bytes, int] = {}
        self._routes: dict[tuple[str, str], int] = {}
        self._route_names: list[tuple[str, str]] = []  # (method, route) by index
        self._ops = np.empty(0, dtype=object)
        self._attrs: dict[int, dict[str, Any]] = {}
        self._next_id = next(_ID_BASES) << 40

    # -- format ------------------------------------------------------------------------------
    def set_format(self, fmt: LogFormat) -> None:
        self.format = fmt
        self.stats.format = fmt.name
        groups = fmt.groups
        self._index = {name: i for i, name in enumerate(groups)}

    def _directive(self, line: bytes) -> None:
        """A W3C `#Fields:` or `#Date:` line: the format changes from the next line."""
        assert self.format is not None
        name, _, value = line.rstrip(b"\r\n").partition(b":")
        if name == b"#Fields":
            self._w3c_fields = value.decode("utf-8", "replace").split()
            self.set_format(w3c_format(self._w3c_fields, self.format.header_date))
        elif name in (b"#Date", b"#Start-Date"):
            date = value.strip()[:10]
            if re.fullmatch(rb"\d{4}-\d\d-\d\d", date):
                # From the directive's own time: a file started at 23:59:58 whose first
                # line is at 00:00:01 is on the next day already.
                self._w3c_clock = PARSERS["w3c"](value.strip()[:19])
                self._w3c_days = 0
                if self._w3c_fields:
                    self.set_format(w3c_format(self._w3c_fields, date))
                else:
                    self.format = replace(W3C_NO_FIELDS, header_date=date)

    # -- lines -------------------------------------------------------------------------------
    def feed(self, data: bytes, now: float, start: int = 0, end: int | None = None) -> None:
        """Parse the complete lines in `data[start:end]` (it ends with a newline); `now` dates
        the requests of a format without times. The slice is never copied."""
        end = len(data) if end is None else end
        if end <= start:
            return
        # findall's tuples (one per line) all live until the block is converted: each block
        # would set off full garbage collections over the whole heap (~15 % of the time),
        # and parsing makes no reference cycles for the collector to find.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._feed(data, now, start, end)
        finally:
            if paused:
                gc.enable()

    def _feed(self, data: bytes, now: float, start: int, end: int) -> None:
        if self.format is None:
            self.set_format(detect(data[start : min(end, start + 262_144)]))
        assert self.format is not None
        w3c = self.format.w3c
        if not (w3c and (data[start : start + 1] == b"#" or data.find(b"\n#", start, end) >= 0)):
            self._segment(data, start, end, now)
            return
        pos = start
        for m in _DIRECTIVE.finditer(data, start, end):
            if m.start() > pos:
                self._segment(data, pos, m.start(), now)
            self.stats.skipped += 1
            self._directive(m.group())
            pos = m.end()
        if pos < end:
            self._segment(data, pos, end, now)

    def _segment(self, data: bytes, start: int, end: int, now: float) -> None:
        rows: list[Row] = []
        self._match(data, start, end, data.count(b"\n", start, end), rows)
        if rows:
            self._pending.append(self._columns(rows, now))

    def _match(self, data: bytes, start: int, end: int, nlines: int, out: list[Row]) -> None:
        assert self.format is not None
        if nlines <= LINE_BY_LINE:
            for line in data[start:end].split(b"\n")[:-1]:
                self._line(line, out)
            return
        found = self.format.strict.findall(data, start, end)
        if len(found) == nlines:
            if found and not isinstance(found[0], tuple):
                found = [(v,) for v in found]
            out.extend(found)
            return
        half = (start + end) // 2
        mid = data.find(b"\n", half, end) + 1
        if mid <= start or mid >= end:
            mid = data.rfind(b"\n", start, half) + 1
        left_lines = data.count(b"\n", start, mid)
        self._match(data, start, mid, left_lines, out)
        self._match(data, mid, end, nlines - left_lines, out)

    def _line(self, line: bytes, out: list[Row]) -> None:
        assert self.format is not None
        fmt = self.format
        if not line.strip():
            self.stats.skipped += 1  # a blank line is no request, and no reject either
            return
        if len(line) > MAX_LINE:
            self.stats.reject(reasons.TOO_LONG, line[:200])
            return
        m = fmt.strict.match(line)
        if m is not None:
            out.append(m.groups(default=b""))
            return
        m = fmt.loose.match(line) if fmt.loose is not None else None
        if m is not None:
            out.append(self._loose_row(m))
            return
        if fmt.message is not None and fmt.message.match(line):
            self.stats.messages += 1
            return
        self.stats.reject(self._reason(line), line)

    def _loose_row(self, m: re.Match[bytes]) -> Row:
        """A loose match in the strict layout (the request split into method and path)."""
        found = m.groupdict()
        request = found.get("request")
        method, path = (b"", b"") if request is None else split_request(request)
        row = []
        for name in self._index:
            if name == "req":
                row.append(method + b" " + path)
            elif name in ("method", "path") and request is not None:
                row.append(method if name == "method" else path)
            else:
                row.append(found.get(name) or b"")
        return tuple(row)

    def _reason(self, line: bytes) -> str:
        assert self.format is not None
        if self.format.w3c:
            if not self._w3c_fields:
                return reasons.NO_FIELDS
            if len(_TOKEN.findall(line)) != len(self._w3c_fields):
                return reasons.FIELD_COUNT
        if b"\x00" in line or not _is_utf8(line):
            return reasons.NOT_TEXT
        return reasons.NO_MATCH

    # -- columns -----------------------------------------------------------------------------
    def _columns(self, rows: list[Row], now: float) -> Rows:
        assert self.format is not None
        fmt, index = self.format, self._index
        n = len(rows)
        cols = list(zip(*rows, strict=True))
        times = self._time_column(cols, n, now)
        if "dur" in index and fmt.dur_ms:
            dur = decimal_column(cols[index["dur"]]) * fmt.dur_ms
        else:
            dur = np.full(n, np.nan)
        if "sb" in index:
            status, nbytes = status_bytes_columns(cols[index["sb"]])
        else:
            status = (
                status_column(cols[index["status"]])
                if "status" in index
                else np.zeros(n, dtype=np.int32)
            )
            nbytes = (
                decimal_column(cols[index["bytes"]]) if "bytes" in index else np.full(n, np.nan)
            )
        if "req" in index:
            keys: Sequence[bytes] = cols[index["req"]]
        else:
            methods = cols[index["method"]] if "method" in index else (b"-",) * n
            keys = list(map(b" ".join, zip(methods, cols[index["path"]], strict=True)))
        route = self._route_ids(keys)
        # Checked per distinct method (a handful in a block), not per row.
        not_http = (
            {m for m in set(methods) if not _HTTP_METHOD.fullmatch(m)}
            if "method" in index
            else set()
        )
        start = times
        if fmt.time_is_end and fmt.dur_ms and fmt.time_kind:
            start = np.where(np.isnan(dur), times, times - dur / 1000.0)
        parsed = Rows(start, dur, status, nbytes, route)
        bad = self._rejected(rows, np.zeros(n, dtype=bool), np.isnan(times), reasons.BAD_TIME)
        if not_http:
            odd = np.fromiter((m in not_http for m in methods), bool, n)
            bad = self._rejected(rows, bad, odd, reasons.NOT_HTTP)
        if fmt.time_kind:  # (without times a line carries the time it was read)
            bad = self._rejected(rows, bad, ~plausible(times), OUT_OF_RANGE)
        if bad.any():
            parsed = parsed.take(np.flatnonzero(~bad))
        self.stats.parsed += len(parsed)
        if len(parsed):
            self.stats.saw_times(float(parsed.start.min()), float(parsed.start.max()))
        return parsed

    def _rejected(
        self, rows: list[Row], bad: np.ndarray[Any, Any], odd: np.ndarray[Any, Any], reason: str
    ) -> np.ndarray[Any, Any]:
        """`bad` and the rows of `odd` not already bad, counted as rejected for `reason`, the
        first of them as examples while the stats want some (a row's fields joined: the block's
        lines themselves are gone by now)."""
        odd = odd & ~bad
        if odd.any():
            where = np.flatnonzero(odd)
            shown = where[: max(0, reasons.EXAMPLES - len(self.stats.examples))]
            for i in shown:
                self.stats.reject(reason, b" | ".join(rows[int(i)]))
            self.stats.reject(reason, count=len(where) - len(shown))
        return np.asarray(bad | odd, dtype=bool)

    def _time_column(self, cols: list[tuple[bytes, ...]], n: int, now: float) -> FloatArray:
        assert self.format is not None
        fmt, index = self.format, self._index
        if not fmt.time_kind:
            self.stats.times_missing = True
            return np.full(n, now, dtype=np.float64)
        clock = cols[index["t"]]
        if "date" in index:
            dates = cols[index["date"]]
            keys: Sequence[bytes] = list(map(b" ".join, zip(dates, clock, strict=True)))
        elif fmt.w3c:
            keys = [fmt.header_date + b" " + t for t in clock]
        else:
            keys = clock
        # A second's timestamp repeats on many lines but rarely across blocks: parse each
        # distinct one of the block that is new, then look every line up.
        cache = self._times
        missing = [key for key in dict.fromkeys(keys) if key not in cache]
        if missing:
            if len(cache) + len(missing) > CACHE_LIMIT:
                cache.clear()
                missing = list(dict.fromkeys(keys))
            parse = PARSERS[fmt.time_kind]
            cache.update(zip(missing, map(parse, missing), strict=True))
        times = np.fromiter(map(cache.__getitem__, keys), np.float64, n)
        return self._past_midnight(times) if fmt.w3c and "date" not in index else times

    def _past_midnight(self, times: FloatArray) -> FloatArray:
        """Bare W3C times on the `#Date:` day, one day on for each time the clock ran back
        past midnight (23:59:58, then 00:00:01): the directive is written once, as a file
        starts, so a file open over midnight dated its lines after it a day early."""
        known = np.flatnonzero(np.isfinite(times))
        if not len(known):
            return times
        clock = times[known]
        before = np.concatenate(([self._w3c_clock], clock[:-1]))
        # Back by over half a day: a new day, not a line written a little out of order.
        days = self._w3c_days + np.cumsum(clock - before < -43_200.0)
        self._w3c_clock, self._w3c_days = float(clock[-1]), int(days[-1])
        out = times.copy()
        out[known] = clock + 86_400.0 * days
        return out

    def _route_ids(self, keys: Sequence[bytes]) -> np.ndarray[Any, Any]:
        """Each request key ("GET /users/42") as the index of its (method, route)."""
        ids, missing = _lookup(self._keys, keys, np.int32)
        if missing:
            # New keys are normalised as one text: a few regex passes, not calls per key.
            joined = b"\n".join(missing)
            methods = _METHOD.findall(joined)
            paths = _METHOD_PREFIX.sub(b"", joined).decode("utf-8", "replace")
            routes = self.normalise.text(paths).split("\n")
            found = dict(zip(missing, map(self._route_id, methods, routes), strict=True))
            _fill(ids, keys, found, self._keys)
        return ids

    def _route_id(self, method_b: bytes, route: str) -> int:
        # Once per distinct request: a logged path is anyone's text (apm_tui.printable).
        method = printable(method_b.decode("utf-8", "replace"))
        return self.route_index(method or "-", printable(route) or INVALID)

    def route_index(self, method: str, route: str) -> int:
        """The index of a (method, route) pair, added if new."""
        ident = self._routes.get((method, route))
        if ident is None:
            ident = self._routes[(method, route)] = len(self._route_names)
            self._route_names.append((method, route))
        return ident

    def merge(self, rows: Rows, routes: Sequence[tuple[str, str]], stats: LogStats) -> None:
        """Append what another parser of the same format read (a later part of the file)."""
        mapping = np.array([self.route_index(m, r) for m, r in routes] or [0], dtype=np.int32)
        self._pending.append(replace(rows, route=mapping[rows.route]))
        self.stats.add(stats)

    @property
    def routes(self) -> list[tuple[str, str]]:
        return list(self._route_names)

    # -- output ------------------------------------------------------------------------------
    def take(self) -> Rows:
        """Everything parsed since the last take."""
        rows = Rows.concat(self._pending)
        self._pending = []
        return rows

    def table(self, rows: Rows) -> Table:
        """The requests as server root spans (see the package docstring for the columns)."""
        n = len(rows)
        if n == 0:
            return Table({})
        if len(self._ops) < len(self._route_names):
            ops = np.empty(len(self._route_names), dtype=object)
            ops[:] = [f"{method} {route}" for method, route in self._route_names]
            self._ops = ops
        ids = np.empty(n, dtype=object)
        ids[:] = list(map(hex, range(self._next_id, self._next_id + n)))
        self._next_id += n
        status = rows.status
        combo = rows.route.astype(np.int64) * 1024 + (status.astype(np.int64) + 1)
        attributes = self._attribute_column(combo)
        return Table(
            {
                "trace_id": ids,
                "span_id": ids,  # one string per request: a root span is its own trace
                "parent_id": _same(n, ""),
                "service": _same(n, self.service),
                "operation": self._ops[rows.route],
                "kind": _same(n, "server"),
                "start": rows.start,
                "duration_ms": rows.duration_ms,
                "error": status >= 500,
                "attributes": attributes,
                "bytes": rows.nbytes,
            }
        )

    def _attribute_column(self, combo: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """One shared dict per (route, method, status) combination, looked up per row."""
        space = len(self._route_names) * 1024
        if space <= 1 << 22:  # a dense table: no sort
            used = np.flatnonzero(np.bincount(combo, minlength=space))
            table = np.empty(space, dtype=object)
            table[used] = [self._attributes(int(c)) for c in used]
            return np.asarray(table[combo])
        unique, inverse = np.unique(combo, return_inverse=True)
        dicts = np.empty(len(unique), dtype=object)
        dicts[:] = [self._attributes(int(c)) for c in unique]
        return np.asarray(dicts[inverse.reshape(-1)])

    def _attributes(self, combo: int) -> dict[str, Any]:
        found = self._attrs.get(combo)
        if found is None:
            method, route = self._route_names[combo // 1024]
            status = combo % 1024 - 1
            found = self._attrs[combo] = {
                "http.route": route,
                "http.request.method": method,
                "http.response.status_code": status,
            }
        return found


def _lookup(
    cache: dict[bytes, Any], keys: Sequence[bytes], dtype: type[Any]
) -> tuple[np.ndarray[Any, Any], list[bytes]]:
    """Cached values of keys (-1 where missing), and the distinct missing keys.

    Looking every key up with a default is cheaper than building a set of the keys first
    when most are cached (paths repeat for ever; timestamps do not: see `_time_column`)."""
    values = np.fromiter(map(cache.get, keys, itertools.repeat(-1)), dtype, len(keys))
    holes = np.flatnonzero(values == -1)
    if not len(holes):
        return values, []
    return values, list(dict.fromkeys(map(keys.__getitem__, holes.tolist())))


def _fill(
    values: np.ndarray[Any, Any],
    keys: Sequence[bytes],
    found: dict[bytes, Any],
    cache: dict[bytes, Any],
) -> None:
    """Put newly computed values in place (where the -1s are) and in the bounded cache."""
    holes = np.flatnonzero(values == -1).tolist()
    values[holes] = list(map(found.__getitem__, map(keys.__getitem__, holes)))
    if len(cache) + len(found) > CACHE_LIMIT:
        cache.clear()
    cache.update(found)


def _same(n: int, value: str) -> np.ndarray[Any, Any]:
    """An object column of one value (np.full is ~40× slower for objects)."""
    out = np.empty(n, dtype=object)
    out[:] = value
    return out


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
