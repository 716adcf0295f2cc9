"""The subcommands' bodies; `cli` parses and calls one of them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apm_tui.model import Batch


def say_notices(batch: Batch) -> None:
    """What a source said while it was read or followed (a recording's unreadable ticks, a
    log that does not exist yet, a rotation), on stderr: with no screen, a typo in a path
    would otherwise record nothing in silence."""
    for notice in batch.status.get("notices", ()):
        print(f"apm-tui: {notice}", file=sys.stderr)
