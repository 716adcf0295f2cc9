"""Following one log file like `tail -F`: bytes appended since the last look, across rotations.

`FileTail.read()` returns the complete lines written since the previous call, and notices for
what happened to the file:

- logrotate's rename (or delete and create): the path names a new inode. The old file is read
  to its end first, then the new file from its start; the old one is still read for
  `ROTATE_WAIT_S` (nginx writes to it until `reopen`, which logrotate's postrotate sends after
  the rename), then closed (its last line, finished or not, is complete by then).
- copytruncate: the file is shorter than what was read, or, grown back past that point before
  the next look, no longer holds the bytes that were read last (`FINGERPRINT`). Reading
  restarts at 0; the unfinished line from before is dropped.
- deleted: as a rename, read for `ROTATE_WAIT_S` more; the path is looked for on every read
  and followed from its start when it reappears.
- a half-written last line waits for its newline (bounded by `LineAssembler`).

At most `max_read` bytes are read per call, so one tick never stalls on a burst; the rest
comes on the next call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from apm_tui.inputs import not_regular
from apm_tui.sources.base import SourceError
from apm_tui.sources.logs.lines import LineAssembler

BLOCK = 1 << 22
#: A rotated or deleted file is still read this long: its writer may not have reopened yet.
ROTATE_WAIT_S = 10.0
#: Bytes before the read offset kept to tell a file truncated and regrown from one appended.
FINGERPRINT = 64


@dataclass
class TailRead:
    lines: bytes = b""
    notices: list[str] = field(default_factory=list)
    #: Lines cut for being longer than `MAX_LINE` (and the start of one).
    cut: int = 0
    cut_example: bytes = b""


def check_log(path: str | os.PathLike[str]) -> None:
    """A log that is there must be a regular file: opening a named pipe waits for a writer and
    /dev/zero never ends (one that is not there yet is for the caller to await or refuse)."""
    why = not_regular(path)
    if why:
        raise SourceError(f"cannot read log {os.fspath(path)}: {why}")
    # One that is there but cannot be read is said now: in the dashboard's worker it became
    # a source dropped at start, and "no source" for good.
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SourceError(f"cannot read log {os.fspath(path)}: {exc.strerror or exc}") from None


class FileTail:
    def __init__(self, path: str, max_read: int = 64 << 20) -> None:
        self.path = path
        self.max_read = max_read
        self.lines = LineAssembler()
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self.offset = 0
        self._was_gone = False
        self._seen = b""  # the last `FINGERPRINT` bytes before `offset`
        self._retired: list[_Retired] = []  # rotated files still read for a while

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self, *, missing_ok: bool) -> bool:
        """Open the path; False (when `missing_ok`) if it does not exist yet."""
        check_log(self.path)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if missing_ok:
                return False
            raise SourceError(f"log file not found: {self.path}") from None
        except OSError as exc:
            raise SourceError(f"cannot read log {self.path}: {exc.strerror}") from None
        st = os.fstat(fd)
        self._fd, self._identity, self.offset, self._seen = fd, (st.st_dev, st.st_ino), 0, b""
        return True

    def size(self) -> int:
        return os.fstat(self._fd).st_size if self._fd is not None else 0

    def pread(self, length: int, offset: int) -> bytes:
        assert self._fd is not None
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for old in self._retired:
            os.close(old.fd)
        self._retired = []

    def read(self) -> TailRead:
        out = TailRead()
        parts: list[bytes] = []
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise SourceError(f"cannot read log {self.path}: {exc.strerror}") from None
        parts += self._read_retired()  # older lines first
        if self._fd is not None:
            if st is None or (st.st_dev, st.st_ino) != self._identity:
                # Rotated away or deleted: what the old file holds comes first, and what its
                # writer adds before reopening the path comes later (`_read_retired`).
                parts.append(self._drain(None))
                until = time.monotonic() + ROTATE_WAIT_S
                self._retired.append(_Retired(self._fd, self.offset, self.lines, until))
                self._fd, self.lines = None, LineAssembler()
                if st is None:
                    out.notices.append(f"{self.path} was deleted; waiting for it to reappear")
                    self._was_gone = True
                else:
                    out.notices.append(f"{self.path} was rotated; following the new file")
            elif st.st_size < self.offset or not self._still_there():
                out.notices.append(f"{self.path} was truncated; reading it from the start")
                self.offset, self._seen = 0, b""
                self.lines.reset()
        if self._fd is None and st is not None and self.open(missing_ok=True):
            if self._was_gone:
                out.notices.append(f"{self.path} is back; following it from its start")
            self._was_gone = False
        if self._fd is not None:
            parts.append(self._drain(self.max_read - sum(map(len, parts))))
        out.lines = b"".join(parts)
        out.cut, out.cut_example = self.lines.cut, self.lines.cut_example
        self.lines.cut, self.lines.cut_example = 0, b""
        return out

    def _drain(self, budget: int | None) -> bytes:
        """Complete lines from the offset to the end of the open file (or about `budget`
        bytes; None: all of it)."""
        assert self._fd is not None
        lines, self.offset, seen = _drain(self._fd, self.offset, self.lines, budget)
        if seen:
            self._seen = (self._seen + seen)[-FINGERPRINT:]
        return lines

    def _still_there(self) -> bool:
        """The bytes read last are still where they were: the file was appended to, not
        truncated and written again past the old end between two looks."""
        if not self._seen or self._fd is None:
            return True
        return os.pread(self._fd, len(self._seen), self.offset - len(self._seen)) == self._seen

    def _read_retired(self) -> list[bytes]:
        parts = []
        now = time.monotonic()
        for old in list(self._retired):
            lines, old.offset, _ = _drain(old.fd, old.offset, old.lines, None)
            parts.append(lines)
            if now >= old.until:
                parts.append(old.lines.flush())
                os.close(old.fd)
                self._retired.remove(old)
        return parts

    def skip_to(self, offset: int) -> None:
        """Start following at `offset` (the end of what a backfill read)."""
        self.offset = offset
        start = max(0, offset - FINGERPRINT)
        self._seen = os.pread(self._fd, offset - start, start) if self._fd is not None else b""

    def expect(self) -> None:
        """The path is missing now: say so when it appears."""
        self._was_gone = True


@dataclass
class _Retired:
    """A rotated or deleted file, still read until `until` (monotonic seconds)."""

    fd: int
    offset: int
    lines: LineAssembler
    until: float


def _drain(
    fd: int, offset: int, lines: LineAssembler, budget: int | None
) -> tuple[bytes, int, bytes]:
    """(complete lines, new offset, the last bytes read) from `offset` to the end of `fd`,
    or about `budget` bytes (None: all of it)."""
    parts: list[bytes] = []
    last = b""
    budget = max(budget, BLOCK) if budget is not None else 1 << 62
    while budget > 0:
        data = os.pread(fd, min(BLOCK, budget), offset)
        if not data:
            break
        offset += len(data)
        budget -= len(data)
        last = (last + data)[-FINGERPRINT:]
        parts.append(lines.feed(data))
    return b"".join(parts), offset, last
