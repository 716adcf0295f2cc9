"""`?`: every key and what each panel means, generated from the bindings and panel texts."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from apm_tui.ui.widgets.footer import FittedFooter
from apm_tui.ui.widgets.panels import PANELS


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("apm-tui — keys\n\n", "bold")
        width = max(len(key) for key, _ in self.keys) + 2
        for key, description in self.keys:
            if not key:  # a section: the keys of one panel or screen
                text.append(f"\n{description}\n", "bold")
                continue
            text.append(f"  {key:<{width}}", "bold cyan")
            text.append(f"{description}\n")
        text.append("\nPanels\n\n", "bold")
        for panel in PANELS:
            text.append(f"  {panel.NAME}\n", "bold cyan")
            text.append(f"    {panel.HELP}\n")
        text.append("\nescape, q or ? closes this help.", "dim")
        with VerticalScroll(id="help-body"):
            yield Static(text)
        yield FittedFooter()  # this screen's keys: the dashboard's footer is not for here
