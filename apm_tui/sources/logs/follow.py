"""Following one log file like `tail -F`: bytes appended since the last look, across rotations.

`FileTail.read()` returns the complete lines written since the previous call, and notices for
what happened to the file:

- logrotate's rename (or delete and create): the path names a new inode. The old file is read
  to its end first (its last line, finished or not, is complete now), then the new file from
  its start.
- copytruncate: the file is shorter than what was read. Reading restarts at 0; the unfinished
  line from before is dropped.
- deleted: the old file is read to its end and closed; the path is looked for on every read
  and followed from its start when it reappears.
- a half-written last line waits for its newline (bounded by `LineAssembler`).

At most `max_read` bytes are read per call, so one tick never stalls on a burst; the rest
comes on the next call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from apm_tui.inputs import not_regular
from apm_tui.sources.base import SourceError
from apm_tui.sources.logs.lines import LineAssembler

BLOCK = 1 << 22


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


class FileTail:
    def __init__(self, path: str, max_read: int = 64 << 20) -> None:
        self.path = path
        self.max_read = max_read
        self.lines = LineAssembler()
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self.offset = 0
        self._was_gone = False

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
        self._fd, self._identity, self.offset = fd, (st.st_dev, st.st_ino), 0
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

    def read(self) -> TailRead:
        out = TailRead()
        parts: list[bytes] = []
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise SourceError(f"cannot read log {self.path}: {exc.strerror}") from None
        if self._fd is not None:
            if st is None or (st.st_dev, st.st_ino) != self._identity:
                # Rotated away or deleted: what the old file still holds comes first.
                parts.append(self._drain(None))
                parts.append(self.lines.flush())
                self.close()
                if st is None:
                    out.notices.append(f"{self.path} was deleted; waiting for it to reappear")
                    self._was_gone = True
                else:
                    out.notices.append(f"{self.path} was rotated; following the new file")
            elif st.st_size < self.offset:
                out.notices.append(f"{self.path} was truncated; reading it from the start")
                self.offset = 0
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
        parts: list[bytes] = []
        budget = max(budget, BLOCK) if budget is not None else 1 << 62
        while budget > 0:
            data = os.pread(self._fd, min(BLOCK, budget), self.offset)
            if not data:
                break
            self.offset += len(data)
            budget -= len(data)
            parts.append(self.lines.feed(data))
        return b"".join(parts)

    def skip_to(self, offset: int) -> None:
        """Start following at `offset` (the end of what a backfill read)."""
        self.offset = offset

    def expect(self) -> None:
        """The path is missing now: say so when it appears."""
        self._was_gone = True
