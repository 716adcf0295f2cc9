"""The six chart panels: response time, CPU & memory, Apdex, the latency distribution,
throughput and error rate (braille charts, block charts in compact layouts)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.widgets import Static

from apm_tui.ui.lazy import lazy_module
from apm_tui.ui.textfmt import fmt
from apm_tui.ui.widgets.panel import (
    Palette,
    TimeChartPanel,
    no_metrics,
    no_requests,
    requests_message,
)
from apm_tui.words import rate_spec

if TYPE_CHECKING:
    from apm_tui.engine import Snapshot
    from apm_tui.ui import chartmath as cm
    from apm_tui.ui.plot import Figure
else:
    cm = lazy_module("apm_tui.ui.chartmath")  # the drawing helpers: numpy, loaded on first use


class ResponseTimePanel(TimeChartPanel):
    NAME = "Response time"
    HELP = (
        "Average and P95 request latency per time bucket (complete buckets); red × marks "
        "buckets with anomalies. Title: the last minutes' values."
    )

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        if math.isfinite(cur["rt_sample"]):  # a source's own latency samples
            self.show_empty(None)
        else:
            self.show_empty(requests_message(snap))
        self.set_kpi(
            f"avg {fmt(cur['rt_avg'], '.0f', ' ms')} · P95 {fmt(cur['rt_p95'], '.0f', ' ms')}"
        )
        key = "rt_p95" if snap.live.has.get("requests") else "rt_avg"
        self.summarise(snap, key, labels=("P95" if key == "rt_p95" else "avg",))
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        cm.plot(fig, cm.series_xy(series, "rt_avg", width), palette["primary"], "avg")
        p95 = cm.series_xy(series, "rt_p95", width, "max")
        cm.plot(fig, p95, palette["warning"], "P95")
        marks = cm.anomaly_xy(
            series, "rt_p95" if p95[0] else "rt_avg", width, ("response time", "DB")
        )
        if marks[0]:
            fig.scatter(*marks, color=palette["error"])
        cm.time_axis(fig, series, width)


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
        self.show_empty(None if has else no_metrics(snap))
        self.set_kpi(host_line(cur, snap.status))
        detail = process_line(snap.status)
        self.child(".detail", Static).display = bool(detail)
        self.set_text(".detail", detail)
        self.summarise(snap, "cpu", "memory", labels=("cpu", "mem"), other_lines=int(bool(detail)))
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        cm.plot(fig, cm.series_xy(series, "cpu", width), palette["primary"], "CPU")
        # Not the theme's secondary: a darker blue beside the CPU's, and in 16 colours the
        # borders' grey.
        cm.plot(fig, cm.series_xy(series, "memory", width), palette["success"], "memory")
        marks = cm.anomaly_xy(series, "cpu", width, ("CPU", "memory"))
        if marks[0]:
            fig.scatter(*marks, color=palette["error"])
        fig.horizontal_line(85, color=palette["error"])
        fig.ylim(0, 100)
        cm.time_axis(fig, series, width)


class ApdexPanel(TimeChartPanel):
    NAME = "Apdex"
    HELP = "Apdex per time bucket against its target line (0.9 by default); T is in the title."

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        self.show_empty(requests_message(snap))
        t_ms = self.thresholds.apdex_t_ms
        self.set_kpi(
            f"{fmt(cur['apdex'], '.3f')} · T={t_ms:g} ms · target {self.thresholds.apdex_target:g}"
        )
        self.summarise(snap, "apdex")
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        cm.plot(fig, cm.series_xy(series, "apdex", width), palette["success"])
        fig.horizontal_line(self.thresholds.apdex_target, color=palette["warning"])
        fig.ylim(cm.apdex_floor(series.values["apdex"], self.thresholds.apdex_target), 1)
        cm.time_axis(fig, series, width)


class DistributionPanel(TimeChartPanel):
    NAME = "Response-time distribution"
    HELP = "Histogram of request latencies in the window, with a line at the P95."

    def chart_key(self, snap: Snapshot) -> Any:
        h = snap.live.histogram
        return None if h is None else (h.requests, h.p95, snap.live.series.key)

    def update_view(self, snap: Snapshot) -> None:
        h = snap.live.histogram
        self.show_empty(None if h is not None else requests_message(snap) or no_requests(snap))
        if h is None:
            return
        noun = "request" if h.requests == 1 else "requests"
        self.set_kpi(f"P95 {fmt(h.p95, '.0f', ' ms')} · {h.requests:,} {noun}")
        self.set_span(snap.live.newest - snap.live.oldest_request)
        self.set_summary(
            lambda: cm.sparkline(
                cm.rebinned(h.counts, self.spark_width()), self.spark_width(), self.spark_height()
            )
        )
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        h = snap.live.histogram
        if h is None:
            return
        centers = ((h.edges[:-1] + h.edges[1:]) / 2).tolist()
        fig.bar(centers, h.counts.tolist(), color=palette["primary"])
        fig.vertical_line(h.p95, color=palette["error"])
        ticks = cm.even_ticks(float(h.edges[0]), float(h.edges[-1]), width)
        fig.xticks(ticks, [f"{t:.0f} ms" for t in ticks])


class ThroughputPanel(TimeChartPanel):
    NAME = "Throughput"
    HELP = "Requests per second per time bucket."

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has = math.isfinite(cur["throughput"]) or snap.live.has.get("requests")
        self.show_empty(None if has else no_requests(snap))
        rps = cur["throughput"]
        self.set_kpi(fmt(rps, rate_spec(rps, ".1f"), " req/s"))
        self.summarise(snap, "throughput")
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        cm.plot(fig, cm.series_xy(series, "throughput", width), palette["primary"])
        marks = cm.anomaly_xy(series, "throughput", width, ("throughput",))
        if marks[0]:
            fig.scatter(*marks, color=palette["error"])
        cm.time_axis(fig, series, width)


class ErrorRatePanel(TimeChartPanel):
    NAME = "Error rate"
    HELP = (
        "Failed requests in % (the newest sample's, the chart's last point), the threshold "
        "line (1 % by default), and the HTTP status mix of the requests of that sample's "
        "minute (of how many: the synthetic world traces a few of its requests)."
    )

    def update_view(self, snap: Snapshot) -> None:
        cur = snap.live.current
        has = math.isfinite(cur["error_pct"]) or snap.live.has.get("requests")
        self.show_empty(None if has else no_requests(snap))
        mix = " ".join(
            f"{k}xx {cur[f'status_{k}xx']:.0f}%"
            for k in range(1, 6)
            if cur.get(f"status_{k}xx", 0) >= 0.5
        )
        kpi = f"{fmt(cur['error_pct'], '.2f', '%')} · threshold "
        kpi += f"{self.thresholds.error_rate_threshold_pct:g}%"
        # Of how many, where it fits: beside the synthetic world's error rate (all its traffic)
        # the mix is of its few traced requests, and "0.40 %" beside "5xx 4 %" read as a
        # contradiction. Each form whole, or not at all.
        counted = f"{mix} ({cur.get('status_count', 0):,.0f} req)"
        for said in (counted, mix) if mix else ():
            if len(kpi) + 3 + len(said) <= self.content_size.width:
                kpi += f" · {said}"
                break
        self.set_kpi(kpi)
        self.summarise(snap, "error_pct")
        self.push_chart(snap)

    def draw(self, fig: Figure, width: int, height: int, snap: Snapshot, palette: Palette) -> None:
        series = snap.live.series
        cm.plot(fig, cm.series_xy(series, "error_pct", width, "max"), palette["error"])
        marks = cm.anomaly_xy(series, "error_pct", width, ("errors",))
        if marks[0]:
            fig.scatter(*marks, color=palette["warning"])
        fig.horizontal_line(self.thresholds.error_rate_threshold_pct, color=palette["warning"])
        cm.time_axis(fig, series, width)
