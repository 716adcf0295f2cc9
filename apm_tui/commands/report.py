"""`apm-tui report`: collect a source's data, analyse it, print the seed's report or JSON.

With `--png FILE` it also draws the dashboard over the same data (`report_png`): the text
report still prints (a cron job mails both), with a progress line naming the picture before
the report proper; with `--json` the document gains a "png" entry and nothing else changes.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from rich.markup import escape

from apm_tui.analysis.result import Analysis
from apm_tui.commands import report_png, say_notices
from apm_tui.commands.report_png import DEFAULT_SIZE
from apm_tui.config import Thresholds
from apm_tui.model import Batch, Table
from apm_tui.report import ReportPrinter, print_report, print_summary, to_json
from apm_tui.sources.base import Source, SourceError
from apm_tui.sources.checked import BadBatch
from apm_tui.words import counted


def collect(source: Source) -> Batch:
    """The source's history, plus one poll so a source without history still reports."""
    try:
        source.open()
        try:
            history = source.backfill()
            now = source.poll(time.time()) if not history else Batch()
            finish = getattr(source, "finish", None)  # sources whose last sample waits
            rest = finish() if callable(finish) else Batch()
        finally:
            source.close()
    except BadBatch as exc:  # said without the source's name, which the dashboard puts first
        raise SourceError(f"source {source.name!r}: {exc}") from None
    except SourceError:
        raise
    except Exception as exc:  # a user's source: its failure is reported, not a traceback
        raise SourceError(f"source {source.name!r} failed: {type(exc).__name__}: {exc}") from None
    return Batch(
        metrics=Table.concat([history.metrics, now.metrics, rest.metrics]),
        spans=Table.concat([history.spans, now.spans]),
        status={**history.status, **now.status},
    )


def say_log_counts(batch: Batch) -> None:
    """Each access log's lines, parsed and rejected, on stderr (stdout stays the report)."""
    log = batch.status.get("log")
    for f in log.get("files", []) if isinstance(log, dict) else []:
        reasons = ", ".join(
            # (Reason first: "3 lines does not match the format" read wrongly.)
            f"{why}: {counted(n, 'line')}"
            for why, n in f.get("rejected_by_reason", {}).items()
        )
        print(
            f"{f['path']}: {f['format'] or 'format not detected'}, {counted(f['lines'], 'line')}, "
            f"{counted(f['parsed'], 'request')}, "
            + (f"{counted(f['messages'], 'server message')}, " if f.get("messages") else "")
            + f"{f['rejected']:,} rejected"
            + (f" ({reasons})" if reasons else "")
            + ("; no times in this format" if f.get("times_missing") else ""),
            file=sys.stderr,
        )


def read(source: Source) -> Batch:
    """The source's data, with what it said while it was read on stderr."""
    batch = collect(source)
    say_log_counts(batch)
    say_notices(batch)
    return batch


def run(args: argparse.Namespace, th: Thresholds, source: Source) -> int:
    from apm_tui.analysis.full import analyse

    png: str | None = getattr(args, "png", None)
    size: tuple[int, int] = getattr(args, "size", None) or DEFAULT_SIZE
    if png:
        report_png.check_target(png)
    if args.json:
        batch = read(source)
        analysis = analyse(batch.metrics, batch.spans, th)
        extra: dict[str, object] = {"source": source.name, "thresholds": _thresholds(th)}
        if "log" in batch.status:
            extra["log"] = batch.status["log"]
        if png:
            pixels = report_png.save(batch, analysis, th, source.name, png, size)
            extra["png"] = {"file": png, "cells": list(size), "pixels": list(pixels)}
        print(to_json(analysis, extra))
        return verdict(analysis, getattr(args, "fail_under", None))

    # Read before the first line: a source that fails is one line, not half a report.
    batch = read(source)
    out = ReportPrinter()
    verb = "Generated" if source.name == "synthetic" else "Collected"
    out.line("[bold]📊 Real-Time Application Performance Monitoring System[/]")
    out.line("=" * 80)
    out.line()
    out.line(
        "📊 Generating application performance metrics..."
        if verb == "Generated"
        else f"📊 Collecting data from source {source.name!r}..."
    )
    out.line(f"  [green]✓[/] {verb} {len(batch.metrics):,} metric data points")
    out.line()
    out.line(
        "🔍 Generating transaction traces..."
        if verb == "Generated"
        else "🔍 Reading transaction traces..."
    )
    traces = len(set(batch.spans["trace_id"])) if len(batch.spans) else 0
    out.line(f"  [green]✓[/] {verb} {traces:,} transaction traces ({len(batch.spans):,} spans)")
    out.line()
    out.line("🤖 Detecting performance anomalies, bottlenecks and health...")
    a = analyse(batch.metrics, batch.spans, th)
    out.line(f"  [green]✓[/] Detected {len(a.anomalies)} performance anomalies")
    out.line(f"  [green]✓[/] Identified {len(a.bottlenecks)} bottlenecks")
    out.line(f"  [green]✓[/] Generated {len(a.recommendations)} recommendations")
    health = f"{a.health.score:.2f}/100" if a.health.status != "UNKNOWN" else "n/a (no data)"
    out.line(f"  [green]✓[/] Health Score: {health}")
    out.line()
    if png:
        # Before the report, so a picture that cannot be written stops it with one line.
        out.line("🖼️  Drawing the dashboard...")
        w, h = report_png.save(batch, a, th, source.name, png, size)
        out.line(f"  [green]✓[/] Saved {escape(png)} ({size[0]}×{size[1]} cells, {w}×{h} pixels)")
        out.line()
    print_report(a, out, apdex_target=th.apdex_target)
    print_summary(a, out)
    sys.stdout.flush()
    return verdict(a, getattr(args, "fail_under", None))


#: `--fail-under`: the health is under the bar, or there was nothing to score (2 is bad input).
EXIT_UNHEALTHY = 1


def verdict(analysis: Analysis, fail_under: float | None) -> int:
    """The exit status of `report`; under `--fail-under`, one line on stderr says why."""
    if fail_under is None:
        return 0
    health = analysis.health
    if health.status == "UNKNOWN" or not math.isfinite(health.score):
        print("apm-tui: no data to score the health (--fail-under)", file=sys.stderr)
        return EXIT_UNHEALTHY
    if health.score < fail_under:
        print(
            f"apm-tui: health {health.score:.1f} ({health.status}) is under "
            f"--fail-under {fail_under:g}",
            file=sys.stderr,
        )
        return EXIT_UNHEALTHY
    return 0


def _thresholds(th: Thresholds) -> dict[str, float]:
    from dataclasses import asdict

    return asdict(th)
