"""Decoding a block of recorded ticks at once gives exactly what decoding each tick and
joining them gave: on the default world's live ticks, on ticks that differ (columns, id forms,
encodings, empty ticks), and on damaged payloads, where the one-by-one path takes over."""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apm_tui.model import Batch, MetricSample, Span, Table
from apm_tui.payload import ZDICT, Strings, encode_batch
from apm_tui.payload_block import Unsupported, decode_joined
from apm_tui.recording import DECODE_ERRORS, RawTick, Recorder, Recording, Tick
from apm_tui.sources.recorded import ReplaySource, _decoded, _joined
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
from tests.conftest import WORLD_START


def assert_identical(a: Batch, b: Batch) -> None:
    """Same columns in the same order, same dtypes, floats bit for bit, same objects' values."""
    for x, y in ((a.metrics, b.metrics), (a.spans, b.spans)):
        assert x.names == y.names
        for name in x.names:
            assert x[name].dtype == y[name].dtype, name
            if x[name].dtype.kind == "f":
                assert x[name].tobytes() == y[name].tobytes(), name
            else:
                assert x[name].tolist() == y[name].tolist(), name
    assert a.status == b.status


def one_by_one(recording: Recording, raws: list[RawTick]) -> Batch:
    """What a replay did before: decode each tick (a damaged one is lost), then join."""
    ticks = []
    for raw in raws:
        with contextlib.suppress(DECODE_ERRORS):
            ticks.append(Tick(raw.seq, raw.t, raw.history, recording.decode(raw.payload)))
    return _joined(ticks, [])


@pytest.fixture(scope="module")
def world_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten minutes of the default world's live ticks (speed 60), recorded as `--record` does."""
    path = tmp_path_factory.mktemp("rec") / "world.apmrec"
    source = SyntheticSource(
        WorldSettings(hours=1, start=WORLD_START, speed=60.0, interval_s=60.0, live_trace_rate=0.1)
    )
    source.open()
    rec = Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0)
    rec.append(WORLD_START + 3600, source.backfill(), history=True)
    now = WORLD_START + 3600
    for _ in range(600):
        now += 1.0
        rec.append(now, source.poll(now))
    rec.close()
    return path


@pytest.mark.parametrize("size", [1, 2, 64, 200])
def test_blocks_of_the_default_world_decode_as_the_ticks_did(
    world_recording: Path, size: int
) -> None:
    recording = Recording.open(world_recording)
    raws = [r for r in recording.raw_ticks() if not r.history]
    assert sum(len(recording.decode(r.payload).spans) for r in raws) > 1000
    for start in range(0, len(raws), size):
        block = raws[start : start + size]
        assert_identical(decode_joined([r.payload for r in block], recording.strings),
                         one_by_one(recording, block))  # fmt: skip
    recording.close()


def encoded(batches: list[Batch]) -> tuple[list[bytes], Strings]:
    table: dict[str, int] = {}
    payloads = [encode_batch(b, lambda t: table.setdefault(t, len(table))) for b in batches]
    return payloads, Strings(list(table))


def spans_batch(ids: list[str], t: float, extra: dict[str, list[float]] | None = None) -> Batch:
    spans = Batch.of(spans=[
        Span(ids[0], ids[1], "", "web", "GET /x", t, 5.0, kind="server",
             attributes={"http.route": "/x", "http.status_code": 200}),
        Span(ids[0], ids[2], ids[1], "db", "SELECT", t + 0.001, 2.123456, kind="db",
             error=True),
    ]).spans  # fmt: skip
    columns = spans.columns()
    for name, values in (extra or {}).items():
        columns[name] = np.array(values)
    return Batch(spans=Table(columns), status={"tick": t})


def metrics_batch(t: float, cpu: float, **more: float) -> Batch:
    return Batch.of(samples=[MetricSample(timestamp=t, cpu_pct=cpu, **more)])  # type: ignore[arg-type]


def test_ticks_that_differ_decode_alike_or_go_one_by_one() -> None:
    hexes = ["0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "00f067aa0ba902b7"]
    batches = [
        spans_batch(hexes, 10.0),
        spans_batch(["log-1", "log-2", "X"], 11.5),  # ids as text
        Batch(),  # an empty tick
        Batch(metrics=metrics_batch(12.0, 0.1).metrics, spans=spans_batch(hexes, 12.25).spans),
        Batch(metrics=metrics_batch(13.0, np.nan).metrics),  # a NaN-only column
        Batch(metrics=metrics_batch(14.0, 1 / 3).metrics),  # a float64 column
        Batch(metrics=metrics_batch(15.0, 2.0**40).metrics),  # wide integers
    ]
    payloads, strings = encoded(batches)
    want = _joined([Tick(i, 0.0, False, b) for i, b in enumerate(batches)], [])
    assert_identical(decode_joined(payloads, strings), want)
    # Different metric columns, or different extra span columns: one by one.
    one = Batch(metrics=Table({"timestamp": np.array([1.0]), "cpu_pct": np.array([5.0])}))
    two = Batch(metrics=Table({"timestamp": np.array([2.0]), "memory_pct": np.array([5.0])}))
    with pytest.raises(Unsupported):
        decode_joined(*encoded([one, two]))
    odd = [spans_batch(hexes, 1.0, {"bytes": [1.0, 2.0]}), spans_batch(hexes, 2.0)]
    with pytest.raises(Unsupported):
        decode_joined(*encoded(odd))
    same = [
        spans_batch(hexes, 1.0, {"bytes": [1.0, np.nan]}),
        spans_batch(hexes, 2.0, {"bytes": [3.5, 4.0]}),
    ]
    payloads, strings = encoded(same)
    want = _joined([Tick(i, 0.0, False, b) for i, b in enumerate(same)], [])
    assert_identical(decode_joined(payloads, strings), want)


def test_a_replay_decodes_damaged_and_odd_ticks_as_before(tmp_path: Path) -> None:
    path = tmp_path / "r.apmrec"
    rec = Recorder(path, sources=["s"], settings={}, interval_s=1.0)
    rec.append(5.0, Batch(metrics=metrics_batch(5.0, 1.0).metrics), history=True)
    batches = [Batch(metrics=metrics_batch(10.0 + i, float(i)).metrics) for i in range(6)]
    batches[3] = Batch(metrics=metrics_batch(13.0, 3.0, memory_pct=9.0).metrics)
    for i, b in enumerate(batches):
        rec.append(10.0 + i, b)
    rec.close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("UPDATE ticks SET payload = x'00ff' WHERE t = 12.0")
    db.commit()
    db.close()
    recording = Recording.open(path)
    raws = [r for r in recording.raw_ticks() if not r.history]
    got = _decoded(recording, raws)
    assert recording.lost == 1
    assert_identical(got, one_by_one(recording, raws))
    assert got.metrics["timestamp"].tolist() == [10.0, 11.0, 13.0, 14.0, 15.0]
    recording.close()
    replay = ReplaySource(path, speed=100.0)
    history = replay.backfill()
    assert history.metrics["cpu_pct"].tolist() == [1.0]
    assert replay.poll(0.0).metrics["timestamp"].tolist() == [10.0]
    later = replay.poll(1.0)
    assert later.metrics["timestamp"].tolist() == [11.0, 13.0, 14.0, 15.0]
    assert replay.recording.lost == 1 and later.status["replay"]["done"]
    replay.close()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_payloads_in_a_block_give_what_one_by_one_gives(data: st.DataObject) -> None:
    hexes = ["ab" * 8, "cd" * 4, "ef" * 4]
    batches = [
        Batch(metrics_batch(10.0 + i, 1.5 * i).metrics, spans_batch(hexes, 10.0 + i).spans)
        for i in range(3)
    ]
    payloads, strings = encoded(batches)
    which = data.draw(st.integers(0, 2))
    raw = bytearray(zlib.decompressobj(zdict=ZDICT).decompress(payloads[which]))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    packer = zlib.compressobj(zdict=ZDICT)
    payloads[which] = packer.compress(bytes(raw)) + packer.flush()

    class Fake:
        version = 2
        lost = 0

        def __init__(self) -> None:
            self.strings = strings

        def decode(self, payload: bytes) -> Batch:
            from apm_tui.payload import decode_batch

            return decode_batch(payload, strings)

    raws = [RawTick(i, 10.0 + i, False, p) for i, p in enumerate(payloads)]
    fake = Fake()
    got = _decoded(fake, raws)  # type: ignore[arg-type]
    assert_identical(got, one_by_one(fake, raws))  # type: ignore[arg-type]
