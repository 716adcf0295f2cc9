"""The three text panels: health with its breakdown, duration by endpoint (selectable bars),
and bottlenecks with their recommendations."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from apm_tui.ui.textfmt import bar, clip, fmt
from apm_tui.ui.widgets.header import STATUS_STYLE
from apm_tui.ui.widgets.panel import NO_DATA, Panel, TextBlock, no_requests
from apm_tui.words import counted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from apm_tui.analysis.result import EndpointStats
    from apm_tui.engine import Snapshot


class HealthPanel(Panel):
    NAME = "Health"
    HELP = (
        "The 0–100 health score of the whole window (the seed's rules, README has the "
        "formula) with each penalty and bonus as a line; it refreshes with the full analysis "
        "every few ticks."
    )

    def body(self) -> ComposeResult:
        yield TextBlock(classes="gauge")

    def update_view(self, snap: Snapshot) -> None:
        a = snap.analysis
        if a is None:
            empty = not snap.live.has.get("data", True)
            self.show_empty(NO_DATA if empty else "Analysing the window…")
            self.set_summary("no data" if empty else "analysing…")
            return
        self.show_empty(None)
        h = a.health
        style = STATUS_STYLE[h.status]
        self.set_kpi(Text(f"{fmt(h.score, '.1f')}/100 {h.status}", style))
        self.set_span(a.end - a.start)
        width = max(10, self.size.width - 2)
        gauge = Text()
        gauge.append(bar(h.score / 100 if math.isfinite(h.score) else 0, width) + "\n", style)
        for f in h.breakdown:
            gauge.append(
                f"{f.points:+7.1f}  {f.factor}\n",
                "red" if f.points < 0 else "green" if f.factor != "base" else "",
            )
        self.set_block(".gauge", gauge)
        summary = Text(bar(h.score / 100, self.spark_width()) + "\n", style)
        worst = sorted(h.breakdown[1:], key=lambda f: f.points)[: self.spark_height(1)]
        for f in worst:
            # One decimal, as in the full breakdown: whole points ("-2" for -2.1, "+12" for
            # +11.5) did not add up to the score above them.
            summary.append(f"{f.points:+5.1f} {f.factor}\n", "red" if f.points < 0 else "green")
        self.set_summary(summary)


class EndpointsPanel(Panel):
    NAME = "Duration by endpoint"
    HELP = (
        "P95 latency per endpoint over the window as bars, largest share of request time first. "
        "With the panel "
        "focused, up/down select an endpoint and d (or a click) opens its details: "
        "P50/P95/P99, Apdex, error rate and the slowest traces."
    )
    BINDINGS: ClassVar = [
        Binding("up", "move(-1)", "Prev endpoint", show=False),
        Binding("down", "move(1)", "Next endpoint", show=False),
        Binding("d", "details", "Endpoint details"),
    ]

    class Selected(Message):
        def __init__(self, endpoint: str) -> None:
            super().__init__()
            self.endpoint = endpoint

    def __init__(self) -> None:
        super().__init__()
        self.selected = 0
        #: The selection follows its endpoint when the order changes (a step back in time).
        self.selected_name = ""
        self.names: list[str] = []
        self._snap: Snapshot | None = None

    def body(self) -> ComposeResult:
        yield TextBlock(classes="bars")

    def action_move(self, delta: int) -> None:
        if self.names:
            self.selected = (self.selected + delta) % len(self.names)
            self.selected_name = self.names[self.selected]
            if self._snap:
                self.update_view(self._snap)

    def action_details(self) -> None:
        if self.names:
            self.post_message(self.Selected(self.names[self.selected]))

    def on_click(self, event: events.Click) -> None:
        # Rows are counted in the bars block, wherever in the panel the click landed.
        offset = event.get_content_offset(self.query_one(".bars", TextBlock))
        if offset is not None and 0 <= offset.y < len(self.names):
            self.selected = offset.y
            self.selected_name = self.names[offset.y]
            self.action_details()

    def update_view(self, snap: Snapshot) -> None:
        self._snap = snap
        endpoints = snap.live.endpoints
        self.show_empty(None if endpoints else no_requests(snap))
        self.names = [e.name for e in endpoints]
        if not endpoints:
            return
        if self.selected_name in self.names:
            self.selected = self.names.index(self.selected_name)
        self.selected = min(self.selected, len(endpoints) - 1)
        width = self.size.width
        # Names get what they need (up to the width left after a short bar and the value):
        # cut to a third, '/api/products' and '/api/products/{id}' read the same.
        value_w, min_bar = 9, 6
        longest = max(len(e.name) for e in endpoints)
        name_w = max(8, min(longest + 1, width - value_w - min_bar))
        bar_w = max(1, width - name_w - value_w)
        # Without response times (a log format that has none) the bars count requests.
        timed = any(math.isfinite(e.p95_ms) for e in endpoints)
        values = [e.p95_ms if timed else float(e.requests) for e in endpoints]
        labels = [f"{v:.0f}ms" if timed else f"{v:,.0f}" for v in values]
        top = max((v for v in values if math.isfinite(v)), default=1.0) or 1.0
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (e, v, label) in enumerate(zip(endpoints, values, labels, strict=True)):
            style = "reverse" if i == self.selected and self.has_focus else ""
            slow = timed and v > self.thresholds.slow_endpoint_p95_ms
            text.append(clip(e.name, name_w), style)
            text.append(
                bar(v / top if math.isfinite(v) else 0.0, bar_w), "red" if slow else "green"
            )
            text.append(f"{label if math.isfinite(v) else '—':>9}\n", style)
        self.set_block(".bars", text)
        what = "P95" if timed else "requests"
        self.set_kpi(f"{what} by endpoint · {counted(len(endpoints), 'endpoint')}")
        self.set_span(snap.live.newest - snap.live.oldest_request)
        self.set_summary(lambda: self.compact_rows(endpoints, labels))

    def compact_rows(self, endpoints: Sequence[EndpointStats], labels: list[str]) -> Text:
        """The compact layout's rows: the selected one reversed while the panel has focus,
        and always among those shown (they scroll with it)."""
        rows = self.spark_height()
        first = max(0, self.selected - rows + 1)
        w = max(4, self.spark_width() - 8)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i in range(first, min(len(endpoints), first + rows)):
            style = "reverse" if i == self.selected and self.has_focus else ""
            text.append(f"{clip(endpoints[i].name, w)}{labels[i]:>8}", style)
            text.append("\n")
        text.rstrip()
        return text

    def on_focus(self) -> None:
        if self._snap:
            self.update_view(self._snap)

    def on_blur(self) -> None:
        if self._snap:
            self.update_view(self._snap)


SEVERITY_STYLE = {"HIGH": "bold red", "MEDIUM": "yellow", "LOW": "cyan"}


class BottlenecksPanel(Panel):
    NAME = "Bottlenecks & recommendations"
    HELP = (
        "What the full analysis found (slow endpoints, slow queries, memory leak, "
        "error-heavy endpoints, CPU saturation), each with its recommendation and estimated "
        "impact; maximise it (enter) to read them all, and with the panel focused up/down "
        "and pgup/pgdn scroll them when they are longer than the panel."
    )
    BINDINGS: ClassVar = [
        Binding("up", "scroll(-1)", "Scroll up", show=False),
        Binding("down", "scroll(1)", "Scroll down", show=False),
        Binding("pageup", "scroll(-1, True)", "Page up", show=False, key_display="pgup"),
        Binding("pagedown", "scroll(1, True)", "Page down", show=False, key_display="pgdn"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._position = ""

    def body(self) -> ComposeResult:
        yield TextBlock(classes="findings")

    def action_scroll(self, lines: int, page: bool = False) -> None:
        block = self.child(".findings", TextBlock)
        block.scroll(lines * max(1, block.size.height - 1) if page else lines)
        self.show_position()

    def show_position(self) -> None:
        where = self.child(".findings", TextBlock).position()
        if where != self._position:  # setting a border title repaints the whole panel
            self._position = self.border_subtitle = where

    def on_resize(self) -> None:
        super().on_resize()
        self.call_after_refresh(self.show_position)

    def update_view(self, snap: Snapshot) -> None:
        a = snap.analysis
        if a is None:
            empty = not snap.live.has.get("data", True)
            self.show_empty(
                NO_DATA
                if empty
                else f"Analysing the window… (anomaly detector: {snap.live.detector_status})"
            )
            self.set_summary("no data" if empty else "analysing…")
            return
        self.show_empty(None)
        self.set_kpi(f"{len(a.bottlenecks)} found · {len(a.recommendations)} recommendations")
        text = Text()
        for b in a.bottlenecks:
            text.append(f"[{b.severity}] ", SEVERITY_STYLE[b.severity])
            text.append(f"{b.title}: ", "bold")
            text.append(f"{b.location}\n")
            text.append(f"  {b.evidence}\n", "dim")
        if a.recommendations:
            text.append("\nRecommendations\n", "bold underline")
        for r in a.recommendations:
            text.append(f"• [{r.priority}] ", SEVERITY_STYLE[r.priority])
            text.append(f"{r.title}\n", "bold")
            text.append(f"  {r.action}\n")
            text.append(f"  Impact: {r.impact}\n", "green")
        status = snap.live.detector_status
        if status != "ok":
            text.append(f"\nAnomaly detector: {status}\n", "dim")
        if not a.bottlenecks and not a.recommendations:
            text.append("No bottlenecks found in the window.\n", "green")
        self.set_block(".findings", text)
        self.show_position()
        lines = Text()
        for b in a.bottlenecks[: self.spark_height()]:
            lines.append(f"{b.severity[0]} ", SEVERITY_STYLE[b.severity])
            lines.append(f"{b.title}: {b.location}\n")
        self.set_summary(lines if a.bottlenecks else Text("none found", "green"))
