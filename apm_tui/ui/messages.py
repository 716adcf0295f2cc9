"""Messages from the tick worker to the UI. A newer tick replaces one still queued."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from apm_tui.engine import Snapshot


class Ticked(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Ticked)


class TickFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
