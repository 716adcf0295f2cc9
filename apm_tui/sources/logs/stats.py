"""What a log reader has seen: lines parsed and rejected (by reason, with a few examples)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from apm_tui.printable import printable

#: Rejected lines kept as examples (their first `EXAMPLE_CHARS` characters).
EXAMPLES = 5
EXAMPLE_CHARS = 200

# Reasons a line is rejected.
NO_MATCH = "does not match the format"
TOO_LONG = "longer than 64 KiB"
BAD_TIME = "bad timestamp"
NOT_TEXT = "binary or not UTF-8"
NOT_HTTP = "not an HTTP method"
FIELD_COUNT = "W3C field count differs from #Fields"
NO_FIELDS = "W3C data before any #Fields"


@dataclass
class LogStats:
    """Counts for one log file; `lines == parsed + messages + rejected` always holds.

    `messages` are the server's own lines (HAProxy's "Proxy … started."): no request, and no
    fault of the log either. Blank lines and W3C directives (`#Fields:` …) are not lines here:
    they are `skipped`.
    `times_missing` says the format logs no time, so requests carry the time they were read
    (throughput, status mix and errors are right; latency-over-time panels are not).
    """

    path: str = ""
    format: str = ""
    parsed: int = 0
    messages: int = 0
    rejected: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    times_missing: bool = False
    #: Parsed lines left out of a backfill because they are older than the backlog.
    before_backlog: int = 0
    first_time: float = math.nan
    last_time: float = math.nan

    @property
    def lines(self) -> int:
        return self.parsed + self.messages + self.rejected

    def reject(self, reason: str, line: bytes | str = b"", count: int = 1) -> None:
        if count <= 0:
            return
        self.rejected += count
        self.reasons[reason] = self.reasons.get(reason, 0) + count
        if len(self.examples) < EXAMPLES and line:
            text = line if isinstance(line, str) else line.decode("utf-8", "replace")
            self.examples.append(f"{reason}: {printable(text[:EXAMPLE_CHARS])}")

    def add(self, other: LogStats) -> None:
        """Count another reader's lines too (a part of the same file read elsewhere)."""
        self.parsed += other.parsed
        self.messages += other.messages
        self.skipped += other.skipped
        for reason, n in other.reasons.items():
            self.rejected += n
            self.reasons[reason] = self.reasons.get(reason, 0) + n
        self.examples.extend(other.examples[: max(0, EXAMPLES - len(self.examples))])
        self.times_missing |= other.times_missing
        self.before_backlog += other.before_backlog
        self.saw_times(other.first_time, other.last_time)

    def saw_times(self, lo: float, hi: float) -> None:
        if math.isfinite(lo) and not lo >= self.first_time:
            self.first_time = lo
        if math.isfinite(hi) and not hi <= self.last_time:
            self.last_time = hi

    def as_status(self) -> dict[str, Any]:
        """Plain JSON-able values (NaN becomes None) for `Batch.status`."""
        return {
            "path": self.path,
            "format": self.format,
            "lines": self.lines,
            "parsed": self.parsed,
            "messages": self.messages,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "rejected_by_reason": dict(self.reasons),
            "reject_examples": list(self.examples),
            "times_missing": self.times_missing,
            "before_backlog": self.before_backlog,
            "first_time": self.first_time if math.isfinite(self.first_time) else None,
            "last_time": self.last_time if math.isfinite(self.last_time) else None,
        }


def summary(stats: list[LogStats]) -> dict[str, Any]:
    """One status entry for several files: totals, and each file's own counts."""
    reasons: dict[str, int] = {}
    for s in stats:
        for reason, n in s.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {
        "lines": sum(s.lines for s in stats),
        "parsed": sum(s.parsed for s in stats),
        "messages": sum(s.messages for s in stats),
        "rejected": sum(s.rejected for s in stats),
        "rejected_by_reason": reasons,
        "times_missing": any(s.times_missing for s in stats),
        "files": [s.as_status() for s in stats],
    }
