"""Recording size by tick codec: an hour of the default world, only the ticks' compression changed.

Run: python bench/recording_codecs.py [--quick]. The issue's target is ≤ 2 MB for a 1-hour
recording, mostly its 3,600 tick payloads. The format keeps one committed row per tick (a killed
recording loses at most the tick being written) and each tick decodable alone or nearly, so each
scheme keeps one payload a tick; 60-tick blocks show only what that costs. Two recordings, in a
temporary folder: the measured hour (`record`, seed 42) and a training hour (seed 7, its clock
37 d 5 h 17 m 13 s later: no shared timestamp). For the measured ticks, each scheme gives their
payloads' bytes, the size of a real SQLite file rebuilt with them (as `Recorder` writes: a
committed transaction a tick, WAL, a checkpoint every 60, closed), the median µs to compress and
to decompress a tick, and the payloads inflated to reach a tick. Every payload is decoded and
checked equal to its input.
- a  today: zlib-6 with PACKED_ZDICT (checked to give the stored payloads byte for byte);
- b  the first tick of each minute (keyframe) as today, the others zlib-9 with the zdict
     PACKED_ZDICT + the keyframe's inflated bytes (the last 32 KiB: deflate's window);
- d  zlib-9 with a fixed 16 KiB zdict of training ticks;
- e  60-tick blocks, zlib-9 and xz 9e: ticks only, no file; times are a block's / 60;
- zk zstd-19: keyframes with a 32 KB dictionary trained on the training hour, the others with
     it + the keyframe's non-id bytes as raw content; lean frames. Only if `zstandard` imports
     (it is not a dependency of the project).
And `recording.lossless_floor` of the measured file. Writes bench/results/recording_codecs.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import lzma
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recording import ROOT, START, lossless_floor, record, split_ids

from apm_tui.payload_block import _Walk
from apm_tui.payload_header import PACKED_ZDICT
from apm_tui.recording import CHECKPOINT_EVERY, SCHEMA

RESULTS = ROOT / "bench" / "results" / "recording_codecs.json"
KF = 60  # a keyframe (and a block) every 60 ticks: the first tick of each minute
WINDOW = 32 * 1024  # deflate sees only this much of a zdict: its end
SHIFT = 37 * 86_400 + 5 * 3600 + 17 * 60 + 13  # not whole days: another time of day too
XZ: list[dict[str, Any]] = [
    # Preset 9's 64 MiB dictionary would allocate ≈ 670 MB for nothing: a block is < 1 MiB.
    {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 20}
]

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]  # (compress, decompress)
Run = tuple[list[bytes], list[int], list[int]]  # (payloads, ns to compress each, to decompress)


@dataclass
class Hour:
    """A recording's rows, as a rebuilt file needs them, and its ticks' payloads inflated."""

    meta: list[tuple[str, str]]
    strings: list[tuple[int, str]]
    history: list[tuple[float, bytes]]
    ticks: list[tuple[float, bytes]]
    raw: list[bytes] = field(default_factory=list)


def zlib_codec(level: int, zdict: bytes) -> Codec:
    def compress(data: bytes) -> bytes:
        packer = zlib.compressobj(level, zdict=zdict)
        return packer.compress(data) + packer.flush()

    def decompress(blob: bytes) -> bytes:
        inflater = zlib.decompressobj(zdict=zdict)
        out = inflater.decompress(blob) + inflater.flush()
        assert inflater.eof and not inflater.unused_data
        return out

    return compress, decompress


def zstd_codec(zstd: Any, level: int, dictionary: Any) -> Codec:
    # Lean frames: a row holds one tick of a known kind, so the magic number, the dictionary's
    # id and a checksum (SQLite has its own page checks) would be bytes for nothing.
    packer = zstd.ZstdCompressor(
        level=level, dict_data=dictionary, write_checksum=False, write_dict_id=False
    )
    unpacker = zstd.ZstdDecompressor(dict_data=dictionary, format=zstd.FORMAT_ZSTD1_MAGICLESS)
    return (lambda data: packer.compress(data)[4:]), unpacker.decompress  # [4:]: the magic


def load(path: Path) -> Hour:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT t, history, payload FROM ticks ORDER BY seq").fetchall()
    hour = Hour(
        meta=db.execute("SELECT key, value FROM meta").fetchall(),
        strings=db.execute("SELECT id, value FROM strings ORDER BY id").fetchall(),
        history=[(t, p) for t, h, p in rows if h],
        ticks=[(t, p) for t, h, p in rows if not h],
    )
    db.close()
    inflate = zlib_codec(6, PACKED_ZDICT)[1]
    for _, payload in hour.ticks:
        raw = inflate(payload)
        assert non_id(raw) == raw[:4] + split_ids(payload)[1]  # the ids are where it says
        hour.raw.append(raw)
    return hour


def non_id(raw: bytes) -> bytes:
    """A tick's inflated bytes less its random ids, which no dictionary predicts; found as
    `split_ids` finds them, but from bytes a reader has already inflated."""
    size = int.from_bytes(raw[:4], "little")
    walk = _Walk()
    walk.packed(raw[4 : 4 + size], 0, len(raw) - 4 - size)
    if not walk.hex_ids:
        return raw
    _, _, _, at, n = walk.hex_ids  # (section, lengths' offset, count, bytes' offset, size)
    return raw[: 4 + size + at] + raw[4 + size + at + n :]


def spread_dict(samples: list[bytes], size: int) -> bytes:
    """Whole training ticks, evenly spread over the hour, as many as fit in `size` bytes with
    PACKED_ZDICT after them: last is nearest, cheapest to refer to, and every tick has a header."""
    n, picked = len(samples), b""
    for k in range(1, n + 1):
        joined = b"".join(samples[(j * n) // k] for j in range(k))
        if len(joined) + len(PACKED_ZDICT) > size:
            break
        picked = joined
    return picked + PACKED_ZDICT


def per_tick(raw: list[bytes], key: Codec, minute: Callable[[bytes], Codec] | None) -> Run:
    """One payload a tick: keyframes with `key`, the minute's other ticks with the codec that
    `minute` makes from the keyframe's bytes (the writer's own, the reader's inflated), or with
    `key` too if None."""

    def code(side: int, items: list[bytes], costs: list[int]) -> list[bytes]:
        outs, codec = [], key
        for i, item in enumerate(items):
            t0 = time.perf_counter_ns()
            out = (key if i % KF == 0 else codec)[side](item)
            if i % KF == 0 and minute:
                codec = minute(out if side else item)
            costs.append(time.perf_counter_ns() - t0)
            outs.append(out)
        return outs

    compress_ns: list[int] = []
    decompress_ns: list[int] = []
    blobs = code(0, raw, compress_ns)
    assert code(1, blobs, decompress_ns) == raw, "a payload does not decode to its input"
    return blobs, compress_ns, decompress_ns


def file_size(path: Path, hour: Hour, blobs: list[bytes]) -> int:
    """The size of a recording of `hour` with `blobs` as its ticks' payloads, written as
    `Recorder` writes (its strings all go with the history row)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; {SCHEMA}")
    db.executemany("INSERT INTO meta VALUES (?, ?)", [m for m in hour.meta if m[0] != "ticks"])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    live = [(t, 0, p) for (t, _), p in zip(hour.ticks, blobs, strict=True)]
    for n, row in enumerate([(t, 1, p) for t, p in hour.history] + live, 1):
        db.execute("BEGIN")
        db.executemany("INSERT INTO strings VALUES (?, ?)", hour.strings if n == 1 else [])
        db.execute("INSERT INTO ticks (t, history, payload) VALUES (?, ?, ?)", row)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('ticks', ?)", (str(n),))
        db.execute("COMMIT")
        if row[1] or n % CHECKPOINT_EVERY == 0:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.executescript("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE")
    db.close()
    size = path.stat().st_size
    path.unlink()
    return size


def collect(quick: bool) -> dict[str, Any]:
    ticks = 600 if quick else 3600
    try:  # not a dependency of the project: imported by name, so mypy need not find it
        zstd: Any = importlib.import_module("zstandard")
    except ImportError:
        zstd = None
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        record(folder / "hour.apmrec", ticks)
        # Another world (seed 7) at another time: a trained dictionary shares no timestamp.
        record(folder / "training.apmrec", ticks, start=START + SHIFT, seed=7)
        hour, training = load(folder / "hour.apmrec"), load(folder / "training.apmrec")
        today = zlib_codec(6, PACKED_ZDICT)
        fixed = zlib_codec(9, spread_dict([non_id(r) for r in training.raw], 16 * 1024))
        minutes = [b"".join(hour.raw[i : i + KF]) for i in range(0, ticks, KF)]  # the blocks
        schemes: list[tuple[str, str, Callable[[], Run]]] = [
            ("a  today: zlib-6, PACKED_ZDICT", "1", lambda: per_tick(hour.raw, today, None)),
            ("b  zlib-9, PACKED_ZDICT + keyframe", "≤ 2", lambda: per_tick(
                hour.raw, today, lambda kf: zlib_codec(9, (PACKED_ZDICT + kf)[-WINDOW:]))),
            ("d  zlib-9, fixed 16 KiB training zdict", "1", lambda: per_tick(
                hour.raw, fixed, None)),
            ("e  60-tick blocks, zlib-9", "1 block of 60", lambda: per_tick(
                minutes, (lambda b: zlib.compress(b, 9), zlib.decompress), None)),
            ("e  60-tick blocks, xz 9e", "1 block of 60", lambda: per_tick(
                minutes, (lambda b: lzma.compress(b, filters=XZ), lzma.decompress), None)),
        ]  # fmt: skip
        if zstd is not None:
            trained = zstd.train_dictionary(32768, training.raw, level=19, threads=1).as_bytes()
            raw_content = zstd.DICT_TYPE_RAWCONTENT
            schemes.append(("zk zstd-19, trained 32 KB + keyframe, lean", "≤ 2", lambda: per_tick(
                hour.raw, zstd_codec(zstd, 19, zstd.ZstdCompressionDict(trained)),
                lambda kf: zstd_codec(zstd, 19, zstd.ZstdCompressionDict(
                    trained + non_id(kf), dict_type=raw_content)))))  # fmt: skip
        rows = []
        for scheme, decodes, measure in schemes:
            blobs, compress_ns, decompress_ns = measure()
            if scheme.startswith("a "):
                assert blobs == [p for _, p in hour.ticks], "today's codec differs"
            per = KF if scheme.startswith("e ") else 1  # a block's times, per tick
            rows.append({
                "scheme": scheme,
                "ticks_mb": sum(map(len, blobs)) / 1e6,
                "file_mb": None if per > 1 else file_size(folder / "x", hour, blobs) / 1e6,
                "compress_us": statistics.median(compress_ns) / per / 1e3,
                "decompress_us": statistics.median(decompress_ns) / per / 1e3,
                "decodes_to_reach_a_tick": decodes,
                "decompress_us_per_payload": statistics.median(decompress_ns) / 1e3,
            })  # fmt: skip
        return {
            "ticks": ticks,
            "zstandard": getattr(zstd, "__version__", None),
            "recorded_file_mb": (folder / "hour.apmrec").stat().st_size / 1e6,
            "history_payload_mb": sum(len(p) for _, p in hour.history) / 1e6,
            "schemes": rows,
            **lossless_floor(folder / "hour.apmrec"),
        }


def print_table(out: dict[str, Any]) -> None:
    print(f"{'scheme':42} {'ticks MB':>8} {'file MB':>8} {'compress µs':>12} "
          f"{'decompress µs':>14}  decodes to reach a tick")  # fmt: skip
    for r in out["schemes"]:
        file_mb = "—" if r["file_mb"] is None else f"{r['file_mb']:.3f}"
        print(f"{r['scheme']:42} {r['ticks_mb']:8.3f} {file_mb:>8} {r['compress_us']:12.1f} "
              f"{r['decompress_us']:14.1f}  {r['decodes_to_reach_a_tick']}")  # fmt: skip
    if out["zstandard"] is None:
        print("zk skipped: zstandard is not installed (it is not a dependency of apm-tui)")
    print(f"{out['ticks']} ticks; recorded file {out['recorded_file_mb']:.3f} MB, its history "
          f"row {out['history_payload_mb']:.3f} MB; lossless floor (every row, history too) "
          f"{out['lossless_floor_mb_est']:.3f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 ticks, not 3,600")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON file to write")
    args = parser.parse_args()
    out = collect(args.quick)
    print_table(out)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
