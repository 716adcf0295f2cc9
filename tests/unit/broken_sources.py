"""Sources of one's own that return what is not a Batch the analysis can use (tests run them
through `--source tests.unit.broken_sources:NAME`)."""

from __future__ import annotations

import numpy as np

from apm_tui.model import Batch, Table


class Quiet:
    name = "broken"

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        return Batch()

    def poll(self, now: float) -> Batch:
        return Batch()

    def close(self) -> None:
        pass


class NoneHistory(Quiet):
    def backfill(self) -> Batch:
        return None  # type: ignore[return-value]


class DictPoll(Quiet):
    def poll(self, now: float) -> Batch:
        return {"metrics": []}  # type: ignore[return-value]


class TextTimes(Quiet):
    def backfill(self) -> Batch:
        times = np.array([f"2026-01-01T00:{m:02d}:00" for m in range(40)])
        return Batch(metrics=Table({"timestamp": times, "cpu_pct": np.full(40, 10.0)}))
