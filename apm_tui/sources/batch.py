"""Data already collected, as a source: `apm-tui report --png` shows the report's own data in
the dashboard through this (its history once, nothing new when polled)."""

from __future__ import annotations

from dataclasses import replace

from apm_tui.model import Batch


class BatchSource:
    """`batch` as the history; `status` is added to it (the header reads "report" from it)."""

    def __init__(self, batch: Batch, name: str, status: dict[str, object] | None = None) -> None:
        self.batch = replace(batch, status={**batch.status, **(status or {})})
        self.name = name

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        return self.batch

    def poll(self, now: float) -> Batch:
        return Batch()

    def close(self) -> None:
        pass
