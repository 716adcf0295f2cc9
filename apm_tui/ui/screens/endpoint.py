"""One endpoint in detail: its percentiles, Apdex, error rate and slowest traces."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from apm_tui.ui.textfmt import fmt
from apm_tui.ui.widgets.footer import FittedFooter

if TYPE_CHECKING:
    from apm_tui.engine import Snapshot


def endpoint_text(snap: Snapshot, name: str) -> Text:
    text = Text()
    stats = next((e for e in snap.live.endpoints if e.name == name), None)
    text.append(f"{name}\n\n", "bold")
    if stats is None:
        text.append("No requests to this endpoint in the window any more.\n")
        return text
    rows = [
        ("requests", f"{stats.requests:,}"),
        ("avg", fmt(stats.avg_ms, ".1f", " ms")),
        ("P50", fmt(stats.p50_ms, ".1f", " ms")),
        ("P95", fmt(stats.p95_ms, ".1f", " ms")),
        ("P99", fmt(stats.p99_ms, ".1f", " ms")),
        ("Apdex", fmt(stats.apdex, ".3f")),
        ("error rate", f"{stats.error_rate_pct:.2f}%"),
        ("share of time", fmt(stats.time_share * 100, ".1f", "%")),
    ]
    for label, value in rows:
        text.append(f"  {label:<15}", "cyan")
        text.append(f"{value}\n")
    text.append("\nSlowest traces\n", "bold")
    from apm_tui.analysis.recommend import clock  # loaded with the analysis, after the start

    # A window over more than one UTC day: each time says its day, as on the trace screen.
    window = (snap.live.oldest_request, snap.live.newest)
    for tr in snap.slowest.get(name, ()):
        when = clock(tr.time, window, seconds=True)
        text.append(f"  {when}  {tr.duration_ms:8.1f} ms  {tr.trace_id[:16]}")
        text.append("  ERROR\n" if tr.error else "\n", "bold red" if tr.error else "")
    return text


class EndpointScreen(ModalScreen[None]):
    BINDINGS: ClassVar = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, snap: Snapshot, name: str) -> None:
        super().__init__(id="endpoint-detail")
        self.snap = snap
        self.endpoint = name

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="endpoint-body"):
            yield Static(endpoint_text(self.snap, self.endpoint))
        yield FittedFooter()  # this screen's keys: the dashboard's footer is not for here
