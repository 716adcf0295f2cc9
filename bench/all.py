"""Every benchmark, one table, one JSON: `python bench/all.py [--quick]`.

Runs, in this order: the dashboard's own cost beside glances and a minimal Textual app
(bench/dashboard.py), `apm-tui report`'s speed (bench/report_speed.py), the chart renderer
beside plotext (bench/charts.py), the detector on NAB's labelled series (bench/nab.py),
recordings' size and speed (bench/recording.py), a 200×60 PNG screenshot (bench/png.py),
OTLP span ingest (bench/otlp.py) and reading an nginx access log beside GoAccess
(bench/logs.py; without goaccess on PATH its column stays empty).
Prints one table (figure, apm-tui, peer, ratio, target, met) and writes every figure to
bench/results/all.json. `--quick` (CI, ≈ 2½ minutes) uses small sizes and short windows so the
benchmarks never rot; the README's figures come from the full mode, run by hand.
Needs tmux; glances and plotext are installed with pip when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import charts
import dashboard
import logs
import nab
import otlp
import png
import recording
import report_speed
from dashboard import Row, fmt, print_table, ratio, step, verdict

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "all.json"
RCF = nab.PUBLISHED["Random Cut Forest"]
BLANK4 = ("", "", "", "")


def report_rows(report: dict[str, dict[str, float]]) -> list[Row]:
    rows: list[Row] = []
    for world, r in report.items():
        rows.append((f"report wall, {world} (s)", fmt(r["report_wall_s"]), "", "", "", ""))
        rows.append((f"  analysis after imports, {world} (s)", fmt(r["analyse_s"]), *BLANK4))
    return rows


def chart_rows(out: dict[str, Any]) -> list[Row]:
    return [
        (
            f"one chart {r['size']}, plotext build+parse / ours (ms)",
            fmt(r["ours_ms"]),
            fmt(r["plotext_build_ms"] + r["plotext_parse_ms"]),
            ratio(r["ours_ms"], r["plotext_build_ms"] + r["plotext_parse_ms"]),
            "",
            "",
        )
        for r in out["rows"]
    ]


def nab_rows(out: dict[str, Any]) -> list[Row]:
    files = f"{out['files']} NAB files"
    score = out["score"]
    full = out["mode"] == "full"
    return [
        (
            f"NAB standard score, {files} (peer: RCF, published)",
            fmt(score, ".1f"),
            fmt(RCF, ".1f") if full else "—",
            "",
            "> RCF" if full else "",
            verdict(score > RCF) if full else "",
        ),
        ("  same-rate random detector", fmt(out["random_same_rate"], ".1f"), *BLANK4),
        (
            "  windows found / false positives",
            f"{out['windows_detected']}/{out['windows']} / {out['false_positives']}",
            *BLANK4,
        ),
        (
            "  rows flagged, mean / worst file (%)",
            f"{out['flag_rate_pct']:.2f} / {out['max_file_flag_rate_pct']:.2f}",
            "",
            "",
            "≤ 5",
            verdict(out["max_file_flag_rate_pct"] <= 5.0),
        ),
    ]


def recording_rows(out: dict[str, Any]) -> list[Row]:
    hour, per_tick = out["one_hour_file_mb_est"], out["append_ms_p95"]
    seek, busy = out["open_and_seek_ms_p50"], out["being_written_open_and_seek_ms_p50"]
    day = f"{out['day_ticks'] / 3600:.0f} h"
    return [
        ("recording: append per tick, P95 (ms)", fmt(per_tick), "", "", "≤ 2",
         verdict(per_tick <= 2)),
        ("recording: one hour, est. (MB)", fmt(hour, ".1f"), "", "", "≤ 2", verdict(hour <= 2)),
        (f"recording: open a {day} file and seek (ms)", fmt(seek), "", "", "≤ 100",
         verdict(seek <= 100)),
        ("  the same, still being written (ms)", fmt(busy), "", "", "≤ 100",
         verdict(busy <= 100)),
    ]  # fmt: skip


def png_rows(out: dict[str, Any]) -> list[Row]:
    total = out["total_ms_p50"]
    return [
        (f"PNG {out['size']}: render + encode, P50 (ms)", fmt(total), "", "",
         f"≤ {out['target_ms']:.0f}", verdict(total <= out["target_ms"])),
        ("  grab on the UI thread (ms)", fmt(out["grab_ms"]), *BLANK4),
    ]  # fmt: skip


def otlp_rows(out: dict[str, Any]) -> list[Row]:
    d, e2e, target = out["decode"], out["end_to_end"], out["target_spans_s"]
    return [
        (
            f"OTLP/JSON decode, {out['traces']} traces × {out['spans_per_trace']} (spans/s)",
            fmt(d["json_spans_s"], ",.0f"),
            "",
            "",
            f"≥ {target:,}",
            verdict(d["json_spans_s"] >= target),
        ),
        (
            "  best run / per CPU second (spans/s; the cores are shared)",
            f"{d['json_best_spans_s']:,.0f} / {d['json_cpu_spans_s']:,.0f}",
            *BLANK4,
        ),
        ("  OTLP protobuf decode (spans/s)", fmt(d["protobuf_spans_s"], ",.0f"), *BLANK4),
        (
            "  OTLP/JSON over HTTP, end to end (spans/s)",
            fmt(e2e["json"]["spans_s"], ",.0f"),
            "",
            "",
            f"≥ {target:,}",
            verdict(e2e["json"]["spans_s"] >= target),
        ),
        ("  OTLP protobuf over HTTP (spans/s)", fmt(e2e["protobuf"]["spans_s"], ",.0f"),
         *BLANK4),
    ]  # fmt: skip


def log_rows(out: dict[str, Any]) -> list[Row]:
    full = out["lines"] >= 1_000_000
    rate, peer = out["ours_lines_per_s"], out["goaccess_lines_per_s"]
    ratio_ok = None if out["ratio"] is None else out["ratio"] >= logs.TARGET_RATIO
    return [
        (
            f"access log → requests, {out['lines']:,} nginx lines (lines/s; peer: GoAccess)",
            fmt(rate, ",.0f"),
            fmt(peer, ",.0f"),
            ratio(rate, peer),
            "≥ 300,000, ≥ 3×" if full else "",
            verdict(rate >= logs.TARGET_LINES_PER_S and ratio_ok is not False) if full else "",
        ),
        ("  in one process (lines/s)", fmt(out["one_process_lines_per_s"], ",.0f"), "",
         ratio(out["one_process_lines_per_s"], peer), "", ""),
        ("  spans Table per request (bytes)", fmt(out["table_bytes_per_request"], ".0f"), *BLANK4),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short windows (CI)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out: dict[str, Any] = {"mode": "quick" if args.quick else "full", "date": started}
    out["dashboard"] = dashboard.collect(args.quick)
    out["report"] = step("report speed", lambda: report_speed.collect(args.quick))
    out["charts"] = step("charts", lambda: charts.collect(args.quick))
    out["nab"] = step("NAB", lambda: nab.collect(quick=args.quick))
    out["recording"] = step("recording", lambda: recording.collect(args.quick))
    out["png"] = step("PNG", lambda: png.collect(args.quick))
    out["otlp"] = step("OTLP ingest", lambda: otlp.collect(args.quick))
    out["logs"] = step("access log", lambda: logs.collect(args.quick))
    out["loadavg_end"] = os.getloadavg()
    rows = [
        *dashboard.table(out["dashboard"]),
        *report_rows(out["report"]),
        *chart_rows(out["charts"]),
        *nab_rows(out["nab"]),
        *recording_rows(out["recording"]),
        *png_rows(out["png"]),
        *otlp_rows(out["otlp"]),
        *log_rows(out["logs"]),
    ]
    print_table(rows, peer="peer")
    env = out["dashboard"]["environment"]
    print(f"{started}  nproc {env['nproc']}  load {env['loadavg_start']} → {out['loadavg_end']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
