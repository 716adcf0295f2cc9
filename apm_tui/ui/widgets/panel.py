"""The panel base: a titled, focusable, maximisable box with a values line, a compact
summary, a "no data" message and a body; and the helpers the chart panels share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.console import Console
from rich.containers import Lines
from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from apm_tui.config import Thresholds
from apm_tui.ui.lazy import lazy_module
from apm_tui.ui.textfmt import span
from apm_tui.ui.widgets.chart import Chart
from apm_tui.ui.widgets.painted import Painted

if TYPE_CHECKING:
    from apm_tui.engine import Snapshot
    from apm_tui.ui import chartmath
    from apm_tui.ui.plot import Figure
else:
    # The chart maths need numpy, which loads after the first frame (see apm_tui.ui.lazy).
    chartmath = lazy_module("apm_tui.ui.chartmath")

Palette = dict[str, tuple[int, int, int]]
W = TypeVar("W", bound=Widget)


class Line(Painted):
    """One line of text that repaints without a layout pass, painted from cached Strips.

    `Static.update` always asks for a new layout, and re-laying out nine panels every tick was
    most of the dashboard's CPU; a line of fixed height only needs a repaint. And a Text
    returned from `render()` is restyled span by span by Textual on every repaint (≈ 0.5 ms a
    line, 3–12 ms for a block of bars or wrapped findings); Rich renders it once into Strips.
    """

    DEFAULT_CSS = "Line { height: 1; }"
    text: reactive[Text] = reactive(Text(""), layout=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: list[Strip] = []
        self._strips_key: int | None = None  # the width the strips were made for

    def watch_text(self) -> None:
        self._strips_key = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips_key = None  # a theme or CSS change: new colours

    def shown(self, width: int, height: int) -> list[Strip]:
        return self.strips(width)

    def strips(self, width: int | None = None) -> list[Strip]:
        """The text wrapped to the width, one Strip a line (made again when either changes)."""
        if width is None:
            width = self.size.width
        if width <= 0:  # hidden (the compact layout shows the summary instead)
            return []
        if width != self._strips_key:
            base = self.looks()[0]
            console = self.app.console
            self._strips = [
                Strip(Segment.apply_style(line.render(console), base)).adjust_cell_length(
                    width, base
                )
                for line in self.wrapped(console, width)
            ]
            self._strips_key = width
        return self._strips

    def wrapped(self, console: Console, width: int) -> Lines:
        return self.text.wrap(console, width)


#: Between the fields of a values line.
SEPARATOR = " · "


class Kpi(Line):
    """The values line: fields joined by " · ", as many whole ones as fit the width. A value
    cut short reads as another value ("P95 3…" for 340 ms); a field left out does not."""

    def wrapped(self, console: Console, width: int) -> Lines:
        text = self.text
        if text.cell_len > width and SEPARATOR in text.plain:
            fields = text.plain.split(SEPARATOR)
            kept = fields[0]
            for field in fields[1:]:
                if cell_len(kept + SEPARATOR + field) > width:
                    break
                kept += SEPARATOR + field
            text = text[: len(kept)]  # the first field alone still ends in "…" if too wide
        return text.wrap(console, width, no_wrap=self.text.no_wrap)


class TextBlock(Line):
    """A block of text filling its panel, repainted without a layout pass (see `Line`);
    when it is taller than the panel, `scroll` moves the lines shown (no mouse needed)."""

    DEFAULT_CSS = "TextBlock { height: 1fr; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.top = 0  # the first line shown

    def shown(self, width: int, height: int) -> list[Strip]:
        strips = self.strips(width)
        first = max(0, min(self.top, len(strips) - height))
        return strips[first : first + height]

    def wrapped(self, console: Console, width: int) -> Lines:
        """Each line that does not fit goes on under its own indent plus two, so a wrapped
        finding or recommendation reads as one item (a bar that fits is left as it is)."""
        out = Lines()
        for line in self.text.split("\n", allow_blank=True):
            parts = line.wrap(console, width)
            hang = len(line.plain) - len(line.plain.lstrip(" ")) + 2
            if len(parts) > 1 and width - hang >= 20:
                parts = line.wrap(console, width - hang)
                for k in range(1, len(parts)):
                    parts[k] = Text(" " * hang) + parts[k]
            out.extend(parts)
        return out

    def first_line(self) -> int:
        """`top`, kept so the last page is full (the text may have shrunk since)."""
        return max(0, min(self.top, len(self.strips()) - self.size.height))

    def scroll(self, lines: int) -> None:
        top = max(0, min(self.first_line() + lines, len(self.strips()) - self.size.height))
        if top != self.top:
            self.top = top
            self.refresh()

    def position(self) -> str:
        """The lines shown, as "lines 1–21 of 40", when the text does not fit; else ""."""
        total, shown = len(self.strips()), self.size.height
        if total <= shown or shown <= 0:
            return ""
        first = self.first_line()
        return f"lines {first + 1}–{min(total, first + shown)} of {total} · ↑↓ pgup pgdn"


class Panel(Vertical, can_focus=True):
    """A focusable, maximisable panel with a title, a compact summary and a body."""

    ALLOW_MAXIMIZE = True
    NAME: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(id=self.panel_id())
        self.border_title = self.NAME
        self._span_said = ""  # the bottom border's "over 24 h", as last set
        self._shown: dict[str, Text | str] = {}
        self._children: dict[Any, Widget] = {}

    def set_span(self, seconds: float) -> None:
        """Say in the bottom border what time the panel's figures cover ("over 24 h"): the
        distribution, endpoints and health are of the whole window, while the other panels'
        figures are of the newest minute, and their numbers differ for that reason."""
        said = f"over {span(seconds)}" if span(seconds) else ""
        # Compared with our own copy: Textual's getter does not give back the str it was set
        # to, and setting it repaints the whole panel (≈ 1.5 ms a tick, measured 2026-12-06).
        if said != self._span_said:
            self._span_said = self.border_subtitle = said

    def child(self, selector: Any, expect: type[W]) -> W:
        """`query_one`, remembered: a panel's children never change, and matching selectors
        over the tree for each of ≈ 20 updates a tick cost ≈ 1 ms."""
        found = self._children.get(selector)
        if found is None:
            found = self._children[selector] = self.query_one(selector, expect)
        assert isinstance(found, expect)
        return found

    @property
    def thresholds(self) -> Thresholds:
        return self.app.thresholds  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def panel_id(cls) -> str:
        return cls.__name__.removesuffix("Panel").lower()

    def compose(self) -> ComposeResult:
        yield Kpi(classes="kpi")
        yield Static("", classes="summary")
        yield Static("", classes="empty")
        yield from self.body()

    def body(self) -> ComposeResult:
        yield from ()

    def on_resize(self) -> None:
        # Compact charts and bars are sized to the panel: redraw them at the new size.
        snap = getattr(self.app, "snapshot", None)
        if snap is not None:
            self.update_view(snap)

    def set_block(self, selector: str, content: Text) -> None:
        block = self.child(selector, TextBlock)
        if block.text != content:
            block.text = content

    def set_text(self, selector: str, content: Text | str) -> None:
        """Update a child Static only when its content changed: every update repaints it, and
        repainting unchanged panels each tick was most of the dashboard's CPU."""
        shown = self._shown.get(selector)
        if shown is not None and shown == content:
            return
        self._shown[selector] = content
        self.child(selector, Static).update(content)

    def show_empty(self, why: str | None) -> None:
        self.set_class(why is not None, "-empty")
        if why is not None:
            self.set_text(".empty", why)

    def set_summary(self, text: Text | str | Callable[[], Text | str]) -> None:
        """Summaries are only visible in the compact layout (the app re-sends the snapshot when
        the layout changes, so skipping them loses nothing); pass a callable to build them
        only then — drawing the block charts cost ≈ 6 ms a tick."""
        if self.screen.has_class("-compact"):
            self.set_text(".summary", text() if callable(text) else text)

    def spark_width(self) -> int:
        return max(8, self.size.width)

    def spark_height(self, other_lines: int = 0) -> int:
        """Rows left for the compact chart under the title, the KPI line and other lines."""
        return max(1, self.size.height - 1 - other_lines)

    def set_kpi(self, text: Text | str) -> None:
        """The panel's current values, one line under its title."""
        line = self.child(".kpi", Kpi)
        line.text = (
            text if isinstance(text, Text) else Text(text, no_wrap=True, overflow="ellipsis")
        )

    def update_view(self, snap: Snapshot) -> None:
        """Show a snapshot; each panel overrides this."""


NO_REQUESTS = (
    "No request data: this source measures the host, not requests.\n"
    "Add a request source: --source synthetic, --log FILE or --source otlp."
)
#: Short enough for a panel at 80×24 (24 × 5 cells): the remedy was cut off there.
NO_TIMES = "No response times in this log (nginx: add $request_time to log_format; Apache: %D)."


#: Sources that give requests (`log access.log`, `otlp`, `synthetic`), or may (a replay).
REQUEST_SOURCES = ("synthetic", "log", "otlp", "replay", "recording")


def no_requests(snap: Snapshot) -> str:
    """Why there are no requests in view: a source of requests has none here (yet, or at this
    point of a paused look back), or no source gives requests at all."""
    if not has_source(snap, REQUEST_SOURCES):
        return NO_REQUESTS
    otlp = snap.status.get("otlp")
    if isinstance(otlp, dict) and not otlp.get("received"):
        return f"No requests in view: no trace has arrived on {otlp.get('listen', '')} yet."
    return "No requests in view."


def requests_message(snap: Snapshot) -> str | None:
    """Why a panel that needs response times is empty, or None when it is not."""
    if not snap.live.has.get("requests"):
        return no_requests(snap)
    return None if snap.live.has.get("timed", True) else NO_TIMES


NO_DATA = "No data in the window yet: nothing to analyse."


NO_METRICS = "No host metrics from this source."

#: Sources that measure the host (or may: a replay), as `REQUEST_SOURCES` for requests.
HOST_SOURCES = ("synthetic", "system", "system+pid", "replay", "recording")


def no_metrics(snap: Snapshot) -> str:
    """Why there are no host metrics in view: none yet where a source of them is (the start
    of the window, paused), or no source measures the host."""
    if has_source(snap, HOST_SOURCES):
        return "No host metrics in view yet."
    return NO_METRICS


def has_source(snap: Snapshot, kinds: tuple[str, ...]) -> bool:
    """Whether a source of one of these kinds is in the snapshot (`log access.log` is a log);
    for a replay, among the sources it recorded (a replay of `--source system` said "No
    requests in view", as if some could come)."""
    names = list(snap.sources)
    replay = snap.status.get("replay")
    recorded = replay.get("sources") if isinstance(replay, dict) else None
    if isinstance(recorded, list) and recorded:
        names = [str(name) for name in recorded]
    return any(name.split()[0] in kinds for name in names if name)


class TimeChartPanel(Panel):
    """A panel whose body is one time chart."""

    def body(self) -> ComposeResult:
        yield Chart(self.draw)

    def draw(self, fig: Figure, width: int, height: int, payload: Any, palette: Palette) -> None:
        """Fill the figure; each chart panel overrides this."""

    def chart_key(self, snap: Snapshot) -> Any:
        return snap.live.series.key

    def summarise(
        self, snap: Snapshot, *series: str, labels: tuple[str, ...] = (), other_lines: int = 0
    ) -> None:
        """The compact layout's block chart of each series, sharing the rows left, each
        labelled where `labels` are given (a panel of two lines, or of a line its title does
        not name: the response time's P95)."""
        values = [snap.live.series.values[name] for name in series]

        def charts() -> str:
            rows = self.spark_height(other_lines)
            out = []
            for k, v in enumerate(values):
                share = rows // len(values) + (k < rows % len(values))
                if share <= 0:
                    continue
                label = f"{labels[k]} " if k < len(labels) else ""
                chart = chartmath.sparkline(v, self.spark_width() - len(label), share)
                lines = chart.split("\n")
                out += [label + lines[0], *(" " * len(label) + line for line in lines[1:])]
            return "\n".join(out)

        self.set_summary(charts)

    def push_chart(self, snap: Snapshot) -> None:
        self.child(Chart, Chart).show(self.chart_key(snap), snap, snap.tick)
