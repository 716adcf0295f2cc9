"""`read_log` (a whole file at once) and `LogSource` (files followed live, with a backlog).

The backlog — requests within `backlog_s` of the newest line — is read from the end of the file
backwards in growing blocks until a whole block is older than that, so opening a 10 GB log to
watch its last 15 minutes reads a few megabytes. W3C logs are the exception: their format is
set by the `#Fields:` directive before the lines, so they are read from the start. A log whose
format has no time gets no backlog (its requests would all carry the time they were read).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apm_tui.model import Batch, Table
from apm_tui.sources.base import SourceError
from apm_tui.sources.logs import stats as reasons
from apm_tui.sources.logs.follow import FileTail, check_log
from apm_tui.sources.logs.formats import LogFormat, detect, get_format
from apm_tui.sources.logs.lines import MAX_LINE, LineAssembler
from apm_tui.sources.logs.parser import LogParser, Rows
from apm_tui.sources.logs.routes import Rule
from apm_tui.sources.logs.stats import LogStats, summary

#: Forward reads go in blocks of this size (big blocks: one regex pass over many lines).
READ_BLOCK = 8 << 20
#: Backward reads start with this block size and double up to `READ_BLOCK`.
BACK_BLOCK = 1 << 20
#: Bytes of the file's start that format detection looks at (and lines).
DETECT_BYTES = 256 << 10
DETECT_LINES = 200

PathLike = str | os.PathLike[str]


def service_name(path: PathLike) -> str:
    """A log's service name: its file name without rotation number, `.gz` and `.log`."""
    name = Path(path).name
    name = re.sub(r"(\.gz)?$", "", name)
    name = re.sub(r"([.-]\d+)+$", "", name)
    name = re.sub(r"\.(log|txt)$", "", name)
    return name or "web"


def resolve_format(fmt: str | LogFormat) -> LogFormat | None:
    """None for "auto" (detect from the first lines), else the named or compiled format."""
    if isinstance(fmt, LogFormat):
        return fmt
    return None if fmt.strip().lower() == "auto" else get_format(fmt)


def read_log(
    path: PathLike,
    fmt: str | LogFormat = "auto",
    rules: Iterable[Rule] = (),
    *,
    service: str | None = None,
    now: float | None = None,
    workers: int | None = None,
) -> tuple[Table, LogStats]:
    """Every request in a log file (plain or `.gz`) as spans, and what was parsed or rejected.

    `now` dates the requests of a format without times (default: the time of the call).
    `workers`: processes that parse parts of a big file at once (None: two for a file of
    `PARALLEL_BYTES` or more when the machine has two CPUs and this process one thread —
    the parts are read by forked processes, which a threaded process must not fork).
    Raises SourceError when the file cannot be read or no format matches its first lines.
    """
    stats = LogStats(path=str(path))
    name = service or service_name(path)
    parser = LogParser(resolve_format(fmt), rules=rules, service=name, stats=stats)
    read_into(parser, path, time.time() if now is None else now, workers, rules)
    return parser.table(parser.take()), stats


def read_into(
    parser: LogParser,
    path: PathLike,
    when: float,
    workers: int | None = None,
    rules: Iterable[Rule] = (),
) -> None:
    """Feed a whole file to a parser (see `read_log`; `rules` again for the workers)."""
    check_log(path)
    try:
        if os.fspath(path).endswith(".gz"):
            with gzip.open(path, "rb") as f:
                _feed_file(parser, f, when)
            return
        size = os.path.getsize(path)
        parts = _parts(path, size, auto_workers(size) if workers is None else workers)
        if len(parts) > 1 and parser.format is None:
            with open(path, "rb") as f:
                head = f.read(DETECT_BYTES)
            parser.set_format(detect(head[: head.rfind(b"\n") + 1] or head))
        if len(parts) > 1 and parser.format is not None and not parser.format.w3c:
            _read_parallel(parser, path, parts, when, rules)
        else:
            _read_range(parser, path, 0, size, when, last=True)
    except FileNotFoundError:
        raise SourceError(f"log file not found: {path}") from None
    except (OSError, EOFError) as exc:
        raise SourceError(f"cannot read log {path}: {exc}") from None


#: Files this big are split between two processes when `read_log` may (see there).
PARALLEL_BYTES = 32 << 20


def auto_workers(size: int) -> int:
    if size < PARALLEL_BYTES or sys.platform != "linux" or threading.active_count() > 1:
        return 1
    return min(2, len(os.sched_getaffinity(0)))


def _parts(path: PathLike, size: int, workers: int) -> list[tuple[int, int]]:
    """Byte ranges that start at line starts, one per worker."""
    cuts = [0]
    with open(path, "rb") as f:
        for k in range(1, max(workers, 1)):
            f.seek(max(cuts[-1], size * k // workers))
            f.readline()
            if f.tell() < size:
                cuts.append(f.tell())
    cuts.append(size)
    return list(itertools.pairwise(cuts))


def _feed_file(parser: LogParser, f: Any, when: float, limit: int | None = None) -> None:
    lines = LineAssembler()
    left = math.inf if limit is None else limit
    while left > 0 and (data := f.read(int(min(READ_BLOCK, left)))):
        left -= len(data)
        for buf, start, end in lines.spans(data):
            parser.feed(buf, when, start, end)
    parser.feed(lines.flush(), when)
    parser.stats.reject(reasons.TOO_LONG, lines.cut_example, lines.cut)


def _read_range(
    parser: LogParser, path: PathLike, start: int, end: int, when: float, last: bool
) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        # A range other than the last ends with a newline: the flush at its end is empty.
        _feed_file(parser, f, when, end - start if not last else None)


def _parse_part(
    path: PathLike, fmt: LogFormat, rules: tuple[Rule, ...], start: int, end: int, when: float
) -> tuple[Rows, list[tuple[str, str]], LogStats]:
    """A worker's share: one byte range, parsed to columns (spans are built by the caller)."""
    parser = LogParser(fmt, rules=rules)
    _read_range(parser, path, start, end, when, last=True)
    return parser.take(), parser.routes, parser.stats


def _read_parallel(
    parser: LogParser,
    path: PathLike,
    parts: list[tuple[int, int]],
    when: float,
    rules: Iterable[Rule],
) -> None:
    """The first range here, the others in forked processes at the same time; in order."""
    assert parser.format is not None
    rules = tuple(rules)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(parts) - 1, mp_context=context) as pool:
        futures = [
            pool.submit(_parse_part, path, parser.format, rules, start, end, when)
            for start, end in parts[1:]
        ]
        _read_range(parser, path, *parts[0], when, last=False)
        for future, (start, end) in zip(futures, parts[1:], strict=True):
            try:
                parser.merge(*future.result())
            except BrokenProcessPool:  # a worker died (killed, out of memory): read it here
                _read_range(parser, path, start, end, when, last=end == parts[-1][1])


@dataclass
class _Followed:
    tail: FileTail
    parser: LogParser
    stats: LogStats
    #: Lines held until the format can be detected (see `LogSource._feed`).
    undetected: bytes = b""


class LogSource:
    """Access logs as a source: the recent backlog first, then new lines every poll.

    `paths` is one path or several (each is parsed with its own format and service name);
    `fmt` is "auto" or a format name or an nginx `log_format` string (see `formats`);
    `backlog_s` is how far back from the newest line `backfill` goes (None: the whole file);
    `follow=False` makes `backfill` read whole files and `poll` return nothing (a report);
    `rules` are extra endpoint rules, `(regex, replacement)` pairs (see `routes`).
    Batches carry `status["log"]` (parse counts, see `stats.summary`) and `status["notices"]`
    (rotation, truncation, deletion), plain JSON-able values.
    """

    def __init__(
        self,
        paths: PathLike | Sequence[PathLike],
        fmt: str | LogFormat = "auto",
        backlog_s: float | None = 900.0,
        follow: bool = True,
        rules: Iterable[Rule] = (),
        *,
        service: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        many = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        # One file named twice (or through a link) is read once: twice, every request
        # would count double.
        seen: dict[str, str] = {}
        for p in many:
            seen.setdefault(os.path.realpath(p), os.fspath(p))
        self.paths: list[str] = list(seen.values())
        if not self.paths:
            raise SourceError("no log file given")
        for path in self.paths:  # before the dashboard's worker or `record` opens them
            check_log(path)
        self.format = resolve_format(fmt)  # a bad name or log_format fails here, before open
        self.backlog_s = math.inf if backlog_s is None else float(backlog_s)
        if not self.backlog_s >= 0:
            raise SourceError(f"the backlog must not be negative, got {backlog_s}")
        self.follow = follow
        self.rules = tuple(rules)
        self.service = service
        self.clock = clock
        first = Path(self.paths[0]).name
        more = f" +{len(self.paths) - 1}" if len(self.paths) > 1 else ""
        self.name = f"log {first}{more}"
        self._files: list[_Followed] = []
        self._notices: list[str] = []
        self._reported: tuple[Any, ...] = ()
        #: When a followed file last had lines (this machine's clock; at first its mtime).
        self.last_line_at: float | None = None

    # -- the Source protocol -----------------------------------------------------------------
    def open(self) -> None:
        for path in self.paths:
            stats = LogStats(path=path)
            parser = LogParser(
                self.format,
                rules=self.rules,
                service=self.service or service_name(path),
                stats=stats,
            )
            tail = FileTail(path)
            if not tail.open(missing_ok=self.follow):
                self._notices.append(f"{path} does not exist yet; waiting for it")
                tail.expect()
            self._files.append(_Followed(tail, parser, stats))

    def backfill(self) -> Batch:
        now = self.clock()
        tables = []
        for f in self._files:
            if not f.tail.is_open:
                continue
            if not self.follow:  # a report: the whole file, in two processes if big
                read_into(f.parser, f.tail.path, now, rules=self.rules)
                rows = f.parser.take()
            else:
                rows = self._backlog(f, now)
                with contextlib.suppress(OSError):
                    written = os.stat(f.tail.path).st_mtime
                    self.last_line_at = max(self.last_line_at or written, written)
            tables.append(f.parser.table(rows))
        return self._batch(tables, force=True)

    def poll(self, now: float) -> Batch:
        if not self.follow:
            return Batch()
        tables = []
        for f in self._files:
            read = f.tail.read()
            self._notices.extend(read.notices)
            f.stats.reject(reasons.TOO_LONG, read.cut_example, read.cut)
            if read.lines:
                self.last_line_at = now
            self._feed(f, read.lines, now)
            tables.append(f.parser.table(f.parser.take()))
        return self._batch(tables)

    def _feed(self, f: _Followed, data: bytes, now: float) -> None:
        """New lines to the parser; while the format is not known yet (a log that was empty
        at open), they wait until enough have come to tell it (`DETECT_LINES`)."""
        if f.parser.format is None and data:
            f.undetected += data
            try:
                f.parser.set_format(detect(f.undetected))
            except SourceError:
                enough = f.undetected.count(b"\n") >= DETECT_LINES
                if enough or len(f.undetected) >= DETECT_BYTES:
                    raise
                return
            data, f.undetected = f.undetected, b""
        f.parser.feed(data, now)

    def close(self) -> None:
        for f in self._files:
            f.tail.close()

    # -- reading -----------------------------------------------------------------------------
    @property
    def stats(self) -> list[LogStats]:
        return [f.stats for f in self._files]

    def _batch(self, tables: list[Table], force: bool = False) -> Batch:
        status: dict[str, Any] = {}
        counts = tuple((s.parsed, s.messages, s.rejected, s.skipped, s.format) for s in self.stats)
        if force or self._notices or counts != self._reported:
            status["log"] = summary(self.stats)
            if self.follow:
                status["log"]["last_line_at"] = self.last_line_at
            self._reported = counts
        if self._notices:
            status["notices"], self._notices = self._notices, []
        return Batch(spans=Table.concat(tables), status=status)

    def _detect(self, f: _Followed) -> bool:
        """Settle the format from the file's first lines; False while the file has none."""
        if f.parser.format is not None:
            return True
        head = f.tail.pread(DETECT_BYTES, 0)
        head = head[: head.rfind(b"\n") + 1]
        if not head.strip():
            return False
        f.parser.set_format(detect(head))
        return True

    def _read_forward(self, f: _Followed, now: float, cutoff_s: float) -> Rows:
        """Everything from the start to the last complete line; then keep the backlog."""
        size = f.tail.size()
        lines = LineAssembler()
        offset = 0
        while offset < size:
            data = f.tail.pread(min(READ_BLOCK, size - offset), offset)
            if not data:
                break
            offset += len(data)
            for buf, start, stop in lines.spans(data):
                f.parser.feed(buf, now, start, stop)
        f.stats.reject(reasons.TOO_LONG, lines.cut_example, lines.cut)
        f.tail.lines = lines  # the unfinished last line waits in the tail for its newline
        f.tail.skip_to(offset)
        rows = f.parser.take()
        if f.stats.times_missing and math.isfinite(cutoff_s):
            # Lines without a time were all dated now: none of them is known to be recent.
            f.stats.before_backlog += len(rows)
            return Rows.concat([])
        return self._keep_recent(f, rows, cutoff_s)

    def _keep_recent(self, f: _Followed, rows: Rows, cutoff_s: float) -> Rows:
        if not math.isfinite(cutoff_s) or not len(rows):
            return rows
        # `--backlog 0`: none of the past, not the lines of the newest line's second.
        keep = (
            rows.start >= np.nanmax(rows.start) - cutoff_s if cutoff_s > 0 else rows.start > np.inf
        )
        f.stats.before_backlog += int((~keep).sum())
        return rows.take(np.flatnonzero(keep))

    def _backlog(self, f: _Followed, now: float) -> Rows:
        size = f.tail.size()
        if not self._detect(f):
            f.tail.skip_to(0)
            return Rows.concat([])
        assert f.parser.format is not None
        if f.parser.format.w3c or not math.isfinite(self.backlog_s):
            return self._read_forward(f, now, self.backlog_s)
        last = f.tail.pread(min(size, MAX_LINE + 1), max(0, size - MAX_LINE - 1))
        end = size - len(last) + last.rfind(b"\n") + 1
        if end < size - MAX_LINE:  # no newline in the last 64 KiB: a too-long line, unfinished
            end = size
            f.tail.lines.skip_line()
        else:  # the unfinished last line waits in the tail for its newline
            f.tail.lines.feed(f.tail.pread(size - end, end))
        f.tail.skip_to(size)
        if not f.parser.format.time_kind:
            f.stats.times_missing = True
            return Rows.concat([])  # no times: no way to tell what is recent
        return self._read_backward(f, end, now)

    def _read_backward(self, f: _Followed, end: int, now: float) -> Rows:
        parts: list[Rows] = []
        newest = -math.inf
        block, pos = BACK_BLOCK, end
        carry = b""  # the start of a line whose beginning is in an earlier block
        skipping = False  # inside a too-long line, going backwards
        while pos > 0:
            start = max(0, pos - block)
            data = f.tail.pread(pos - start, start) + carry
            pos, block = start, min(block * 2, READ_BLOCK)
            if skipping:
                newline = data.rfind(b"\n")
                if newline < 0:
                    carry = b""
                    continue
                data, skipping = data[: newline + 1], False
            if start > 0:
                newline = data.find(b"\n")
                if newline < 0:
                    carry = data
                    if len(carry) > MAX_LINE:
                        f.stats.reject(reasons.TOO_LONG, carry[:200])
                        carry, skipping = b"", True
                    continue
                carry, data = data[: newline + 1], data[newline + 1 :]
            else:
                carry = b""
            f.parser.feed(data, now)
            rows = f.parser.take()
            parts.append(rows)
            if len(rows):
                newest = max(newest, float(np.nanmax(rows.start)))
                if float(np.nanmax(rows.start)) < newest - self.backlog_s:
                    break  # the whole block is older than the backlog
        parts.reverse()
        return self._keep_recent(f, Rows.concat(parts), self.backlog_s)
