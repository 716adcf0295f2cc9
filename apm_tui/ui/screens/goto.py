"""`g` in a replay: ask where to go (a UTC clock time, an offset or a share of the recording)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class GoToScreen(ModalScreen[str | None]):
    """Dismisses with the text typed (the app parses it), or None when escaped."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, where: str) -> None:
        super().__init__(id="goto")
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-body"):
            yield Label(f"Go to (now {self.where})")
            yield Input(placeholder="14:05 UTC, +10m, -90s, +1d or 50%", id="goto-input")
            # Two clocks: a synthetic recording's second of replay is a minute of its data.
            yield Static(
                "14:05 is on the header's clock; +10m, -90s and 50% move through the "
                "recording (its position, as 0:19 / 0:59 counts it)",
                classes="dim",
            )
            yield Label("enter goes, escape cancels", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
