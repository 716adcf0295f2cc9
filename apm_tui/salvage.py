"""Rows read straight off the pages of a SQLite file that was cut short.

A recording copied off a server and interrupted, or cut by a full disk, keeps its first pages
whole, but SQLite reaches rows only through the interior pages of each table's b-tree, and
those are written late: when a table outgrows one interior page, SQLite moves the root's
contents to a page at the end of the file. Cut an hour-long recording anywhere before that
page and no query reaches a single tick, though nearly every tick up to the cut is still on
the file. So the rows are read from the table leaf pages themselves (the file format:
https://www.sqlite.org/fileformat2.html, sections 1.6 and 2.1), following overflow chains
while they stay on whole pages; a row that cannot be read whole is left out.

Nothing here trusts the file: every offset and length is checked, a cell that does not add up
is skipped, and a chain may not revisit a page.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from typing import Any

LEAF_TABLE = 0x0D
#: Bytes per value of serial types 1–7 (big-endian integers of 1, 2, 3, 4, 6, 8 bytes; a float).
WIDTHS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8}


class Damaged(Exception):
    """A cell that does not add up."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at `at`: (value, the offset after it)."""
    value = 0
    for i in range(9):
        if at + i >= len(data):
            raise Damaged("varint runs off the page")
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _record(payload: bytes) -> list[Any]:
    """The values of a record (SQLite's row format)."""
    size, at = _varint(payload, 0)
    if size > len(payload) or size < at:
        raise Damaged("bad record header")
    types = []
    while at < size:
        kind, at = _varint(payload, at)
        types.append(kind)
    body = size
    values: list[Any] = []
    for kind in types:
        if kind == 0:
            values.append(None)
        elif kind in (8, 9):
            values.append(kind - 8)
        elif kind == 7:
            values.append(struct.unpack_from(">d", payload, body)[0])
            body += 8
        elif kind in WIDTHS:
            width = WIDTHS[kind]
            values.append(int.from_bytes(payload[body : body + width], "big", signed=True))
            body += width
        elif kind >= 12:
            width = (kind - 12) // 2
            raw = payload[body : body + width]
            values.append(raw if kind % 2 == 0 else raw.decode("utf-8", errors="replace"))
            body += width
        else:
            raise Damaged("reserved serial type")
        if body > len(payload):
            raise Damaged("record runs off its payload")
    return values


def _local_size(size: int, usable: int) -> int:
    """How much of a table leaf cell's payload is on its page (the rest overflows)."""
    most = usable - 35
    if size <= most:
        return size
    least = (usable - 12) * 32 // 255 - 23
    local = least + (size - least) % (usable - 4)
    return local if local <= most else least


class Pages:
    """The whole pages of a database file's bytes."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        if len(data) < 100 or data[:16] != b"SQLite format 3\x00":
            raise Damaged("not a SQLite database")
        size = int.from_bytes(data[16:18], "big")
        self.size = 65536 if size == 1 else size
        if self.size < 512 or self.size & (self.size - 1):
            raise Damaged("bad page size")
        self.usable = self.size - data[20]
        if self.usable < 480:  # the format's least; below it the overflow sums divide by ≤ 0
            raise Damaged("bad reserved space")
        self.count = len(data) // self.size
        self.data = data

    def page(self, number: int) -> bytes:
        if not 1 <= number <= self.count:
            raise Damaged("page off the file")
        return self.data[(number - 1) * self.size : number * self.size]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(rowid, values) of every readable cell on every table leaf page, page by page."""
        for number in range(1, self.count + 1):
            page = self.page(number)
            head = 100 if number == 1 else 0
            if page[head] != LEAF_TABLE:
                continue
            cells = int.from_bytes(page[head + 3 : head + 5], "big")
            for i in range(min(cells, (self.size - head - 8) // 2)):
                at = int.from_bytes(page[head + 8 + 2 * i : head + 10 + 2 * i], "big")
                try:
                    yield self._cell(page, at)
                except (Damaged, struct.error, ValueError):
                    continue

    def _cell(self, page: bytes, at: int) -> tuple[int, list[Any]]:
        size, at = _varint(page, at)
        rowid, at = _varint(page, at)
        local = _local_size(size, self.usable)
        if at + local > len(page):
            raise Damaged("cell runs off its page")
        parts = [page[at : at + local]]
        if local < size:
            if at + local + 4 > len(page):
                raise Damaged("cell runs off its page")
            parts.append(
                self._overflow(
                    int.from_bytes(page[at + local : at + local + 4], "big"), size - local
                )
            )
        return rowid, _record(b"".join(parts))

    def _overflow(self, number: int, left: int) -> bytes:
        """`left` bytes of an overflow chain starting at page `number`."""
        parts, seen = [], set()
        while left > 0:
            if number in seen:
                raise Damaged("overflow chain loops")
            seen.add(number)
            page = self.page(number)
            take = min(left, self.usable - 4)
            parts.append(page[4 : 4 + take])
            left -= take
            number = int.from_bytes(page[:4], "big")
        return b"".join(parts)
