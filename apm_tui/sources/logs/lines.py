"""Bytes in, complete lines out: the bounded line assembler both file readers share.

Data arrives in blocks that end anywhere. `LineAssembler.feed` returns the complete lines of what
it has been given (one bytes object ending in a newline) and keeps the unfinished last line for
the next block. That partial line is bounded: past `MAX_LINE` bytes without a newline it is cut —
counted once as a too-long line — and the rest of that line is skipped as it arrives, so a 1 MB or
endless line costs at most `MAX_LINE` bytes of memory. (A long line that arrives whole inside one
block is rejected by the parser with the same reason: the formats' regexes refuse lines longer
than `MAX_LINE`.)
"""

from __future__ import annotations

MAX_LINE = 65_536


class LineAssembler:
    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._partial: list[bytes] = []
        self._partial_len = 0
        self._skipping = False
        #: Lines cut for being too long since the last `take_cut()`, with the first bytes of one.
        self.cut = 0
        self.cut_example = b""

    def feed(self, data: bytes) -> bytes:
        """The complete lines so far, as one bytes object."""
        return b"".join(buf[start:end] for buf, start, end in self.spans(data))

    def spans(self, data: bytes) -> list[tuple[bytes, int, int]]:
        """The complete lines so far as `(buffer, start, end)` slices, not copied: the line
        finished from before (a small new object), then `data`'s complete lines in place."""
        start = 0
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return []
            start, self._skipping = newline + 1, False
        end = data.rfind(b"\n", start) + 1
        if end == 0:
            self._hold(data[start:])
            return []
        out = []
        if self._partial:
            first = data.find(b"\n", start) + 1
            head = b"".join(self._partial) + data[start:first]
            self._partial, self._partial_len = [], 0
            out.append((head, 0, len(head)))
            start = first
        if end > start:
            out.append((data, start, end))
        self._hold(data[end:])
        return out

    def flush(self) -> bytes:
        """The unfinished line as a complete one (end of a file that will not grow any more)."""
        if self._skipping:
            self._skipping = False
            return b""
        if not self._partial:
            return b""
        out = b"".join(self._partial) + b"\n"
        self._partial, self._partial_len = [], 0
        return out

    def skip_line(self) -> None:
        """The line being written is already too long: cut it, and skip to its end."""
        self.cut += 1
        self._partial, self._partial_len, self._skipping = [], 0, True

    def reset(self) -> None:
        """Forget the unfinished line (the file was truncated under it)."""
        self._partial, self._partial_len, self._skipping = [], 0, False

    def _hold(self, data: bytes) -> None:
        if not data:
            return
        self._partial.append(data)
        self._partial_len += len(data)
        if self._partial_len > self.max_line:
            self.cut += 1
            if not self.cut_example:
                self.cut_example = b"".join(self._partial)[:200]
            self._partial, self._partial_len = [], 0
            self._skipping = True
