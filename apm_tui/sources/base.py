"""The one small interface every data source implements.

A source is opened once, asked for its history once (`backfill`), polled once per tick, and
closed once. It never touches the UI: problems are raised as `SourceError` and the caller decides
how to show them (a notification live, one line and exit status 2 headless).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from apm_tui.model import Batch


class SourceError(RuntimeError):
    """A source cannot deliver data; the message is shown to the user as it is."""


@runtime_checkable
class Source(Protocol):
    #: Short name shown in the dashboard header and the report.
    name: str

    def open(self) -> None:
        """Acquire what the source needs (files, sockets, a psutil handle). Called once."""

    def backfill(self) -> Batch:
        """Data that exists before the first tick (a generated history, a log file's backlog).

        Called once after `open`; a source without history returns an empty Batch.
        """

    def poll(self, now: float) -> Batch:
        """What is new since the last poll. `now` is the wall-clock time of the tick (Unix s)."""

    def close(self) -> None:
        """Release resources. Safe to call twice."""
