"""The quick benchmark runs in CI, so the benchmarks never rot: every figure must come out."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="the dashboard bench needs tmux")
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "all.py"), "--quick", "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "figure" in done.stdout and "NAB standard score" in done.stdout  # the one table
    figures = json.loads(out.read_text())
    assert figures["mode"] == "quick"
    dash = figures["dashboard"]
    frame = dash["first_frame"]
    for key in ("frame_s", "textual_s", "data_s", "analysis_s", "minimal_textual_frame_s"):
        assert finite(frame[key]) and frame[key] > 0, key
    assert frame["frame_s"] <= frame["textual_s"] < frame["data_s"] < frame["analysis_s"]
    assert [t["size"] for t in dash["ticks"]] == ["120x40", "200x60", "200x60 replay ×64"]
    for run in dash["ticks"]:
        assert finite(run["tick"]["p50_ms"]) and run["tick"]["p95_ms"] >= run["tick"]["p50_ms"]
    for program in ("apm-tui", "apm-tui --source system", "glances -t 1"):
        term = dash["terminal"][program]
        for key in ("cpu_pct", "rss_mb", "bytes_per_s"):
            assert finite(term[key]) and term[key] > 0, (program, key)
    assert finite(dash["soak"]["rss_growth_mb"])
    assert finite(figures["report"]["1 day"]["report_wall_s"])
    assert finite(figures["report"]["1 day"]["analyse_s"])
    for row in figures["charts"]["rows"]:
        assert finite(row["ours_ms"]) and finite(row["plotext_build_ms"])
    nab = figures["nab"]
    assert nab["files"] == 3 and finite(nab["score"]) and len(nab["per_file"]) == 3
    assert 0 <= nab["flag_rate_pct"] <= 5
    log = figures["logs"]
    assert log["lines"] == log["lines_read"] == 100_000 and log["rejected"] == 0
    for key in ("ours_lines_per_s", "one_process_lines_per_s", "table_bytes_per_request"):
        assert finite(log[key]) and log[key] > 0, key
    if shutil.which("goaccess"):
        assert finite(log["ratio"]) and log["goaccess_valid_requests"] == 100_000
    rec = figures["recording"]
    for key in (
        "file_mb",
        "append_ms_p95",
        "open_and_seek_ms_p50",
        "being_written_open_and_seek_ms_p50",
        "one_hour_file_mb_est",
    ):
        assert finite(rec[key]) and rec[key] > 0, key
    # The floor: random ids do not compress, and the floor is below what the file takes.
    assert rec["random_id_lzma_mb"] >= 0.99 * rec["random_id_mb"] > 0
    assert rec["random_id_mb"] < rec["lossless_floor_mb_est"] < rec["file_mb"]
    assert finite(rec["cut_day_open_s"]) and 30 < rec["cut_day_ticks_read_pct"] < 50
    png = figures["png"]
    assert png["size"] == "200x60" and png["pixels"] == [2000, 1200]
    for key in ("grab_ms", "render_ms_p50", "encode_ms_p50", "total_ms_p50"):
        assert finite(png[key]) and png[key] > 0, key
    otlp = figures["otlp"]
    for key in ("json_spans_s", "json_gzip_spans_s", "protobuf_spans_s"):
        assert finite(otlp["decode"][key]) and otlp["decode"][key] > 0, key
    for run in otlp["end_to_end"].values():
        assert run["spans"] == otlp["traces"] * otlp["spans_per_trace"] and run["spans_s"] > 0


def test_recording_codecs_bench_is_lossless_and_ranks_the_schemes(tmp_path: Path) -> None:
    """bench/recording_codecs.py (the other tick codecs measured against the 2 MB target):
    today's codec rebuilds the very file recorded, and every scheme is checked lossless."""
    out = tmp_path / "codecs.json"
    bench = ROOT / "bench" / "recording_codecs.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick", "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(out.read_text())
    schemes = {row["scheme"].split()[0]: row for row in figures["schemes"]}
    assert {"a", "b", "d", "e"} <= set(schemes)
    today = schemes["a"]
    assert today["file_mb"] == figures["recorded_file_mb"]  # the rebuilt file is the recorded one
    # A dictionary from the same minute, or one from training ticks, can only help deflate.
    assert schemes["b"]["ticks_mb"] < today["ticks_mb"]
    assert schemes["d"]["ticks_mb"] < today["ticks_mb"]
    assert figures["random_id_mb"] < figures["lossless_floor_mb_est"] < today["file_mb"]
