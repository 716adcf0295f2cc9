"""Recording size and speed: an hour of the default synthetic world, and seeking in a day.

Run: python bench/recording.py [--quick]. Polls the dashboard's default synthetic source (speed
60, one tick a second) with a fake clock — no waiting — and records every tick with
`apm_tui.recording.Recorder`, as `--record` does: the file's size after one hour of ticks (and
its history, which is the sources' 24 h backfill), the time `append` takes per tick (median,
P95), then for a 24-hour recording the time to open it and seek to a moment (median of 20
random moments), and the time to open it cut in half (read off its pages; no target). Targets
from the issue:
≤ 2 ms per tick, ≤ 2 MB per hour, ≤ 100 ms to open and seek. Writes bench/results/recording.json.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "recording.json"

from apm_tui.commands.dashboard import DashboardOptions, make_sources  # noqa: E402
from apm_tui.engine import merge_tick  # noqa: E402
from apm_tui.model import newest_time  # noqa: E402
from apm_tui.payload import split_payload  # noqa: E402
from apm_tui.payload_block import _Walk  # noqa: E402
from apm_tui.payload_header import PACKED_ZDICT  # noqa: E402
from apm_tui.recording import Recorder, Recording  # noqa: E402

START = 1767225600.0


def record(path: Path, ticks: int, *, start: float = START, seed: int = 42) -> list[float]:
    """The default world (seed 42) recorded tick by tick from `start`, a day after its
    history: the seconds each append took."""
    sources, _, _ = make_sources(DashboardOptions(start=start, seed=seed))
    rec = Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0)
    for s in sources:
        s.open()
        history = s.backfill()
        rec.append(newest_time(history), history, history=True)
    costs = []
    now = start + 86_400
    for _ in range(ticks):
        now += 1.0
        for batch in merge_tick([s.poll(now) for s in sources]):
            t0 = time.perf_counter()
            rec.append(now, batch)
            costs.append(time.perf_counter() - t0)
    rec.close()
    return costs


def split_ids(payload: bytes) -> tuple[bytes, bytes]:
    """(the payload's random id bytes, everything else inflated: header and columns). Where
    the id bytes lie comes from the block decoder's own walk of the payload's layout."""
    head, view = split_payload(payload, PACKED_ZDICT)
    body = bytes(view)
    walk = _Walk()
    walk.packed(head, 0, len(body))
    if not walk.hex_ids:
        return b"", head + body
    _, _, _, at, size = walk.hex_ids  # (section, lengths' offset, count, bytes' offset, size)
    return body[at : at + size], head + body[:at] + body[at + size :]


def lossless_floor(path: Path) -> dict[str, float]:
    """How small any lossless recording of this file's data could be, roughly: its random ids
    (which do not compress: lzma is shown beside them) plus everything else compressed as ONE
    stream with lzma's strongest setting — no rows, no per-tick restart, no SQLite, so an
    optimistic bound for a format that commits every tick."""
    rec = Recording.open(path)
    ids, rest = [], []
    for (payload,) in rec.db.execute("SELECT payload FROM ticks ORDER BY seq"):
        a, b = split_ids(payload)
        ids.append(a)
        rest.append(b)
    rec.close()
    id_bytes, rest_bytes = b"".join(ids), b"".join(rest)
    strongest = 9 | lzma.PRESET_EXTREME
    floor = len(id_bytes) + len(lzma.compress(rest_bytes, preset=strongest))
    return {
        "random_id_mb": len(id_bytes) / 1e6,
        "random_id_lzma_mb": len(lzma.compress(id_bytes, preset=strongest)) / 1e6,
        "rest_one_stream_lzma_mb": (floor - len(id_bytes)) / 1e6,
        "lossless_floor_mb_est": floor / 1e6,
    }


def collect(quick: bool = False) -> dict[str, Any]:
    hour = 600 if quick else 3600
    day = 3600 if quick else 86_400
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hour.apmrec"
        costs = record(path, hour)
        size = path.stat().st_size
        rec = Recording.open(path)
        history_bytes = sum(len(p) for (p,) in rec.db.execute(
            "SELECT payload FROM ticks WHERE history = 1"))  # fmt: skip
        tick_bytes = sum(len(p) for (p,) in rec.db.execute(
            "SELECT payload FROM ticks WHERE history = 0"))  # fmt: skip
        rec.close()
        floor = lossless_floor(path)
        day_path = Path(folder) / "day.apmrec"
        record(day_path, day)
        seeks = open_and_seek(day_path, day)
        busy = open_and_seek_being_written(day_path, day)
        cut = cut_open(day_path, Path(folder) / "cut.apmrec")
    return {
        "ticks": hour,
        "file_mb": size / 1e6,
        "history_payload_mb": history_bytes / 1e6,
        "tick_payloads_mb_per_hour": tick_bytes / 1e6 * 3600 / hour,
        "one_hour_file_mb_est": (size - tick_bytes) / 1e6 + tick_bytes / 1e6 * 3600 / hour,
        **floor,
        "append_ms_p50": statistics.median(costs) * 1e3,
        "append_ms_p95": float(np.percentile(costs, 95)) * 1e3,
        "day_ticks": day,
        "open_and_seek_ms_p50": statistics.median(seeks) * 1e3,
        "open_and_seek_ms_max": max(seeks) * 1e3,
        "being_written_open_and_seek_ms_p50": statistics.median(busy) * 1e3,
        "being_written_open_and_seek_ms_max": max(busy) * 1e3,
        **cut,
    }


def open_and_seek(path: Path, seconds: int, runs: int = 20) -> list[float]:
    """Seconds to open the recording and read the tick at each of `runs` moments."""
    rng = np.random.default_rng(0)
    seeks = []
    for moment in rng.uniform(0, seconds, runs):
        t0 = time.perf_counter()
        r = Recording.open(path)
        first, _ = r.span()
        seq = r.seek(first + float(moment))
        tick = next(r.ticks(since=first + float(moment) - 1), None)
        seeks.append(time.perf_counter() - t0)
        r.close()
        assert seq is not None and tick is not None
    return seeks


def open_and_seek_being_written(path: Path, seconds: int) -> list[float]:
    """`open_and_seek` while a writer holds the file with a tick in its `-wal` (a recording
    still being made, or one whose recorder was killed): opening reads a private copy."""
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        t, payload = writer.execute(
            "SELECT t, payload FROM ticks ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        writer.execute("INSERT INTO ticks (t, history, payload) VALUES (?, 0, ?)", (t + 1, payload))
        assert path.with_name(path.name + "-wal").exists()
        return open_and_seek(path, seconds, runs=10)
    finally:
        writer.execute("DELETE FROM ticks WHERE seq = (SELECT max(seq) FROM ticks)")
        writer.close()


def cut_open(path: Path, cut: Path) -> dict[str, float]:
    """The 24-hour file cut in half (a copy interrupted): the time to open it, which reads the
    ticks off its pages (`apm_tui.salvage`), and the share of its ticks that come back."""
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    del data
    t0 = time.perf_counter()
    rec = Recording.open(cut)
    opened = time.perf_counter() - t0
    read = sum(1 for _ in rec.raw_ticks())
    total = read + rec.lost
    rec.close()
    return {"cut_day_open_s": opened, "cut_day_ticks_read_pct": 100.0 * read / max(total, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="10 minutes and 1 hour, not 1 h / 24 h"
    )
    args = parser.parse_args()
    out = collect(args.quick)
    for key, value in out.items():
        print(f"{key:24} {value:10.2f}" if isinstance(value, float) else f"{key:24} {value:10}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
