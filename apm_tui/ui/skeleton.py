"""The dashboard's empty frame, painted before Textual has loaded.

Importing Textual takes 0.3–0.45 s on these 2-core machines and its first frame of a minimal
app comes at ≈ 0.5 s, so the dashboard cannot draw itself within 0.4 s of launch. This paints
the frame Textual is about to draw (the header saying "starting…", nine titled empty panels in
the same grid) from the standard library alone, in the alternate screen, ≈ 0.1 s after launch;
Textual then draws over it. A test compares it, line by line, with Textual's own first frame.

No Textual import here: that is the point.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import TextIO

#: The nine panels' titles in the grid's order (each Panel's NAME; a test holds them equal).
TITLES = (
    "Response time",
    "CPU & memory",
    "Apdex",
    "Response-time distribution",
    "Throughput",
    "Error rate",
    "Health",
    "Duration by endpoint",
    "Bottlenecks & recommendations",
)
#: Below this the dashboard says "terminal too small" instead of drawing nine panels.
MIN_SIZE = (40, 12)
GRID = 3  # the grid is GRID × GRID panels at every size that draws them

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, cursor hidden, cleared
LEAVE = "\x1b[?25h\x1b[?1049l"


def spans(total: int, parts: int) -> list[int]:
    """How Textual's grid shares `total` cells between `parts` equal (1fr) tracks."""
    edges = [total * i // parts for i in range(parts + 1)]
    return [b - a for a, b in pairwise(edges)]


def box_top(title: str, width: int) -> str:
    room = width - 6  # "╭─ " … " ─╮"
    if room < 1:
        return "╭" + "─" * (width - 2) + "╮"
    if len(title) > room:
        title = title[: room - 1] + "…"
    return "╭─ " + title + " " + "─" * (width - 5 - len(title)) + "╮"


def frame_lines(width: int, height: int, mode: str = "LIVE") -> list[str] | None:
    """The screen's lines above the footer, or None where the dashboard draws no panels."""
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return None
    header = f" {mode}  apm-tui starting…"
    lines = [header + " " * (width - len(header))]
    columns = spans(width, GRID)
    for row, rows in enumerate(spans(height - 2, GRID)):  # minus the header and the footer
        names = TITLES[row * GRID : row * GRID + GRID]
        lines.append("".join(box_top(name, w) for name, w in zip(names, columns, strict=True)))
        middle = "".join("│" + " " * (w - 2) + "│" for w in columns)
        lines.extend([middle] * (rows - 2))
        lines.append("".join("╰" + "─" * (w - 2) + "╯" for w in columns))
    return lines


def paint(out: TextIO, width: int, height: int, mode: str = "LIVE") -> bool:
    lines = frame_lines(width, height, mode)
    if lines is None:
        return False
    parts = [ENTER]
    for y, line in enumerate(lines, 1):
        if y == 1:  # the mode badge in reverse video, the product in bold: no colour needed
            badge = f"\x1b[7m {mode} \x1b[0m \x1b[1mapm-tui\x1b[0m"
            line = badge + line[len(f" {mode}  apm-tui") :]
        parts.append(f"\x1b[{y};1H{line}")
    out.write("".join(parts))
    out.flush()
    return True


class Skeleton:
    def __init__(self) -> None:
        self.painted = False
        self.handed_over = False

    def hand_over(self) -> None:
        """Textual owns the terminal from here, and restores it on its way out."""
        self.handed_over = True


def wanted(out: TextIO) -> bool:
    if os.name != "posix" or os.environ.get("TERM", "") in ("", "dumb"):
        return False
    try:
        return out.isatty() and sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


@contextmanager
def shown(out: TextIO | None = None, mode: str = "LIVE") -> Iterator[Skeleton]:
    """Paint the empty dashboard until Textual takes over; put the terminal back if anything
    fails before that (a bad theme, an import error), so the error prints on the normal screen."""
    stream = out or sys.stderr  # where Textual's driver writes (stdout stays free for pipes)
    skeleton = Skeleton()
    if wanted(stream):
        try:
            size = os.get_terminal_size(stream.fileno())
            skeleton.painted = paint(stream, size.columns, size.lines, mode)
        except OSError:
            skeleton.painted = False
    try:
        yield skeleton
    except BaseException:
        if skeleton.painted and not skeleton.handed_over:
            stream.write(LEAVE)
            stream.flush()
        raise
