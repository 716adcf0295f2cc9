"""A recording as a source: `apm-tui report --from FILE` reads it whole through this."""

from __future__ import annotations

from pathlib import Path

from apm_tui.model import Batch, Table
from apm_tui.recording import Recording, RecordingError
from apm_tui.sources.base import SourceError


class RecordedSource:
    """Every tick of a recording (history first) as one backfill; nothing new when polled."""

    def __init__(self, path: str | Path) -> None:
        try:
            self.recording = Recording.open(path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
        self.name = f"recording {Path(path).name}"
        self.lost = 0

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        ticks = list(self.recording.ticks())
        self.lost = self.recording.lost
        status: dict[str, object] = {}
        for tick in ticks:
            status.update(tick.batch.status)
        if self.lost:
            status["notices"] = [
                f"{self.recording.path}: {self.lost} tick(s) could not be read (damaged or "
                f"truncated file); the {len(ticks)} complete ones are used"
            ]
        return Batch(
            metrics=Table.concat([t.batch.metrics for t in ticks]),
            spans=Table.concat([t.batch.spans for t in ticks]),
            status=status,
        )

    def poll(self, now: float) -> Batch:
        return Batch()

    def close(self) -> None:
        self.recording.close()
