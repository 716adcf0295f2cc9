"""Recordings: round trip, crash safety, every bad file, and the headless `record` command."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apm_tui.analysis.full import analyse
from apm_tui.errors import RecordingError
from apm_tui.model import Batch, MetricSample, Span
from apm_tui.payload import (
    ZDICT,
    Strings,
    decode_batch,
    encode_batch,
    pack_floats,
    unpack_floats,
)
from apm_tui.payload_block import decode_joined
from apm_tui.recording import SCHEMA_VERSION, Recorder, Recording
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
from tests.conftest import WORLD_START
from tests.unit.test_payload_block import assert_identical

ROOT = Path(__file__).resolve().parents[2]


def tables_equal(a: Batch, b: Batch) -> None:
    assert a.metrics.names == b.metrics.names and a.spans.names == b.spans.names
    for name in a.metrics.names:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
    for name in a.spans.names:
        if a.spans[name].dtype.kind == "f":
            np.testing.assert_array_equal(a.spans[name], b.spans[name], err_msg=name)
        else:
            assert list(a.spans[name]) == list(b.spans[name]), name


def world_batch() -> Batch:
    return SyntheticSource(WorldSettings(hours=2, traces=80, start=WORLD_START)).backfill()


def roundtrip(batch: Batch, table: dict[str, int] | None = None) -> Batch:
    """Encode and decode with a string table, as a recording does: in schema 3, checked to
    give exactly what schema 2 (its JSON header) gives."""
    table = {} if table is None else table

    def intern(text: str) -> int:
        return table.setdefault(text, len(table))

    packed = encode_batch(batch, intern)
    old = decode_batch(encode_batch(batch, intern, schema=2), list(table))
    new = decode_joined([packed], Strings(list(table)), 3)
    assert_identical(new, old)
    return new


def test_a_batch_survives_encoding_exactly() -> None:
    batch = world_batch()
    batch = Batch(batch.metrics, batch.spans, {"top": [{"name": "x", "cpu": 1.5}], "n": 3})
    back = roundtrip(batch)
    tables_equal(batch, back)
    assert back.status == {"top": [{"name": "x", "cpu": 1.5}], "n": 3}
    empty = roundtrip(Batch())
    assert len(empty.metrics) == 0 and len(empty.spans) == 0
    nan = Batch.of(samples=[MetricSample(timestamp=1.0, cpu_pct=float("nan"))])
    assert np.isnan(roundtrip(nan).metrics["cpu_pct"][0])


def record(path: Path, batches: list[Batch], history: Batch | None = None) -> None:
    rec = Recorder(path, sources=["synthetic"], settings={"seed": 42}, interval_s=1.0)
    if history is not None:
        rec.append(0.0, history, history=True)
    for i, b in enumerate(batches):
        rec.append(100.0 + i, b)
    rec.close()


def test_round_trip_and_the_same_analysis(tmp_path: Path) -> None:
    batch = world_batch()
    n = len(batch.metrics)
    parts = [batch.metrics.take(slice(i, i + 10)) for i in range(0, n, 10)]
    batches = [Batch(metrics=p) for p in parts]
    batches[0] = Batch(metrics=parts[0], spans=batch.spans)
    path = tmp_path / "s.apmrec"
    record(path, batches)
    rec = Recording.open(path)
    ticks = list(rec.ticks())
    assert len(ticks) == len(batches) and rec.lost == 0
    assert [t.t for t in ticks] == [100.0 + i for i in range(len(batches))]
    assert rec.sources == ["synthetic"] and rec.interval_s == 1.0
    assert rec.meta["schema_version"] == str(SCHEMA_VERSION)
    from apm_tui.sources.recorded import RecordedSource

    replayed = RecordedSource(path).backfill()
    before = analyse(batch.metrics, batch.spans)
    after = analyse(replayed.metrics, replayed.spans)
    assert after.health.score == before.health.score
    assert [b.title for b in after.bottlenecks] == [b.title for b in before.bottlenecks]
    assert after.latency.p95 == before.latency.p95


def test_seek_finds_the_tick_at_or_before_a_time(tmp_path: Path) -> None:
    path = tmp_path / "s.apmrec"
    one = Batch.of(samples=[MetricSample(timestamp=5.0, cpu_pct=1.0)])
    record(path, [one] * 50, history=one)
    rec = Recording.open(path)
    assert rec.span() == (100.0, 149.0)
    assert rec.seek(99.0) is None
    seq = rec.seek(120.5)
    assert seq is not None and [t.t for t in rec.ticks() if t.seq == seq] == [120.0]


def test_kill_9_while_recording_loses_at_most_the_tick_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "killed.apmrec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(path), "--interval", "0.1"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists():
            try:
                with sqlite3.connect(path) as db:
                    if db.execute("SELECT count(*) FROM ticks").fetchone()[0] >= 20:
                        break
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    beside = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    assert "killed.apmrec-wal" in beside  # its last ticks are there
    rec = Recording.open(path)
    ticks = list(rec.ticks())
    assert len(ticks) >= 20 and rec.lost == 0
    assert ticks[0].history and not ticks[-1].history
    rec.close()
    # Read, not changed: SQLite opening the file itself folded the -wal into it.
    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == beside
    # Copied without its -wal (a server's file taken to a laptop): still a recording, with
    # its history (a checkpoint follows it) — it read as "not an apm-tui recording".
    alone = tmp_path / "copy" / "killed.apmrec"
    alone.parent.mkdir()
    alone.write_bytes(beside["killed.apmrec"])
    assert next(Recording.open(alone).ticks()).history


def test_a_file_without_its_wal_lacks_at_most_a_checkpoints_ticks(tmp_path: Path) -> None:
    from apm_tui.recording import CHECKPOINT_EVERY

    path = tmp_path / "open.apmrec"
    rec = Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0)
    one = Batch.of(samples=[MetricSample(timestamp=5.0, cpu_pct=1.0)])
    for i in range(2 * CHECKPOINT_EVERY + 10):
        rec.append(100.0 + i, one)
    # Not closed (the process killed): the file and its -wal, read as they are (through a
    # link too: SQLite keeps the -wal beside the file the link points to)...
    assert len(list(Recording.open(path).ticks())) == 2 * CHECKPOINT_EVERY + 10
    (tmp_path / "latest.apmrec").symlink_to(path)
    assert (
        len(list(Recording.open(tmp_path / "latest.apmrec").ticks())) == 2 * CHECKPOINT_EVERY + 10
    )
    # ...and the file copied alone, which lacks only the ticks since the last checkpoint.
    alone = tmp_path / "copy" / "open.apmrec"
    alone.parent.mkdir()
    alone.write_bytes(path.read_bytes())
    assert len(list(Recording.open(alone).ticks())) == 2 * CHECKPOINT_EVERY
    rec.close()


def test_a_recording_opened_while_its_writer_checkpoints_reads_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening copies the file and its -wal as they lie (four times faster than SQLite's
    backup); a writer that restarts its log between the two copies must not leave a torn
    copy: every open reads a whole prefix of the ticks, none lost."""
    import threading

    import apm_tui.recording as recording

    monkeypatch.setattr(recording, "CHECKPOINT_EVERY", 1)  # a checkpoint, a restart, a tick
    path = tmp_path / "busy.apmrec"
    rng = np.random.default_rng(3)
    rows = [
        MetricSample(timestamp=float(i), cpu_pct=float(v)) for i, v in enumerate(rng.random(400))
    ]
    batch = Batch.of(samples=rows)  # ≈ 4 KB a tick: random values do not compress
    rec = Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0)
    for i in range(300):  # a file of a few hundred KB, so a copy takes a while
        rec.append(float(i), batch)
    written = [300]
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            rec.append(float(written[0]), batch)
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(40):
            before = written[0]
            opened = Recording.open(path)
            seqs = [raw.seq for raw in opened.raw_ticks()]
            lost = opened.lost
            opened.close()
            assert lost == 0
            assert seqs == list(range(1, len(seqs) + 1))
            assert before <= len(seqs) <= written[0]
    finally:
        stop.set()
        writer.join()
        rec.close()
    assert written[0] > 300  # the writer did write meanwhile


def test_quiet_ticks_are_noted_so_a_replay_lasts_as_long_as_the_recording(
    tmp_path: Path,
) -> None:
    from apm_tui.sources.recorded import ReplaySource

    path = tmp_path / "q.apmrec"
    one = Batch.of(samples=[MetricSample(timestamp=5.0, cpu_pct=1.0)])
    rec = Recorder(path, sources=["log"], settings={}, interval_s=1.0)
    rec.append(0.0, one, history=True)
    for t in (100.0, 101.0):  # quiet from the start: nothing new to store
        rec.mark(t)
    rec.append(102.0, one)
    for t in range(103, 160):
        rec.mark(float(t))
    rec.close()
    recording = Recording.open(path)
    assert recording.span() == (100.0, 159.0)  # was (102.0, 102.0): a replay of 0:00
    assert [t.t for t in recording.ticks()] == [0.0, 102.0]  # quiet ticks take no rows
    replay = ReplaySource(path, speed=10.0)
    replay.backfill()
    assert replay.total == 59.0
    status = replay.poll(1000.0).status["replay"]
    assert not status["done"]  # every stored tick is out, but the clock has 59 s to play
    assert replay.poll(1001.0).metrics["cpu_pct"].tolist() == [1.0]  # at 2 s, 102.0's tick
    assert not replay.poll(1005.0).status["replay"]["done"]
    assert replay.poll(1006.0).status["replay"]["done"]
    recording.close()
    replay.close()


def test_headless_record_ends_by_itself_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "short.apmrec"
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(path), "--duration", "1.2",
         "--interval", "0.2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recorded" in done.stderr and str(path) in done.stderr
    ticks = list(Recording.open(path).ticks())
    live = [t for t in ticks if not t.history]
    assert 4 <= len(live) <= 8
    report = subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--from", str(path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["counts"]["metrics"] == sum(len(t.batch.metrics) for t in ticks)
    assert doc["source"] == "recording short.apmrec"


def live_ticks(path: Path) -> int:
    """Live ticks committed so far to a recording being written (0 while it starts)."""
    try:  # read-only: a plain connect would make the file before `record` does
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM ticks WHERE history = 0").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigterm_closes_the_file_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "term.apmrec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(path), "--interval", "0.1"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Until live ticks come, not a fixed 3 s: with the suite on both cores the day's history
    # took longer (SIGTERM in it keeps no tick, as it should; `..._long_history_too` below).
    deadline = time.monotonic() + 60
    while live_ticks(path) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "recorded" in err
    assert list(Recording.open(path).ticks())


def test_sigterm_stops_a_long_history_too(tmp_path: Path) -> None:
    """Reading a source's history has no wait for the signal to wake: it was ignored until
    the history was done (a long log, or a huge synthetic window, took minutes)."""
    path = tmp_path / "slow.apmrec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(path),
         "--source", "tests.unit.slow_source:SlowHistory"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # The imports (slower with the suite on both cores), the file, then into the history.
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)  # not the minute
    assert proc.returncode == 0 and "Traceback" not in err
    assert err == f"apm-tui: recorded 0 ticks to {path}\n"
    assert list(Recording.open(path).ticks()) == []  # a file that opens, with nothing in it


def test_record_with_no_source_left_is_exit_2_and_keeps_no_empty_file(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "none.apmrec"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "apm_tui", "record", "-o", str(path),
             "--listen", f"127.0.0.1:{port}"],  # no --duration: it recorded nothing for ever
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2 and time.monotonic() - started < 30
    said = done.stderr.strip().splitlines()
    assert len(said) == 2 and "the port is in use" in said[0]
    assert said[1] == (
        f"apm-tui: error: no source is left to record; nothing was recorded and {path} was not kept"
    )
    assert not path.exists()


def test_duration_ends_a_record_within_its_interval(tmp_path: Path) -> None:
    path = tmp_path / "hour.apmrec"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(path), "--duration", "1",
         "--interval", "3600"],  # it slept the hour before it looked at --duration
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and time.monotonic() - started < 30
    assert "recorded 1 tick" in done.stderr


def other_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")


def newer(path: Path) -> None:
    record(path, [Batch()])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(99),))


def cut_in_its_history(path: Path) -> None:
    record(path, [], history=world_batch())  # one tick, on pages up to the file's end
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such file"),
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(os.urandom(4096)), "not a SQLite database"),
        (other_database, "not an apm-tui recording"),
        (newer, "recorded by a newer apm-tui (schema 99"),
        (cut_in_its_history, "cut short before its first complete tick; nothing to read"),
        (lambda p: os.mkfifo(p), "a named pipe, not a regular file"),  # was "empty"
    ],
    ids=["missing", "empty", "random", "other-program", "newer", "cut-before-a-tick", "fifo"],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.apmrec"
    if make is not None:
        make(path)
    with pytest.raises(RecordingError, match=message.replace("(", r"\(")) as caught:
        Recording.open(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--from", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""  # not the report's first lines either
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_truncated_file_replays_every_complete_tick_and_says_how_many_were_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cut.apmrec"
    big = world_batch()
    record(path, [big] * 12)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rec = Recording.open(path)
    # The repaired copy it reads from is already gone from the folder: a replay killed, or
    # never closed, leaves nothing behind.
    assert list(scratch.iterdir()) == []
    ticks = list(rec.ticks())
    assert 0 < len(ticks) < 12 and rec.lost >= 1
    from apm_tui.sources.recorded import RecordedSource

    source = RecordedSource(path)
    batch = source.backfill()
    assert len(batch.metrics) == len(ticks) * len(big.metrics)
    assert batch.status["notices"][0].endswith(
        f"{rec.lost} tick(s) could not be read (damaged or truncated file); the {len(ticks)} "
        "complete ones are used"
    )


def test_a_cut_files_lost_count_is_not_taken_from_a_damaged_meta(tmp_path: Path) -> None:
    """Regression: a count no file could hold was believed ("99999999999999999993 tick(s)
    could not be read")."""
    path = tmp_path / "cut.apmrec"
    record(path, [world_batch()] * 12)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99999999999999999999' WHERE key = 'ticks'")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    rec = Recording.open(path)
    assert 1 <= rec.lost + len(list(rec.ticks())) <= 12


def test_the_history_row_is_not_counted_as_a_tick_of_a_cut_file(tmp_path: Path) -> None:
    """It was: "the 12 complete ones are used" where 11 ticks came back, and the history."""
    from apm_tui.sources.recorded import RecordedSource

    path = tmp_path / "cut.apmrec"
    big = world_batch()
    record(path, [big] * 12, history=big)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    rec = Recording.open(path)
    ticks = list(rec.ticks())
    assert ticks[0].history and 1 < len(ticks) < 13
    notice = RecordedSource(path).backfill().status["notices"][0]
    assert notice.endswith(
        f"the {len(ticks) - 1} complete ones are used with the history before them"
    ), notice


def test_a_long_recording_cut_anywhere_keeps_every_tick_before_the_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An hour's ticks outgrow one interior page of SQLite's b-tree: the root's contents then
    # move to a page near the end of the file, and a copy cut before it reaches no tick at
    # all through SQL. The ticks are read off the pages instead (`apm_tui.salvage`).
    world = SyntheticSource(WorldSettings(hours=2, traces=2000, start=WORLD_START)).backfill()
    spans, n = world.spans, 600  # ≈ 3.5 KB a tick, one tick a page
    ticks = [
        Batch(world.metrics.take(slice(i % 100, i % 100 + 1)), spans.take(slice(k, k + 150)))
        for i, k in enumerate(range(0, 600 * 13, 13))
    ]
    path = tmp_path / "long.apmrec"
    record(path, ticks, history=world)  # the history overflows onto ≈ 50 pages
    data = path.read_bytes()
    for share in (0.3, 0.6, 0.9):
        cut = tmp_path / f"cut-{share}.apmrec"
        cut.write_bytes(data[: int(len(data) * share)])
        rec = Recording.open(cut)
        read = list(rec.ticks())
        assert [t.seq for t in read] == list(range(1, len(read) + 1))  # the first ones, in order
        assert len(read) >= 0.6 * share * n and rec.lost == n + 1 - len(read)
        assert read[0].history and len(read[0].batch.spans) == len(spans)
        for tick in read[1:]:
            want = ticks[tick.seq - 2]
            assert tick.t == 100.0 + tick.seq - 2
            assert tick.batch.spans["span_id"].tolist() == want.spans["span_id"].tolist()
            assert np.array_equal(tick.batch.metrics["cpu_pct"], want.metrics["cpu_pct"])
        rec.close()
    whole_pages = bytearray(data[: int(len(data) * 0.3) // 4096 * 4096])
    whole_pages[28:32] = (len(whole_pages) // 4096).to_bytes(4, "big")
    (tmp_path / "sql.db").write_bytes(whole_pages)
    with pytest.raises(sqlite3.DatabaseError), sqlite3.connect(tmp_path / "sql.db") as db:
        db.execute("SELECT seq FROM ticks ORDER BY seq LIMIT 1").fetchall()  # what SQL reads
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--from", str(tmp_path / "cut-0.6.apmrec")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "Health Score" in done.stdout, done.stderr
    assert "tick(s) could not be read" in done.stderr and "Traceback" not in done.stderr
    from apm_tui.commands import export

    capsys.readouterr()
    assert export.run(str(tmp_path / "cut-0.6.apmrec"), str(tmp_path / "csv")) == 0
    said = capsys.readouterr()
    kept = Recording.open(tmp_path / "cut-0.6.apmrec")
    read = list(kept.ticks())
    assert f"{kept.lost} tick(s) could not be read (damaged or cut off)" in said.err
    assert "could not be read" not in said.out
    rows = (tmp_path / "csv" / "spans.csv").read_text().count("\n") - 1
    assert rows == sum(len(t.batch.spans) for t in read)
    kept.close()


def test_an_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        RecordingError, match=f"cannot write a recording: {tmp_path}/no/such/dir does not exist"
    ):  # (was SQLite's "unable to open database file")
        Recorder(tmp_path / "no" / "such" / "dir" / "x.apmrec", sources=[], settings={},
                 interval_s=1.0)  # fmt: skip
    (tmp_path / "file").write_text("")
    with pytest.raises(RecordingError, match="file is not a folder"):
        Recorder(tmp_path / "file" / "x.apmrec", sources=[], settings={}, interval_s=1.0)
    existing = tmp_path / "taken.apmrec"
    existing.write_text("keep me")
    with pytest.raises(RecordingError, match="already exists"):
        Recorder(existing, sources=[], settings={}, interval_s=1.0)
    assert existing.read_text() == "keep me"
    with pytest.raises(RecordingError, match=r"needs a file name \(it was empty\)"):
        Recorder("", sources=[], settings={}, interval_s=1.0)  # was ". already exists"
    with pytest.raises(RecordingError, match="is a folder; give the recording a file name"):
        Recorder(tmp_path, sources=[], settings={}, interval_s=1.0)  # was "already exists"
    if Path("/proc/self").is_dir():  # a folder that takes no files: was SQLite's words
        with pytest.raises(RecordingError, match="cannot write a recording: No such file"):
            Recorder("/proc/x.apmrec", sources=[], settings={}, interval_s=1.0)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=1, max_size=3000))
def test_random_bytes_never_crash_the_reader(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.apmrec"
    path.write_bytes(data)
    with pytest.raises(RecordingError):
        Recording.open(path)


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("small") / "small.apmrec"
    record(path, [world_batch()] * 8, history=world_batch())
    return path.read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.floats(0.05, 0.99),
    st.lists(st.tuples(st.integers(100, 10**6), st.integers(0, 255)), max_size=40),
    st.sampled_from([0, 0, 0, 16, 255]),
)
def test_a_cut_and_damaged_recording_is_read_or_refused_never_crashed_on(
    tmp_path: Path,
    small_recording: bytes,
    share: float,
    flips: list[tuple[int, int]],
    reserved: int,
) -> None:
    # A copy cut short is read off its pages (`apm_tui.salvage`): whatever its pages hold,
    # opening and reading it either gives ticks or one RecordingError.
    data = bytearray(small_recording[: int(len(small_recording) * share)])
    for at, value in flips:
        data[at % len(data)] = value if at % len(data) >= 100 else data[at % len(data)]
    data[20] = reserved  # bytes reserved at the end of each page: the pages' usable size
    path = tmp_path / "cut.apmrec"
    path.write_bytes(bytes(data))
    try:
        rec = Recording.open(path)
    except RecordingError as exc:
        assert "\n" not in str(exc)
        return
    try:
        ticks = list(rec.ticks())
        assert len(ticks) + rec.lost >= 1
    finally:
        rec.close()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_payloads_are_rejected_not_crashed_on(data: bytes) -> None:
    try:
        decode_batch(data, ["web", "{}"])
    except (ValueError, KeyError, TypeError, OverflowError):
        pass
    except Exception as exc:  # anything else would escape Recording.ticks
        import zlib

        assert isinstance(exc, zlib.error), repr(exc)


def test_spans_with_attributes_round_trip() -> None:
    spans = [
        Span("t", "a", "", "web", "GET /x", 1.0, 5.0, kind="server",
             attributes={"http.route": "/x", "n": 3, "ok": True, "tags": ["a", "b"]}),
        Span("t", "b", "a", "db", "SELECT", 1.001, 2.5, error=True, kind="db"),
    ]  # fmt: skip
    back = roundtrip(Batch.of(spans=spans))
    assert list(back.spans["attributes"]) == [
        {"http.route": "/x", "n": 3, "ok": True, "tags": ["a", "b"]},
        {},
    ]
    assert list(back.spans["error"]) == [False, True]


def test_export_writes_every_sample_and_span_as_csv(tmp_path: Path) -> None:
    import pandas as pd

    batch = world_batch()
    path = tmp_path / "e.apmrec"
    record(path, [batch])
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "export", str(path), "--csv", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv")
    spans = pd.read_csv(tmp_path / "out" / "spans.csv", keep_default_na=False)
    assert len(metrics) == len(batch.metrics) and len(spans) == len(batch.spans)
    np.testing.assert_allclose(metrics["cpu_pct"], batch.metrics["cpu_pct"])
    np.testing.assert_allclose(spans["duration_ms"], batch.spans["duration_ms"])
    assert list(spans["trace_id"]) == list(batch.spans["trace_id"])
    first = json.loads(spans["attributes"][0])
    assert first == dict(batch.spans["attributes"][0])
    bad = subprocess.run(
        [sys.executable, "-m", "apm_tui", "export", str(tmp_path / "nope"), "--csv", "x"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_export_replaces_an_earlier_export_and_refuses_any_other_file(tmp_path: Path) -> None:
    """Regression: `export` replaced whatever had its CSV names, the recording it was reading
    too (a recording named spans.csv, exported into its own folder, was lost)."""
    from apm_tui.commands import export
    from apm_tui.errors import RecordingError

    path = tmp_path / "spans.csv"  # a recording under an unlucky name
    record(path, [world_batch()])
    kept = path.read_bytes()
    with pytest.raises(RecordingError, match="is not an earlier export"):
        export.run(str(path), str(tmp_path))
    assert path.read_bytes() == kept and not (tmp_path / "metrics.csv").exists()
    out = tmp_path / "out"
    assert export.run(str(path), str(out)) == 0
    first = (out / "spans.csv").read_bytes()
    assert export.run(str(path), str(out)) == 0  # an earlier export: replaced
    assert (out / "spans.csv").read_bytes() == first
    (out / "metrics.csv").write_text("date,sales\n2026-01-01,3\n")
    with pytest.raises(RecordingError, match=r"metrics\.csv: it exists"):
        export.run(str(path), str(out))
    assert (out / "metrics.csv").read_text() == "date,sales\n2026-01-01,3\n"


def test_the_engine_records_what_it_ingests_and_a_failing_recorder_is_a_notice(
    tmp_path: Path,
) -> None:
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    path = tmp_path / "live.apmrec"
    opts = DashboardOptions(start=WORLD_START, window_hours=2, record=str(path))
    engine = make_engine(opts, Thresholds())
    for i in range(5):
        engine.step(WORLD_START + 7200 + i)
    assert engine.recorder is not None
    engine.close()
    ticks = list(Recording.open(path).ticks())
    assert [t.history for t in ticks] == [True] + [False] * 5
    assert len(ticks[0].batch.metrics) == 120  # the 2 hours of history, a sample a minute
    assert [len(t.batch.metrics) for t in ticks[1:]] == [1] * 5
    newest = engine.window.metrics.column("timestamp")[-1]
    assert ticks[-1].batch.metrics["timestamp"][0] == newest

    class Broken:
        def append(self, t: float, batch: Batch, *, history: bool = False) -> None:
            raise RecordingError("disk full")

        def close(self) -> None:
            pass

    engine = make_engine(DashboardOptions(start=WORLD_START, window_hours=2), Thresholds())
    engine.recorder = Broken()
    snap = engine.step(WORLD_START + 7200)
    snap = engine.step(WORLD_START + 7201) if not snap.notices else snap
    assert any("recording stopped: disk full" in n for n in snap.notices)
    assert engine.recorder is None and len(engine.window.metrics) > 0
    engine.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--record", "/nonexistent-folder/x.apmrec"], "cannot write a recording"),
        # a folder that is there but takes no files (root passes os.access on /proc)
        (["--record", "/proc/x.apmrec"], "/proc/x.apmrec: cannot write a recording"),
        (["record", "-o", "/proc/x.apmrec", "--duration", "1"], "cannot write"),
        (["record", "-o", "/nonexistent-folder/x.apmrec", "--duration", "1"], "cannot write"),
    ],
)
def test_recording_to_an_unwritable_place_is_one_line_before_anything_starts(
    args: list[str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_replay_shows_what_the_live_view_showed(tmp_path: Path) -> None:
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    path = tmp_path / "session.apmrec"
    live = make_engine(
        DashboardOptions(start=WORLD_START, window_hours=2, record=str(path)), Thresholds()
    )
    live.isolate_fits = False
    now = WORLD_START + 7200
    live.step(now)
    live.wait_for_background()
    for i in range(1, 25):
        seen = live.step(now + i)
    live.close()

    def replayed(speed: float, steps: int) -> tuple[Any, Any]:
        engine = make_engine(
            DashboardOptions(sources=(), replay=str(path), replay_speed=speed, window_hours=2),
            Thresholds(),
        )
        engine.isolate_fits = False
        clock = 5_000.0  # any wall clock: the replay follows the recorded times
        snap = engine.step(clock)
        engine.wait_for_background()
        for i in range(1, steps):
            snap = engine.step(clock + i)
        engine.close()
        return engine, snap

    # As fast as it goes: the same data, all of it.
    fast, shown = replayed(64, 3)
    assert shown.status["replay"]["done"] and shown.status["replay"]["speed"] == 64
    for name in live.window.metrics.view().names:
        np.testing.assert_array_equal(
            live.window.metrics.view()[name], fast.window.metrics.view()[name], err_msg=name
        )
    assert len(fast.window.spans.view()) == len(live.window.spans.view())
    # At the recorded pace, tick for tick: the same screen, down to the cached details.
    _, shown = replayed(1, 25)
    for key, value in seen.live.current.items():
        other = shown.live.current[key]
        assert value == other or (np.isnan(value) and np.isnan(other)), key
    for name in ("rt_p95", "cpu", "apdex", "anomalies"):
        np.testing.assert_array_equal(
            seen.live.series.values[name], shown.live.series.values[name], err_msg=name
        )
    assert [a.timestamp for a in seen.live.anomalies] == [a.timestamp for a in shown.live.anomalies]
    assert seen.live.endpoints == shown.live.endpoints
    assert seen.live.newest == shown.live.newest


def test_a_fast_replay_flags_what_the_live_view_flagged_across_refits(tmp_path: Path) -> None:
    """Ten hours of the world live (its afternoon's incidents), one sample a tick, fits landing
    whenever they land; then replayed at 64× as fast as it goes: the same anomalies, though the
    fits landed at other ticks (each was taken up by whichever tick came after it until
    2026-12-07)."""
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    path = tmp_path / "session.apmrec"
    live = make_engine(
        DashboardOptions(start=WORLD_START, window_hours=12, record=str(path)), Thresholds()
    )
    live.isolate_fits = False
    now = WORLD_START + 12 * 3600
    for i in range(600):
        live.step(now + i)
    live.wait_for_background()
    seen = [(a.timestamp, a.score, a.types) for a in live._anomalies]
    assert live.detector.fits >= 3  # refits landed while it ran
    live.close()
    engine = make_engine(
        DashboardOptions(sources=(), replay=str(path), replay_speed=64, window_hours=12),
        Thresholds(),
    )
    engine.isolate_fits = False
    for i in range(12):
        engine.step(5_000.0 + i)
    assert engine.status["replay"]["done"]
    engine.wait_for_background()
    assert [(a.timestamp, a.score, a.types) for a in engine._anomalies] == seen
    assert seen  # the world's incidents in those hours
    engine.close()


def test_replay_of_a_bad_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "junk.apmrec"
    bad.write_bytes(os.urandom(2000))
    for args in (["replay", str(bad)], ["replay", str(tmp_path / "none")], ["replay", str(bad),
                 "--speed", "100"]):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "apm_tui", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_replay_target_forms() -> None:
    import calendar

    from apm_tui.sources.recorded import replay_target

    # The data runs 60 s a recorded second from 23:50 UTC: a recorded minute is an hour of
    # the data's clock (the header's), whatever the ticks' own times were.
    start = float(calendar.timegm((2026, 1, 1, 23, 50, 0, 0, 0, 0)))
    kw = {
        "total": 60.0,
        "position": 10.0,
        "shown": start + 600.0,
        "data": (start, start + 3600.0),
        "locate": lambda when: (when - start) / 60,
    }
    assert replay_target("+10s", **kw) == 20
    assert replay_target("-90s", **kw) == 0  # clamped to the start
    assert replay_target("+2", **kw) == 12  # seconds without a unit
    assert replay_target("-1d", **kw) == 0 and replay_target("+0.0001d", **kw) == 18.64  # days
    assert replay_target("50%", **kw) == 30
    assert replay_target("23:55", **kw) == 5
    assert replay_target("00:20", **kw) == 30  # on the day shown, or the next, if only that is in
    assert replay_target("2026-01-02 00:50", **kw) == 60
    for bad, says in [
        ("noon", "use a UTC time"),
        ("25:00", "not a time of day"),
        ("12:00", "outside the recording (2026-01-01 23:50:00 to 2026-01-02 00:50:00 UTC)"),
        ("2026-13-01 00:00", "not a date"),
        ("", "use a UTC time"),
        ("150%", "a share of the recording is 0% to 100%"),  # was the end, without a word
    ]:
        with pytest.raises(ValueError, match=re.escape(says)):
            replay_target(bad, **kw)
    assert replay_target("100%", **kw) == 60


def test_a_recording_is_found_by_its_data_clock(tmp_path: Path) -> None:
    """Regression: `g 03:00` in a replay of the synthetic world looked for 03:00 among the
    ticks' own times (the wall clock when recorded) while the header showed the world's."""
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    path = tmp_path / "r.apmrec"
    engine = make_engine(
        DashboardOptions(start=WORLD_START, window_hours=2, record=str(path)), Thresholds()
    )
    recorded_at = WORLD_START + 30 * 86_400  # a month after the world's own clock
    for i in range(120):
        engine.step(recorded_at + i)
    engine.close()
    recording = Recording.open(path)
    first, last = recording.span()
    assert (first, last) == (recorded_at, recorded_at + 119)
    data = recording.data_span()
    assert data is not None
    assert WORLD_START < data[0] < data[1] < WORLD_START + 86_400
    assert data[1] - data[0] == pytest.approx(119 * 60, abs=60)  # 60 world seconds a tick
    assert recording.reaching(data[0]) == first
    assert recording.reaching(data[0] + 30 * 60) == pytest.approx(first + 30, abs=1)
    assert recording.reaching(data[1]) == last
    assert recording.reaching(data[1] + 1) is None


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_damaged_real_payloads_are_rejected_not_crashed_on(data: st.DataObject) -> None:
    """Flip bytes inside a real payload's header and columns (recompressed, so zlib's own
    check does not catch it first): decoding raises only what `Recording.ticks` handles."""
    import zlib

    table: dict[str, int] = {}
    spans = [
        Span("ab" * 8, "cd" * 4, "", "web", "GET /x", 1.5, 5.25, kind="server",
             attributes={"http.route": "/x"}),
        Span("ab" * 8, "ef" * 4, "cd" * 4, "db", "SELECT", 1.5001, 2.5, kind="db"),
    ]  # fmt: skip
    batch = Batch(
        metrics=Batch.of(samples=[MetricSample(timestamp=10.0, cpu_pct=12.5)]).metrics,
        spans=Batch.of(spans=spans).spans,
        status={"n": 1},
    )
    payload = encode_batch(batch, lambda t: table.setdefault(t, len(table)), schema=2)
    raw = bytearray(zlib.decompressobj(zdict=ZDICT).decompress(payload))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        packer = zlib.compressobj(zdict=ZDICT)
        decode_batch(packer.compress(bytes(raw)) + packer.flush(), list(table))
    except (ValueError, KeyError, TypeError, OverflowError):
        pass


def hostile_payload(header: dict[str, object] | bytes) -> bytes:
    """A payload with this JSON header (or these header bytes) and no column bytes."""
    import zlib

    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    packer = zlib.compressobj(zdict=ZDICT)
    return packer.compress(len(text).to_bytes(4, "little") + text) + packer.flush()


def test_hostile_payloads_and_rows_are_lost_ticks_not_crashes(tmp_path: Path) -> None:
    """A few bytes claiming 300 million rows of NaN-only columns took 4.7 GB; a header nested
    10,000 deep raised RecursionError; a row whose time is text, or whose payload is text,
    was a traceback in `export` (TypeError, ValueError) and a raw Python message in `report`."""
    huge = {"metrics": {"rows": 300_000_000, "columns": [["cpu_pct", {"nan": True}]]},
            "spans": {"rows": 0}}  # fmt: skip
    spans = {"metrics": {"rows": 0, "columns": []}, "spans": {"rows": 10**12}}
    for header in (huge, spans, b"[" * 10_000 + b"]" * 10_000):
        with pytest.raises(ValueError):
            decode_batch(hostile_payload(header), [])
    path = tmp_path / "hostile.apmrec"
    record(path, [world_batch()] * 4)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ticks SET payload = ? WHERE seq = 1", (hostile_payload(huge),))
        db.execute("UPDATE ticks SET t = 'noon' WHERE seq = 2")
        db.execute("UPDATE ticks SET payload = 'text' WHERE seq = 3")
    rec = Recording.open(path)
    assert len(list(rec.ticks())) == 1 and rec.lost == 3
    out = tmp_path / "csv"
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "export", str(path), "--csv", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "3 tick(s) could not be read" in done.stderr and "wrote" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--from", str(path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["counts"]["metrics"] > 0
    assert "3 tick(s) could not be read" in done.stderr


def test_notices_that_are_not_a_list_of_strings_are_a_damaged_tick() -> None:
    """A recorded status with `"notices": "abc"` was said as three notices, a letter each."""
    base = {"metrics": {"rows": 0, "columns": []}, "spans": {"rows": 0}}
    for notices in ("abc", [1, 2], {"a": "b"}):
        with pytest.raises(ValueError, match="bad notices"):
            decode_batch(hostile_payload({**base, "status": {"notices": notices}}), [])
    ok = decode_batch(hostile_payload({**base, "status": {"notices": ["said once"]}}), [])
    assert ok.status["notices"] == ["said once"]


def test_a_recording_none_of_whose_ticks_reads_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "unreadable.apmrec"
    record(path, [world_batch()] * 2)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ticks SET payload = ?", (b"not zlib",))
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "report", "--from", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""  # not the report's first lines either
    assert done.stderr.strip().splitlines()[-1] == (
        f"apm-tui: error: {path}: none of its 2 tick(s) could be read (a damaged file); "
        "nothing to analyse"
    )
    # `export` too (it wrote two header lines and exited 0)
    from apm_tui import cli

    assert cli.main(["export", str(path), "--csv", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_an_export_that_fails_midway_leaves_the_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a full disk left a whole metrics.csv beside half a spans.csv."""
    import csv

    from apm_tui.commands import export

    path = tmp_path / "r.apmrec"
    record(path, [world_batch()])
    out = tmp_path / "out"
    assert export.run(str(path), str(out)) == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    writer = csv.writer

    class FullDisk:
        def __init__(self, f: Any) -> None:
            self.rows = 0
            self.real = writer(f)

        def writerow(self, row: Any) -> None:
            self.rows += 1
            if self.rows > 100:
                raise OSError(28, "No space left on device")
            self.real.writerow(row)

    monkeypatch.setattr(export.csv, "writer", FullDisk)
    with pytest.raises(RecordingError, match="No space left on device"):
        export.run(str(path), str(out))
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_numbers_are_stored_small_and_exactly() -> None:
    rng = np.random.default_rng(3)
    cases = {
        "microseconds": np.round(1.7e9 + rng.uniform(0, 60, 500), 6),
        "percent to 0.1": np.round(rng.uniform(0, 100, 500), 1),
        "counts": rng.integers(0, 1000, 500).astype(float),
        "full floats": rng.lognormal(3, 1, 500),
        "some NaN": np.where(rng.random(500) < 0.5, np.nan, 1.0),
        "all NaN": np.full(500, np.nan),
        "infinite": np.array([1.0, np.inf, -np.inf]),
        "huge": np.array([1e300, -1e300]),
        "negative zero": np.array([-0.0, 0.0]),
    }
    for name, values in cases.items():
        how, data = pack_floats(values)
        cursor = 0

        def take(count: int, dtype: str, data: bytes = data) -> np.ndarray:  # type: ignore[type-arg]
            nonlocal cursor
            width = np.dtype(dtype).itemsize
            out = np.frombuffer(data[cursor : cursor + count * width], dtype=dtype)
            cursor += count * width
            return out

        back = unpack_floats(how, len(values), take)
        assert cursor == len(data), name
        np.testing.assert_array_equal(back, values, err_msg=name)
        assert np.array_equal(np.signbit(back), np.signbit(values)) or name == "negative zero"
    # Integers where they are exact: microseconds over a minute fit in 4 bytes, not 8.
    assert len(pack_floats(cases["microseconds"])[1]) == 4 * 500
    assert len(pack_floats(cases["percent to 0.1"])[1]) == 2 * 500
    assert len(pack_floats(cases["full floats"])[1]) == 8 * 500
    assert pack_floats(cases["all NaN"]) == ({"nan": True}, b"")


def test_ids_strings_and_attributes_round_trip_in_both_id_forms() -> None:
    def spans(ids: list[str]) -> Batch:
        shared = {"db.system": "postgresql", "db.statement": "SELECT 1"}
        return Batch.of(spans=[
            Span(ids[0], ids[1], "", "web", "GET /x", 1.0, 5.0, kind="server"),
            Span(ids[0], ids[2], ids[1], "db", "SELECT", 1.001, 2.5, kind="db",
                 attributes=shared),
            Span(ids[0], ids[3], ids[1], "db", "SELECT", 1.002, 2.5, kind="db",
                 attributes=shared),
            Span(ids[0], ids[4], "gone", "web", "GET /y", 1.003, 1.0, kind="server"),
        ])  # fmt: skip

    table: dict[str, int] = {}
    for ids in (
        ["0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "00f067aa0ba902b7",
         "1111111111111111", "2222222222222222"],  # lowercase hex: stored as bytes
        ["log-1", "log-2", "ABCDEF", "x", "y"],  # anything else: stored as text
    ):  # fmt: skip
        batch = spans(ids)
        back = roundtrip(batch, table)
        tables_equal(batch, back)
        assert back.spans["parent_id"][3] == "gone"  # a parent from another tick stays
    assert set(table) >= {"web", "db", "GET /x", "SELECT", "server"}
    size = len(table)
    roundtrip(spans(["aa", "bb", "cc", "dd", "ee"]), table)
    assert len(table) == size  # the second tick adds no strings


def test_an_hour_of_the_default_world_is_compact() -> None:
    """The default world's spans cost a quarter of what schema 1 paid (≈ 65 bytes a span)."""
    source = SyntheticSource(WorldSettings(hours=1, start=WORLD_START))
    source.open()
    source.backfill()
    table: dict[str, int] = {}
    size = spans = 0
    for i in range(120):
        batch = source.poll(WORLD_START + 3600 + 60 * (i + 1))
        size += len(encode_batch(batch, lambda t: table.setdefault(t, len(table))))
        spans += len(batch.spans)
        assert spans == 0 or len(roundtrip(batch, dict(table)).spans) == len(batch.spans)
    assert spans > 1000
    assert size / spans < 30, size / spans


def test_a_schema_1_recording_still_reads() -> None:
    """tests/data/schema1.apmrec was written by the schema-1 recorder (commit c6def64): a 1-hour
    world with 20 traces as history, then three one-minute ticks."""
    rec = Recording.open(Path(__file__).parents[1] / "data" / "schema1.apmrec")
    ticks = list(rec.ticks())
    rec.close()
    assert rec.lost == 0 and [t.history for t in ticks] == [True, False, False, False]
    history = ticks[0].batch
    assert len(history.metrics) == 60 and len(history.spans) == 76
    assert set(history.spans["service"]) >= {"api-gateway"}
    assert all(isinstance(a, dict) for a in history.spans["attributes"])
    assert history.metrics["timestamp"][0] == WORLD_START


def test_a_schema_2_recording_still_reads_and_replays_in_blocks() -> None:
    """tests/data/schema2.apmrec was written by the schema-2 recorder (commit 90bba17, JSON
    headers): a 1-hour world with 20 traces as history, then three live ticks."""
    from apm_tui.sources.recorded import _decoded, _joined

    rec = Recording.open(Path(__file__).parents[1] / "data" / "schema2.apmrec")
    try:
        assert rec.version == 2
        ticks = list(rec.ticks())
        raws = [r for r in rec.raw_ticks() if not r.history]
        block = _decoded(rec, raws)  # the replay's block path, schema 2's walk
    finally:
        rec.close()
    assert rec.lost == 0 and [t.history for t in ticks] == [True, False, False, False]
    history = ticks[0].batch
    assert len(history.metrics) == 60 and len(history.spans) == 76
    assert history.metrics["timestamp"][0] == WORLD_START
    assert all(isinstance(a, dict) for a in history.spans["attributes"])
    assert [len(t.batch.spans) for t in ticks[1:]] == [26, 15, 8]
    assert_identical(block, _joined(ticks[1:], []))


def test_a_sources_own_numeric_span_columns_are_recorded() -> None:
    """A log's spans carry the response size as `bytes`; it must survive a recording."""
    spans = Batch.of(spans=[
        Span("a", "a", "", "web", "GET /x", 1.0, 5.0, kind="server"),
        Span("b", "b", "", "web", "GET /y", 2.0, float("nan"), kind="server"),
    ]).spans  # fmt: skip
    columns = spans.columns()
    columns["bytes"] = np.array([512.0, np.nan])
    from apm_tui.model import Table

    batch = Batch(spans=Table(columns))
    back = roundtrip(batch)
    np.testing.assert_array_equal(back.spans["bytes"], [512.0, np.nan])
    tables_equal(batch, back)


def test_the_headless_recorders_last_line_says_what_it_kept() -> None:
    from apm_tui.commands.record import recorded_line

    assert recorded_line(5, 5, True) == "recorded 5 ticks plus the sources' history"
    assert recorded_line(1, 1, False) == "recorded 1 tick"
    assert recorded_line(4, 1, False) == "recorded 1 of 4 ticks (3 had nothing new)"
    assert recorded_line(4, 0, False) == "recorded 0 of 4 ticks (none had new data)"


def test_a_recording_stopped_by_a_full_disk_says_what_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the last line was the SQLite error alone, as if nothing had been kept."""
    from apm_tui import cli
    from apm_tui.recording import Recorder as RealRecorder

    calls = 0
    real_append = RealRecorder.append

    def filling(self: Recorder, t: float, batch: Batch, *, history: bool = False) -> None:
        nonlocal calls
        calls += 1
        if calls > 4:  # the history, then three ticks
            raise RecordingError(f"{self.path}: recording stopped: database or disk is full")
        real_append(self, t, batch, history=history)

    monkeypatch.setattr(RealRecorder, "append", filling)
    path = tmp_path / "full.apmrec"
    argv = ["record", "-o", str(path), "--interval", "0.1", "--duration", "5"]
    assert cli.main(argv) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == (
        f"apm-tui: error: {path}: recording stopped: database or disk is full; recorded 3 ticks "
        f"plus the sources' history to {path}"
    )
    assert len(list(Recording.open(path).ticks())) == 4


def test_a_replay_without_data_shows_the_recordings_time_not_this_clock(tmp_path: Path) -> None:
    """Regression: the header showed this machine's clock, ticking, for a recording that had
    no tick (a `record` stopped at once)."""
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    path = tmp_path / "empty.apmrec"
    Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0).close()
    started = float(Recording.open(path).meta["started_at"])
    engine = make_engine(DashboardOptions(sources=(), replay=str(path)), Thresholds())
    try:
        assert engine.step(started + 5_000).live.newest == started
        assert engine.step(started + 9_000).live.newest == started
    finally:
        engine.close()


def test_a_replay_of_a_host_source_says_it_has_no_requests_as_live(tmp_path: Path) -> None:
    """Regression: a replay of `--source system` said "No requests in view", as if requests
    could come; live, the same source says it measures the host, not requests."""
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds
    from apm_tui.ui.widgets.panel import NO_METRICS, NO_REQUESTS, no_metrics, no_requests

    for sources, requests_said, metrics_said in (
        (["system"], NO_REQUESTS, "No host metrics in view yet."),
        (["otlp"], "No requests in view.", NO_METRICS),
    ):
        path = tmp_path / f"{sources[0]}.apmrec"
        rec = Recorder(path, sources=sources, settings={}, interval_s=1.0)
        rec.append(1e9, Batch.of(samples=[MetricSample(timestamp=1e9, cpu_pct=5.0)]))
        rec.close()
        engine = make_engine(DashboardOptions(sources=(), replay=str(path)), Thresholds())
        try:
            snap = engine.step(1e9)
        finally:
            engine.close()
        assert (no_requests(snap), no_metrics(snap)) == (requests_said, metrics_said)
