"""The floor for a first frame: a Textual app with one line and one bordered box, nothing else.

bench/dashboard.py launches it beside `apm-tui` in the same tmux server and reports apm-tui's
first frame as a ratio to this one: no Textual dashboard can draw sooner than Textual itself.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Minimal(App[None]):
    CSS = "#box { border: round $primary; }"

    def compose(self) -> ComposeResult:
        yield Static("apm-tui", id="title")
        yield Static("", id="box")


if __name__ == "__main__":
    Minimal().run()
