"""A source whose history takes a minute to read (for stopping `apm-tui record` during it)."""

from __future__ import annotations

import time

from apm_tui.model import Batch


class SlowHistory:
    name = "slow-history"

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        time.sleep(60)
        return Batch()

    def poll(self, now: float) -> Batch:
        return Batch()

    def close(self) -> None:
        pass
