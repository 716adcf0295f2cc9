"""An `Analysis` as the seed's text report (Rich-styled on a terminal, plain when piped) or JSON."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from apm_tui.analysis.result import Analysis, Severity, Status
from apm_tui.printable import printable
from apm_tui.words import rate_spec

RULE = "=" * 80
SUBRULE = "-" * 80
LABEL_WIDTH = 32

SEVERITY_STYLE: dict[str, str] = {"HIGH": "bold red", "MEDIUM": "yellow", "LOW": "cyan"}
STATUS_ICON: dict[Status, str] = {
    "EXCELLENT": "🟢",
    "GOOD": "🟡",
    "FAIR": "🟠",
    "POOR": "🔴",
    "UNKNOWN": "⚪",
}
PRIORITY_HEADING: dict[Severity, str] = {
    "HIGH": "⚠️  HIGH PRIORITY",
    "MEDIUM": "🔸 MEDIUM PRIORITY",
    "LOW": "🔹 LOW PRIORITY",
}


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if math.isfinite(ts) else "n/a"


def number(value: float, fmt: str, unit: str = "") -> str:
    """A formatted number, or "n/a" when the window has no data for it."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:{fmt}}{unit}"


def _clean(value: Any) -> Any:
    """NaN and infinity become null: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(analysis: Analysis, extra: dict[str, Any] | None = None) -> str:
    doc = analysis.to_dict()
    if extra:
        doc.update(extra)
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False, allow_nan=False)


class ReportPrinter:
    """Prints report lines; markup is styled on a terminal and stripped when piped."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, emoji=False, soft_wrap=True)

    def line(self, text: str = "") -> None:
        # The last net for text from outside (apm_tui.printable), for a source of one's own.
        text = "\n".join(map(printable, text.split("\n")))
        self.console.print(text, soft_wrap=True, highlight=False, emoji=False)

    def field(self, label: str, value: str, style: str = "") -> None:
        shown = f"[{style}]{escape(value)}[/]" if style else escape(value)
        self.line(f"{escape(label + ':'):<{LABEL_WIDTH}}{shown}")

    def heading(self, text: str) -> None:
        self.line()
        self.line(f"[bold cyan]{escape(text)}[/]")
        self.line(SUBRULE)

    def step(self, text: str, done: Callable[[], str]) -> None:
        """A progress line of the seed's kind: the step, then its ✓ result."""
        self.line()
        self.line(escape(text))
        self.line(f"  [green]✓[/] {escape(done())}")


#: The endpoint table's name column at its widest (longer names end in "…").
MAX_NAME = 60


def print_report(a: Analysis, out: ReportPrinter, *, apdex_target: float) -> None:
    out.line(RULE)
    out.line("[bold]📊 APPLICATION PERFORMANCE MONITORING REPORT[/]")
    out.line(RULE)
    out.line(f"Window: {when(a.start)} – {when(a.end)} UTC")

    out.heading("⚡ PERFORMANCE METRICS")
    basis = {
        "requests": f"Latency over {a.requests_count:,} requests; percentiles are numpy 'linear'.",
        "samples": "Latency from per-interval averages (no request data); percentiles are "
        "numpy 'linear'.",
        "none": "No response-time data.",
    }[a.latency_basis]
    out.line(f"[dim]{basis}[/]")
    out.field("Average Response Time", number(a.latency.avg, ".2f", " ms"))
    out.field("P50 Response Time", number(a.latency.p50, ".2f", " ms"))
    out.field("P95 Response Time", number(a.latency.p95, ".2f", " ms"))
    out.field("P99 Response Time", number(a.latency.p99, ".2f", " ms"))
    rps = a.throughput_rps
    out.field("Average Throughput", number(rps, rate_spec(rps, ".2f"), " req/sec"))
    apdex_style = "green" if a.apdex.score >= apdex_target else "yellow"
    out.field(
        "Average Apdex Score",
        number(a.apdex.score, ".3f") + f" (T = {a.apdex.t_ms:g} ms, target {apdex_target:g})",
        apdex_style,
    )
    if a.endpoints:
        out.line()
        shown = a.endpoints[:12]
        # As wide as the longest name, up to a limit past which a name ends in "…": a name cut
        # bare (`/media/core/jquery/jquery-u`) reads as another path.
        width = min(max(len("Endpoint"), *(len(e.name) for e in shown)), MAX_NAME) + 1
        out.line(
            f"{'Endpoint':<{width}}{'Req':>7}{'P50':>8}{'P95':>8}{'P99':>8}{'Apdex':>7}"
            f"{'Err%':>7}{'Time%':>7}"
        )
        for e in shown:
            name = e.name if len(e.name) < width else e.name[: width - 2] + "…"
            out.line(
                escape(
                    f"{name:<{width}}{e.requests:>7}{number(e.p50_ms, '.0f'):>8}"
                    f"{number(e.p95_ms, '.0f'):>8}{number(e.p99_ms, '.0f'):>8}"
                    f"{number(e.apdex, '.2f'):>7}{number(e.error_rate_pct, '.1f'):>7}"
                    f"{number(e.time_share * 100, '.1f'):>7}"
                )
            )

    out.heading("💻 RESOURCE UTILIZATION")
    out.field("Average CPU Usage", number(a.cpu.avg, ".2f", "%"))
    out.field("Peak CPU Usage", number(a.cpu.peak, ".2f", "%"))
    out.field("Average Memory Usage", number(a.memory.avg, ".2f", "%"))
    out.field("Peak Memory Usage", number(a.memory.peak, ".2f", "%"))

    if a.custom_metrics:
        out.heading("📈 CUSTOM METRICS")
        for c in a.custom_metrics:
            out.field(
                c.name,
                f"avg {c.avg:,.2f}, peak {c.peak:,.2f}, last {c.last:,.2f}, "
                f"{c.trend} ({c.trend_per_hour:+,.2f}/h)",
            )

    out.heading("🔍 ANOMALIES & ERRORS")
    high = sum(1 for x in a.anomalies if x.severity == "HIGH")
    if a.anomaly_status == "ok":
        out.field(
            "Anomalies Detected",
            f"{len(a.anomalies)} (HIGH {high}, MEDIUM {len(a.anomalies) - high})",
        )
    else:
        out.field("Anomalies Detected", f"not run: {a.anomaly_status}")
    out.field("Error Rate", number(a.error_rate_pct, ".3f", "%"))
    out.field("Database Query Time (Avg)", number(a.db_query_ms, ".2f", " ms"))
    top = sorted(a.anomalies, key=lambda x: x.score, reverse=True)[:5]
    if top:
        out.line("Most anomalous samples:")
        for x in top:
            out.line(
                f"  {when(x.timestamp)}  [{SEVERITY_STYLE[x.severity]}]{x.severity:<6}[/] "
                f"score {x.score:.3f}  {escape(x.type)}"
            )

    out.heading("🚧 PERFORMANCE BOTTLENECKS")
    out.field("Total Bottlenecks Found", str(len(a.bottlenecks)))
    for i, b in enumerate(a.bottlenecks, 1):
        out.line()
        out.line(f"{i}. {escape(b.title)} [{SEVERITY_STYLE[b.severity]}]\\[{b.severity}][/]")
        out.line(f"   Location: {escape(b.location)}")
        out.line(f"   Avg Duration: {number(b.avg_duration_ms or math.nan, '.2f', ' ms')}")
        out.line(f"   Evidence: {escape(b.evidence)}")
        out.line(f"   Recommendation: {escape(b.recommendation)}")

    out.heading("🏥 APPLICATION HEALTH")
    out.field("Overall Health Score", number(a.health.score, ".2f", "/100"))
    out.field("Status", f"{STATUS_ICON[a.health.status]} {a.health.status}")
    for f in a.health.breakdown:
        out.line(f"   {f.points:+7.2f}  {escape(f.factor)}")

    out.heading("💡 OPTIMIZATION RECOMMENDATIONS")
    for priority in ("HIGH", "MEDIUM", "LOW"):
        recs = [r for r in a.recommendations if r.priority == priority]
        if not recs:
            continue
        out.line()
        out.line(f"[{SEVERITY_STYLE[priority]}]{PRIORITY_HEADING[priority]} ({len(recs)}):[/]")
        for r in recs:
            out.line(f"  • {escape(r.title)}")
            out.line(f"    Action: {escape(r.action)}")
            out.line(f"    Impact: {escape(r.impact)}")
            out.line(f"    Evidence: {escape(r.evidence)}")
    if not a.recommendations:
        out.line("No findings, so no recommendations.")
    out.line()
    out.line(RULE)


def print_summary(a: Analysis, out: ReportPrinter) -> None:
    out.line()
    out.line("[bold green]✅ APM analysis complete![/]")
    out.line()
    out.line("📊 SUMMARY:")
    out.line(f"  Metrics Collected: {a.metrics_count:,}")
    out.line(f"  Transactions Traced: {a.traces_count:,}")
    out.line(f"  Anomalies Detected: {len(a.anomalies):,}")
    out.line(f"  Bottlenecks Found: {len(a.bottlenecks):,}")
    out.line(f"  Health Score: {number(a.health.score, '.2f', '/100')}")
    out.line(f"  Recommendations: {len(a.recommendations):,}")
