"""The nine panels. Each takes a `Snapshot` and shows it: a chart (or text) plus a title line
with the current values. In compact layouts (small terminals) a panel shows a few lines of
numbers and a sparkline instead of its chart; maximising it (enter) shows the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from apm_tui.analysis.live import Series
from apm_tui.config import Thresholds
from apm_tui.engine import Snapshot
from apm_tui.ui.chartmath import (
    anomaly_points,
    bar,
    finite_pairs,
    fit_factor,
    fmt,
    merge_buckets,
    sparkline,
    time_ticks,
)
from apm_tui.ui.widgets.chart import Chart
from apm_tui.ui.widgets.header import STATUS_STYLE

Palette = dict[str, tuple[int, int, int]]
Y_AXIS_CELLS = 8  # plotext's y labels and frame take about this many columns


class Line(Widget):
    """One line of text that repaints without a layout pass.

    `Static.update` always asks for a new layout, and re-laying out nine panels every tick was
    most of the dashboard's CPU; a line of fixed height only needs a repaint.
    """

    DEFAULT_CSS = "Line { height: 1; }"
    text: reactive[Text] = reactive(Text(""), layout=False)

    def render(self) -> Text:
        return self.text


class TextBlock(Line):
    """A block of text filling its panel, repainted without a layout pass (see `Line`)."""

    DEFAULT_CSS = "TextBlock { height: 1fr; }"


class Panel(Vertical, can_focus=True):
    """A focusable, maximisable panel with a title, a compact summary and a body."""

    ALLOW_MAXIMIZE = True
    NAME: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(id=self.panel_id())
        self.border_title = self.NAME
        self._shown: dict[str, Text | str] = {}

    @property
    def thresholds(self) -> Thresholds:
        return self.app.thresholds  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def panel_id(cls) -> str:
        return cls.__name__.removesuffix("Panel").lower()

    def compose(self) -> ComposeResult:
        yield Line(classes="kpi")
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
        block = self.query_one(selector, TextBlock)
        if block.text != content:
            block.text = content

    def set_text(self, selector: str, content: Text | str) -> None:
        """Update a child Static only when its content changed: every update repaints it, and
        repainting unchanged panels each tick was most of the dashboard's CPU."""
        shown = self._shown.get(selector)
        if shown is not None and shown == content:
            return
        self._shown[selector] = content
        self.query_one(selector, Static).update(content)

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
        line = self.query_one(".kpi", Line)
        line.text = (
            text if isinstance(text, Text) else Text(text, no_wrap=True, overflow="ellipsis")
        )

    def update_view(self, snap: Snapshot) -> None:
        """Show a snapshot; each panel overrides this."""


NO_REQUESTS = (
    "No request data: this source measures the host, not requests.\n"
    "Add a request source (synthetic now; logs and OTLP traces to come)."
)
NO_METRICS = "No host metrics from this source."


def series_xy(
    series: Series, name: str, width: int, how: str = "mean"
) -> tuple[list[float], list[float]]:
    t = series.t
    values = series.values.get(name, np.full(t.size, np.nan))
    factor = fit_factor(t.size, width - Y_AXIS_CELLS)
    t2, v2 = merge_buckets(t, values, factor, how)
    return finite_pairs(t2, v2)


def anomaly_xy(
    series: Series, name: str, width: int, types: tuple[str, ...]
) -> tuple[list[float], list[float]]:
    """Anomalies whose causes include one of `types`, placed on the `name` line."""
    factor = fit_factor(series.t.size, width - Y_AXIS_CELLS)
    t2, v2 = merge_buckets(series.t, series.values[name], factor, "max")
    counts = sum(series.values[f"anomalies:{kind}"] for kind in types)
    _, counts = merge_buckets(series.t, np.asarray(counts, dtype=float), factor, "sum")
    return anomaly_points(t2, v2, counts)


def plot(
    fig: Any, xy: tuple[list[float], list[float]], color: tuple[int, int, int], label: str = ""
) -> None:
    """A braille line; series without points are skipped (plotext's legend fails on them)."""
    if xy[0]:
        fig.plot(*xy, marker="braille", color=color, label=label or None)


def time_axis(fig: Any, series: Series, width: int) -> None:
    if series.t.size:
        count = max(2, min(5, (width - Y_AXIS_CELLS) // 14))
        ticks, labels = time_ticks(series.first, float(series.t[-1]), count)
        fig.xticks(ticks, labels)
        fig.xlim(series.first, float(series.t[-1]))


class TimeChartPanel(Panel):
    """A panel whose body is one time chart."""

    def body(self) -> ComposeResult:
        yield Chart(self.draw)

    def draw(self, fig: Any, width: int, height: int, payload: Any, palette: Palette) -> None:
        """Fill the plotext figure; each chart panel overrides this."""

    def chart_key(self, snap: Snapshot) -> Any:
        return snap.live.series.key

    def push_chart(self, snap: Snapshot) -> None:
        self.query_one(Chart).show(self.chart_key(snap), snap, snap.tick)


class ResponseTimePanel(TimeChartPanel):
    NAME = "Response time"
    HELP = (
        "Average and P95 request latency per time bucket (complete buckets); red × marks "
        "buckets with anomalies. Title: the last minutes' values."
    )

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has_latency = snap.live.has.get("requests") or math.isfinite(cur["rt_sample"])
        self.show_empty(None if has_latency else NO_REQUESTS)
        self.set_kpi(
            f"avg {fmt(cur['rt_avg'], '.0f', ' ms')} · P95 {fmt(cur['rt_p95'], '.0f', ' ms')}"
        )
        key = "rt_p95" if snap.live.has.get("requests") else "rt_avg"
        self.set_summary(
            lambda: sparkline(snap.live.series.values[key], self.spark_width(), self.spark_height())
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        plot(fig, series_xy(series, "rt_avg", width), palette["primary"], "avg")
        p95 = series_xy(series, "rt_p95", width, "max")
        plot(fig, p95, palette["warning"], "P95")
        marks = anomaly_xy(series, "rt_p95" if p95[0] else "rt_avg", width, ("response time", "DB"))
        if marks[0]:
            fig.scatter(*marks, marker="x", color=palette["error"])
        time_axis(fig, series, width)


def rate(value: float) -> str:
    """Bytes per second, human-sized."""
    if not math.isfinite(value):
        return "—"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}/s" if unit == "B" else f"{value:.1f} {unit}/s"
        value /= 1000
    return "—"


def host_line(cur: dict[str, float], status: dict[str, Any]) -> str:
    parts = [f"CPU {fmt(cur['cpu'], '.0f', '%')}", f"mem {fmt(cur['memory'], '.0f', '%')}"]
    if "cores" in status:
        parts[0] += f" of {status['cores']} cores"
    if math.isfinite(cur.get("host.swap_pct", math.nan)):
        parts.append(f"swap {cur['host.swap_pct']:.0f}%")
    if math.isfinite(cur.get("host.load1", math.nan)):
        parts.append(f"load {cur['host.load1']:.2f}")
    if math.isfinite(cur.get("host.net_rx_bps", math.nan)):
        parts.append(f"net ↓{rate(cur['host.net_rx_bps'])} ↑{rate(cur['host.net_tx_bps'])}")
    if math.isfinite(cur.get("host.disk_read_bps", math.nan)):
        parts.append(
            f"disk r {rate(cur['host.disk_read_bps'])} w {rate(cur['host.disk_write_bps'])}"
        )
    return " · ".join(parts)


def process_line(status: dict[str, Any]) -> str:
    """The followed process, or the top processes by CPU (from the host source)."""
    proc = status.get("process")
    if proc:
        if proc.get("status") == "ended":
            return f"pid {proc.get('pid')} ({proc.get('name')}) ended"
        return (
            f"pid {proc.get('pid')} {proc.get('name')}: CPU {fmt(proc.get('cpu_pct') or 0)}%"
            f" · RSS {fmt(proc.get('rss_mb') or math.nan)} MB · "
            f"{proc.get('threads') or '—'} threads · {proc.get('open_files') or '—'} files"
        )
    top = status.get("top_processes") or []
    if not top:
        return ""
    return "top: " + " · ".join(
        f"{str(p.get('name', '?'))[:16]} {fmt(p.get('cpu_pct') or 0)}%" for p in top[:6]
    )


class ResourcesPanel(TimeChartPanel):
    NAME = "CPU & memory"

    def body(self) -> ComposeResult:
        yield Static("", classes="detail")
        yield from super().body()

    HELP = (
        "Host CPU and memory in %, with the 85 % threshold; with --source system the title "
        "also shows load, swap and the top processes in the summary."
    )

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has = math.isfinite(cur["cpu"]) or math.isfinite(cur["memory"])
        self.show_empty(None if has else NO_METRICS)
        self.set_kpi(host_line(cur, snap.status))
        detail = process_line(snap.status)
        self.query_one(".detail", Static).display = bool(detail)
        self.set_text(".detail", detail)
        self.set_summary(
            lambda: sparkline(
                snap.live.series.values["cpu"], self.spark_width(), self.spark_height(1)
            )
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        plot(fig, series_xy(series, "cpu", width), palette["primary"], "CPU")
        plot(fig, series_xy(series, "memory", width), palette["secondary"], "memory")
        marks = anomaly_xy(series, "cpu", width, ("CPU", "memory"))
        if marks[0]:
            fig.scatter(*marks, marker="x", color=palette["error"])
        fig.horizontal_line(85, color=palette["error"])
        fig.ylim(0, 100)
        time_axis(fig, series, width)


class ApdexPanel(TimeChartPanel):
    NAME = "Apdex"
    HELP = "Apdex per time bucket against its target line (0.9 by default); T is in the title."

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        self.show_empty(None if snap.live.has.get("requests") else NO_REQUESTS)
        t_ms = self.thresholds.apdex_t_ms
        self.set_kpi(
            f"{fmt(cur['apdex'], '.3f')} · T={t_ms:g} ms · target {self.thresholds.apdex_target:g}"
        )
        self.set_summary(
            lambda: sparkline(
                snap.live.series.values["apdex"], self.spark_width(), self.spark_height()
            )
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        plot(fig, series_xy(series, "apdex", width), palette["success"])
        fig.horizontal_line(self.thresholds.apdex_target, color=palette["warning"])
        values = series.values["apdex"]
        finite = values[np.isfinite(values)]
        target = self.thresholds.apdex_target
        low = min(float(finite.min()) if finite.size else target, target) - 0.05
        fig.ylim(max(0.0, math.floor(low * 10) / 10), 1)
        time_axis(fig, series, width)


class DistributionPanel(TimeChartPanel):
    NAME = "Response-time distribution"
    HELP = "Histogram of request latencies in the window, with a line at the P95."

    def chart_key(self, snap: Snapshot) -> Any:
        h = snap.live.histogram
        return None if h is None else (h.requests, h.p95, snap.live.series.key)

    def update_view(self, snap: Snapshot) -> None:
        h = snap.live.histogram
        self.show_empty(None if h is not None else NO_REQUESTS)
        if h is None:
            return
        self.set_kpi(f"P95 {fmt(h.p95, '.0f', ' ms')} · {h.requests:,} requests")
        self.set_summary(
            lambda: sparkline(h.counts.astype(float), self.spark_width(), self.spark_height())
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        h = snap.live.histogram
        if h is None:
            return
        centers = ((h.edges[:-1] + h.edges[1:]) / 2).tolist()
        fig.bar(centers, h.counts.tolist(), color=palette["primary"], width=0.9)
        fig.vertical_line(h.p95, color=palette["error"])
        ticks = np.linspace(float(h.edges[0]), float(h.edges[-1]), max(2, min(6, width // 12)))
        fig.xticks(ticks.tolist(), [f"{t:.0f} ms" for t in ticks])


class ThroughputPanel(TimeChartPanel):
    NAME = "Throughput"
    HELP = "Requests per second per time bucket."

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has = math.isfinite(cur["throughput"]) or snap.live.has.get("requests")
        self.show_empty(None if has else NO_REQUESTS)
        self.set_kpi(f"{fmt(cur['throughput'], '.1f', ' req/s')}")
        self.set_summary(
            lambda: sparkline(
                snap.live.series.values["throughput"], self.spark_width(), self.spark_height()
            )
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        plot(fig, series_xy(series, "throughput", width), palette["primary"])
        marks = anomaly_xy(series, "throughput", width, ("throughput",))
        if marks[0]:
            fig.scatter(*marks, marker="x", color=palette["error"])
        time_axis(fig, series, width)


class ErrorRatePanel(TimeChartPanel):
    NAME = "Error rate"
    HELP = "Share of failed requests in %, with the error-rate threshold line (1 % by default)."

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has = math.isfinite(cur["error_pct"]) or snap.live.has.get("requests")
        self.show_empty(None if has else NO_REQUESTS)
        self.set_kpi(
            f"{fmt(cur['error_pct'], '.2f', '%')} · threshold "
            f"{self.thresholds.error_rate_threshold_pct:g}%"
        )
        self.set_summary(
            lambda: sparkline(
                snap.live.series.values["error_pct"], self.spark_width(), self.spark_height()
            )
        )
        self.push_chart(snap)

    def draw(self, fig: Any, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        plot(fig, series_xy(series, "error_pct", width, "max"), palette["error"])
        marks = anomaly_xy(series, "error_pct", width, ("errors",))
        if marks[0]:
            fig.scatter(*marks, marker="x", color=palette["warning"])
        fig.horizontal_line(self.thresholds.error_rate_threshold_pct, color=palette["warning"])
        time_axis(fig, series, width)


class HealthPanel(Panel):
    NAME = "Health"
    HELP = (
        "The 0–100 health score (the seed's rules, README has the formula) with each "
        "penalty and bonus as a line; it refreshes with the full analysis every few ticks."
    )

    def body(self) -> ComposeResult:
        yield TextBlock(classes="gauge")

    def update_view(self, snap: Snapshot) -> None:
        a = snap.analysis
        if a is None:
            self.show_empty("Analysing the window…")
            self.set_summary("analysing…")
            return
        self.show_empty(None)
        h = a.health
        style = STATUS_STYLE[h.status]
        self.set_kpi(Text(f"{fmt(h.score, '.1f')}/100 {h.status}", style))
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
            summary.append(f"{f.points:+5.0f} {f.factor}\n", "red" if f.points < 0 else "green")
        self.set_summary(summary)


class EndpointsPanel(Panel):
    NAME = "Duration by endpoint"
    HELP = (
        "P95 latency per endpoint as bars, slowest share of time first. With the panel "
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
        self.names: list[str] = []
        self._snap: Snapshot | None = None

    def body(self) -> ComposeResult:
        yield TextBlock(classes="bars")

    def action_move(self, delta: int) -> None:
        if self.names:
            self.selected = (self.selected + delta) % len(self.names)
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
            self.action_details()

    def update_view(self, snap: Snapshot) -> None:
        self._snap = snap
        endpoints = snap.live.endpoints
        self.show_empty(None if endpoints else NO_REQUESTS)
        self.names = [e.name for e in endpoints]
        if not endpoints:
            return
        self.selected = min(self.selected, len(endpoints) - 1)
        width = self.size.width
        # Names get what they need (up to the width left after a short bar and the value):
        # cut to a third, '/api/products' and '/api/products/{id}' read the same.
        value_w, min_bar = 9, 6
        longest = max(len(e.name) for e in endpoints)
        name_w = max(8, min(longest + 1, width - value_w - min_bar))
        bar_w = max(1, width - name_w - value_w)
        top = max(e.p95_ms for e in endpoints) or 1.0
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, e in enumerate(endpoints):
            style = "reverse" if i == self.selected and self.has_focus else ""
            color = "red" if e.p95_ms > self.thresholds.slow_endpoint_p95_ms else "green"
            text.append(f"{e.name[:name_w]:<{name_w}}", style)
            text.append(bar(e.p95_ms / top, bar_w), color)
            text.append(f"{e.p95_ms:>7.0f}ms\n", style)
        self.set_block(".bars", text)
        self.set_kpi(f"P95 by endpoint · {len(endpoints)} endpoints")
        rows = self.spark_height()
        self.set_summary(
            "\n".join(
                f"{e.name[: max(4, self.spark_width() - 8)]:<{max(4, self.spark_width() - 8)}}"
                f"{e.p95_ms:>6.0f}ms"
                for e in endpoints[:rows]
            )
        )

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
        "impact; maximise it (enter) to read them all."
    )

    def body(self) -> ComposeResult:
        yield TextBlock(classes="findings")

    def update_view(self, snap: Snapshot) -> None:
        a = snap.analysis
        if a is None:
            self.show_empty(
                f"Analysing the window… (anomaly detector: {snap.live.detector_status})"
            )
            self.set_summary("analysing…")
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
        lines = Text()
        for b in a.bottlenecks[: self.spark_height()]:
            lines.append(f"{b.severity[0]} ", SEVERITY_STYLE[b.severity])
            lines.append(f"{b.title}: {b.location}\n")
        self.set_summary(lines if a.bottlenecks else Text("none found", "green"))


PANELS: tuple[type[Panel], ...] = (
    ResponseTimePanel,
    ResourcesPanel,
    ApdexPanel,
    DistributionPanel,
    ThroughputPanel,
    ErrorRatePanel,
    HealthPanel,
    EndpointsPanel,
    BottlenecksPanel,
)
