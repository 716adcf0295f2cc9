"""`t`: the recent traces, slowest first, and the selected one as a waterfall.

The list and the waterfall are computed in a thread worker (a day's window holds up to a million
spans); the screen shows the window as it was when opened, and `u` reads it again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from apm_tui.printable import printable
from apm_tui.ui.textfmt import fmt
from apm_tui.ui.widgets.footer import FittedFooter

if TYPE_CHECKING:
    from apm_tui.analysis.traces import TraceSummary, WaterfallRow
    from apm_tui.model import Table

#: The waterfall's offset and duration columns with every column's padding.
NUMBERS_WIDTH = 30
#: Below this the list's columns and the waterfall's bars do not fit: the screen says so.
MIN_SIZE = (80, 16)
#: Below this height the list and the attributes give up rows: at 80×16 the waterfall had
#: none left (its two rules touching) until enter.
SHORT = 24
LIST_COLUMNS = ("time (UTC)", "duration", "spans", "", "endpoint", "service")
WATERFALL_COLUMNS = ("span", "offset", "duration", "timeline")
Cells = tuple["str | Text", ...]


def fill(table: DataTable[str | Text], labels: Sequence[str], rows: Sequence[Cells]) -> None:
    """`rows` in place of the table's, each column as wide as its widest cell from the start.

    A DataTable measures auto-width columns when it is next idle. A frame painted before then
    caches the new rows' cells at the old widths, and the cache does not notice the change:
    the list opened with its times cut to `06 Dec 09:` and `1465.8 m` (ms), each row put right
    only when the cursor passed over it. Widths given with the columns leave nothing to measure.
    """
    table.clear(columns=True)
    for i, label in enumerate(labels):
        widths = [cell_len(cell) if isinstance(cell, str) else cell.cell_len
                  for cell in (row[i] for row in rows)]  # fmt: skip
        table.add_column(label, width=max([cell_len(label), *widths]))
    table.add_rows(rows)


class TracesScreen(Screen[None]):
    BINDINGS: ClassVar = [
        Binding("escape,t", "close", "Close"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("e", "errors", "Errors only"),
        Binding("u", "reload", "Update"),
        Binding("tab", "focus_next", "Next", show=False),
    ]

    def __init__(self, load: Callable[[], Table]) -> None:
        super().__init__(id="traces")
        self.load = load
        self.spans: Table | None = None
        self.found: list[TraceSummary] = []
        self.rows: list[WaterfallRow] = []
        self.errors_only = False
        self._focus_after_narrow: Widget | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="traces-too-small")
        yield Static("Traces: reading the window…", id="traces-title")
        yield Input(placeholder="filter by endpoint or service", id="traces-filter")
        yield DataTable(id="traces-list", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="traces-waterfall", cursor_type="row")
        yield Static("", id="traces-attributes")
        yield FittedFooter()

    def on_mount(self) -> None:
        listing = self.query_one("#traces-list", DataTable)
        listing.add_columns(*LIST_COLUMNS)
        waterfall = self.query_one("#traces-waterfall", DataTable)
        waterfall.add_columns(*WATERFALL_COLUMNS)
        listing.focus()
        self.reload()

    # -- loading -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="traces")
    def reload(self, fresh: bool = True) -> None:
        from apm_tui.analysis.traces import recent_traces

        spans = self.load() if fresh or self.spans is None else self.spans
        text = self.query_one("#traces-filter", Input).value.strip()
        found = recent_traces(spans, text=text, errors_only=self.errors_only)
        self.app.call_from_thread(self.show_traces, spans, found)

    def show_traces(self, spans: Table, found: list[TraceSummary]) -> None:
        self.spans, self.found = spans, found
        what = "with errors " if self.errors_only else ""
        self.query_one("#traces-title", Static).update(
            f"Traces: the {len(found):,} slowest {what}of the window, slowest first — "
            "enter or ↓ picks one; / filters, e errors only, u updates, escape closes"
        )
        import numpy as np

        from apm_tui.analysis.recommend import clock  # (not at start: it loads the analysis)

        # A window over more than one UTC day: each time says its day, as the panels' do.
        starts = np.asarray(spans["start"], dtype=float) if len(spans) else np.empty(0)
        starts = starts[np.isfinite(starts)]
        window = (float(starts.min()), float(starts.max())) if starts.size else (math.nan, math.nan)
        cells = [
            (
                clock(tr.time, window, seconds=True),
                Text(f"{fmt(tr.duration_ms, '.1f')} ms", justify="right"),
                Text(str(tr.spans), justify="right"),
                Text("✗", "bold red") if tr.error else "",
                # Text, not str: a DataTable reads a str cell as markup, and a span named
                # `[/]` stopped the screen (a MarkupError), `[link=…]` made a hyperlink.
                Text(tr.endpoint),
                Text(tr.service),
            )
            for tr in found
        ]
        fill(self.query_one("#traces-list", DataTable), LIST_COLUMNS, cells)
        if not found:
            self.show_waterfall([])
            self.query_one("#traces-attributes", Static).update(
                "No traces in the window" + (" match the filter." if what or self._text() else ".")
            )

    def _text(self) -> str:
        return self.query_one("#traces-filter", Input).value.strip()

    @work(thread=True, exclusive=True, group="waterfall")
    def load_waterfall(self, trace_id: str) -> None:
        from apm_tui.analysis.traces import waterfall

        if self.spans is not None:
            rows = waterfall(self.spans, trace_id)
            self.app.call_from_thread(self.show_waterfall, rows)

    def show_waterfall(self, rows: list[WaterfallRow]) -> None:
        self.rows = rows
        table = self.query_one("#traces-waterfall", DataTable)
        ends = [r.offset_ms + r.duration_ms for r in rows if math.isfinite(r.offset_ms)]
        total = max(ends, default=0.0)
        # The span names give way to the timeline on a narrow screen (at least a third of it).
        room = max(30, table.size.width - NUMBERS_WIDTH)
        label_width = min(max((len(span_label(r)) for r in rows), default=0), room * 2 // 3)
        width = max(8, room - label_width)
        cells = []
        for r in rows:
            label = Text("  " * r.depth)
            label.append("✗ " if r.error else "", "bold red")
            label.append(f"{r.service}: ", "bold" if r.critical else "")
            label.append(r.operation)
            label.truncate(label_width, overflow="ellipsis")
            cells.append(
                (
                    label,
                    Text(f"{fmt(r.offset_ms, '.1f')} ms", justify="right"),
                    Text(f"{fmt(r.duration_ms, '.1f')} ms", justify="right"),
                    bar(r, total, width),
                )
            )
        fill(table, WATERFALL_COLUMNS, cells)
        if rows:
            self.show_attributes(rows[0])

    def show_attributes(self, row: WaterfallRow) -> None:
        text = Text()
        text.append(f"{row.service}: {row.operation}", "bold")
        text.append(f"  ({row.kind}{', on the critical path' if row.critical else ''}")
        text.append(", failed" if row.error else "")
        text.append(")\n")
        for key, value in row.attributes.items():
            text.append(printable(key), "cyan")
            shown = printable(value) if isinstance(value, str) else json.dumps(value)
            text.append(f" = {shown}\n")
        if not row.attributes:
            text.append("no attributes", "dim")
        self.query_one("#traces-attributes", Static).update(text)

    # -- events and actions ---------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        narrow = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        was_narrow = self.has_class("-narrow")
        if narrow and not was_narrow:
            self._focus_after_narrow = self.focused
        self.set_class(narrow, "-narrow")  # (the waterfall collapsed into two rules)
        self.set_class(height < SHORT, "-short")
        if was_narrow and not narrow:
            # Hidden while narrow, the focused table lost the focus: without it the footer
            # offered the dashboard's "⏎ Maximise", and enter did nothing here.
            again = self._focus_after_narrow or self.query_one("#traces-list", DataTable)
            self.call_after_refresh(again.focus)
        if narrow:
            self.query_one("#traces-too-small", Static).update(
                f"The trace screen needs {MIN_SIZE[0]}×{MIN_SIZE[1]}; the terminal is "
                f"{width}×{height}.\nMake it larger, or escape to go back."
            )

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # At 80×24 the list's 40 % left the waterfall 3 of a trace's 7 spans; while the list
        # is browsed its height stays put (the waterfall's would change with every trace).
        self.set_class(event.widget.id == "traces-waterfall", "-reading")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "traces-list" and 0 <= event.cursor_row < len(self.found):
            self.load_waterfall(self.found[event.cursor_row].trace_id)
        elif event.data_table.id == "traces-waterfall" and 0 <= event.cursor_row < len(self.rows):
            self.show_attributes(self.rows[event.cursor_row])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "traces-list":
            self.query_one("#traces-waterfall", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reload(fresh=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#traces-list", DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#traces-filter", Input).focus()

    def action_errors(self) -> None:
        self.errors_only = not self.errors_only
        self.reload(fresh=False)

    def action_close(self) -> None:
        self.dismiss()


def span_label(row: WaterfallRow) -> str:
    return "  " * row.depth + ("✗ " if row.error else "") + f"{row.service}: {row.operation}"


def bar(row: WaterfallRow, total_ms: float, width: int) -> Text:
    """The span's place in the trace as a bar `width` cells wide (at least one cell)."""
    if not total_ms > 0:  # (NaN too)
        return Text("█", "cyan")
    start = int(row.offset_ms / total_ms * width) if math.isfinite(row.offset_ms) else 0
    length = max(1, round(row.duration_ms / total_ms * width))
    start = min(start, width - 1)
    length = min(length, width - start)
    style = "bold red" if row.error else "bold yellow" if row.critical else "cyan"
    return Text(" " * start + "█" * length, style)
