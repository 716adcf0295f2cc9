"""Decoding a block of recorded ticks at once gives exactly what decoding each tick and
joining them gave: on the default world's live ticks, on ticks that differ (columns, id forms,
encodings, empty ticks), and on damaged payloads, where the one-by-one path takes over."""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apm_tui.model import Batch, MetricSample, Span, Table
from apm_tui.payload import ZDICT, Strings, decode_batch, encode_batch
from apm_tui.payload_block import Unsupported, decode_joined
from apm_tui.payload_header import COLUMN, COUNTS, PACKED_ZDICT
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
        got = decode_joined([r.payload for r in block], recording.strings, recording.version)
        assert_identical(got, one_by_one(recording, block))
    recording.close()


def encoded(batches: list[Batch], schema: int = 2) -> tuple[list[bytes], Strings]:
    """Payloads of the batches, and their string table: schema 2 (JSON headers) unless said,
    as most tests here are of its reader, whose damage tests edit the JSON."""
    table: dict[str, int] = {}
    payloads = [
        encode_batch(b, lambda t: table.setdefault(t, len(table)), schema=schema) for b in batches
    ]
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


@pytest.mark.parametrize("schema", [2, 3])
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_payloads_in_a_block_give_what_one_by_one_gives(
    schema: int, data: st.DataObject
) -> None:
    hexes = ["ab" * 8, "cd" * 4, "ef" * 4]
    batches = [
        Batch(metrics_batch(10.0 + i, 1.5 * i).metrics, spans_batch(hexes, 10.0 + i).spans)
        for i in range(3)
    ]
    payloads, strings = encoded(batches, schema)
    zdict = PACKED_ZDICT if schema == 3 else ZDICT
    which = data.draw(st.integers(0, 2))
    raw = bytearray(zlib.decompressobj(zdict=zdict).decompress(payloads[which]))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    packer = zlib.compressobj(zdict=zdict)
    payloads[which] = packer.compress(bytes(raw)) + packer.flush()

    class Fake:
        version = schema
        lost = 0

        def __init__(self) -> None:
            self.strings = strings

        def decode(self, payload: bytes) -> Batch:
            return Recording._decode(self, payload)  # type: ignore[arg-type]

    raws = [RawTick(i, 10.0 + i, False, p) for i, p in enumerate(payloads)]
    fake = Fake()
    got = _decoded(fake, raws)  # type: ignore[arg-type]
    assert_identical(got, one_by_one(fake, raws))  # type: ignore[arg-type]
    assert fake.lost <= 1


# -- the block path's own cases: every one decoded both ways ------------------------------------
def decoded_both_ways(batches: list[Batch]) -> Batch:
    """The block decode of the batches' payloads, checked equal to decoding each and joining;
    and schema 3's (packed headers), in a block and one by one, equal to that."""
    payloads, strings = encoded(batches)
    got = decode_joined(payloads, strings)
    want = _joined(
        [Tick(i, 0.0, False, decode_batch(p, strings)) for i, p in enumerate(payloads)], []
    )
    assert_identical(got, want)
    packed, strings = encoded(batches, schema=3)
    assert_identical(decode_joined(packed, strings, 3), got)
    each = [Tick(i, 0.0, False, decode_joined([p], strings, 3)) for i, p in enumerate(packed)]
    assert_identical(_joined(each, []), got)
    return got


def span_rows(ids: list[tuple[str, str, str]], t: float, **columns: list[float]) -> Batch:
    """Spans with the given (trace, span, parent) ids, and extra numeric columns."""
    spans = Batch.of(spans=[
        Span(trace, span, parent, f"svc-{i % 3}", "op", t + i / 1000, 1.5 * i, kind="server",
             error=i % 2 == 1, attributes={"n": i % 4})
        for i, (trace, span, parent) in enumerate(ids)
    ]).spans  # fmt: skip
    cols = spans.columns()
    cols.update({name: np.array(values) for name, values in columns.items()})
    return Batch(spans=Table(cols), status={"t": t})


def test_ids_of_every_length_and_form_in_one_block() -> None:
    hexes = [("ab" * 16, "cd" * 8, ""), ("ab" * 16, "0e" * 4, "cd" * 8), ("12", "3456", "12")]
    texts = [("T-1", "S-1", ""), ("T-1", "abc", "S-1")]  # odd-length hex: stored as text
    upper = [("ABCDEF01", "ABCDEF02", "")]  # not lowercase: stored as text
    got = decoded_both_ways([span_rows(hexes, 1.0), span_rows(texts, 2.0), span_rows(upper, 3.0),
                             span_rows(hexes[::-1], 4.0)])  # fmt: skip
    assert got.spans["span_id"].tolist()[:3] == ["cd" * 8, "0e" * 4, "3456"]
    assert got.spans["parent_id"].tolist() == [
        "",
        "cd" * 8,
        "12",
        "",
        "S-1",
        "",
        "12",
        "cd" * 8,
        "",
    ]
    assert all(type(v) is str for v in got.spans["trace_id"])


def test_metric_row_counts_and_stored_types_differ_between_ticks() -> None:
    def metrics(t: float, cpu: list[float]) -> Batch:
        n = len(cpu)
        return Batch(metrics=Table({"timestamp": t + np.arange(n), "cpu_pct": np.array(cpu)}))

    got = decoded_both_ways([
        metrics(10.0, [1.5]),
        metrics(11.0, [1.25, 300.5, -2.0]),  # three rows, wider integers
        metrics(14.0, [np.nan, np.nan]),  # NaN only: no bytes
        metrics(16.0, [1 / 3]),  # float64
        metrics(17.0, [2.0**40, 0.001]),  # eight-byte integers
        metrics(19.0, [1e-7]),  # not a few decimal places: float64
    ])  # fmt: skip
    assert got.metrics["timestamp"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0,
                                                 17.0, 18.0, 19.0]  # fmt: skip
    assert got.metrics["cpu_pct"][1:4].tolist() == [1.25, 300.5, -2.0]
    assert np.isnan(got.metrics["cpu_pct"][4:6]).all()


def test_empty_span_sections_between_others_and_span_columns_of_every_type() -> None:
    ids = [("aa" * 8, "bb" * 4, ""), ("aa" * 8, "cc" * 4, "bb" * 4)]
    got = decoded_both_ways([
        span_rows(ids, 1.0, bytes=[1.0, 2.5]),
        Batch(metrics=metrics_batch(2.0, 1.0).metrics),  # no spans
        Batch(),  # nothing at all
        span_rows(ids, 3.0, bytes=[np.nan, np.nan]),
        Batch(metrics=metrics_batch(4.0, 2.0).metrics),
        span_rows(ids, 1e6 + 0.123456, bytes=[1 / 3, 2**40]),
    ])  # fmt: skip
    assert len(got.spans) == 6 and len(got.metrics) == 2
    assert got.spans["error"].tolist() == [False, True] * 3
    assert got.spans["bytes"][:2].tolist() == [1.0, 2.5]


def test_index_types_differ_between_ticks() -> None:
    many = [(f"{i:032x}", f"{i + 1000:016x}", "") for i in range(200)]  # > 127 ids: two bytes
    got = decoded_both_ways(
        [span_rows(many[:3], 1.0), span_rows(many, 2.0), span_rows(many[:1], 3.0)]
    )
    assert got.spans["trace_id"].tolist()[3:6] == [f"{i:032x}" for i in range(3)]
    assert len(got.spans) == 204


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_blocks_decode_as_the_ticks_did(data: st.DataObject) -> None:
    """Ticks mixing every encoding the writer picks: rows, stored types, id forms, NaNs."""
    values = st.one_of(
        st.integers(-(2**40), 2**40).map(float),
        st.integers(-(10**7), 10**7).map(lambda i: i / 1000),
        st.floats(allow_nan=True, allow_infinity=False, width=64),
        st.just(np.nan),
    )
    hex_id = st.binary(min_size=1, max_size=16).map(bytes.hex)
    an_id = st.one_of(hex_id, st.sampled_from(["log-1", "X", "ABCD"]))
    extra = data.draw(st.booleans())
    batches = []
    for t in range(data.draw(st.integers(1, 6))):
        n = data.draw(st.integers(0, 3))
        cpu = data.draw(st.lists(values, min_size=n, max_size=n))
        metrics = Table({"timestamp": float(t) + np.arange(n), "cpu_pct": np.array(cpu)})
        k = data.draw(st.integers(0, 4))
        ids = data.draw(st.lists(st.tuples(an_id, an_id, an_id), min_size=k, max_size=k))
        more = {"bytes": data.draw(st.lists(values, min_size=k, max_size=k))} if extra else {}
        spans = span_rows(ids, 1e9 + t / 7, **more).spans
        batches.append(Batch(metrics=metrics if n else Table({}), spans=spans, status={"t": t}))
    decoded_both_ways(batches)


def payload_edited(payload: bytes, edit: Any) -> bytes:
    """A payload whose (header, body) `edit` changed, compressed again."""
    raw = zlib.decompressobj(zdict=ZDICT).decompress(payload)
    size = int.from_bytes(raw[:4], "little")
    header, body = edit(json.loads(raw[4 : 4 + size]), bytearray(raw[4 + size :]))
    head = json.dumps(header).encode()
    packer = zlib.compressobj(zdict=ZDICT)
    return packer.compress(len(head).to_bytes(4, "little") + head + bytes(body)) + packer.flush()


def test_damage_that_still_adds_up_decodes_as_the_ticks_did() -> None:
    """A zero-length id (never written): one by one it is "", and so it is in a block."""
    ids = [("aa" * 8, "bb" * 4, ""), ("aa" * 8, "cc" * 4, "bb" * 4)]
    payloads, strings = encoded([span_rows(ids, 1.0), span_rows(ids, 2.0)])

    def empty_second_id(
        header: dict[str, Any], body: bytearray
    ) -> tuple[dict[str, Any], bytearray]:
        s = header["spans"]
        at = 3 * s["rows"]  # the lengths follow the three one-byte id indexes
        assert body[at : at + 3] == bytes([8, 4, 4])
        body[at + 1] = 0
        del body[at + 3 + 8 : at + 3 + 12]
        s["ids"]["bytes"] -= 4
        return header, body

    payloads[1] = payload_edited(payloads[1], empty_second_id)
    got = decode_joined(payloads, strings)
    want = _joined(
        [Tick(i, 0.0, False, decode_batch(p, strings)) for i, p in enumerate(payloads)], []
    )
    assert_identical(got, want)
    assert got.spans["span_id"].tolist() == ["bb" * 4, "cc" * 4, "", "cc" * 4]


@pytest.mark.parametrize(
    "edit",
    [
        lambda h, b: (h, b + b"\0"),  # trailing bytes
        lambda h, b: (h, b[:-1]),  # truncated
        lambda h, b: ({**h, "metrics": {**h["metrics"], "rows": 2}}, b),  # rows beyond the bytes
        lambda h, b: (_set(h, ["metrics", "columns", 0, 1, "dtype"], "<u2"), b),
        lambda h, b: (_set(h, ["metrics", "columns", 0, 1, "places"], 4), b),
        lambda h, b: (_set(h, ["metrics", "columns", 0, 1], [1]), b),
        lambda h, b: (_set(h, ["spans", "trace_id"], "<f8"), b),
        lambda h, b: (_set(h, ["spans", "start"], [1]), b),  # an encoding that is no object
        lambda h, b: (_set(h, ["spans", "duration_ms"], "<i1"), b),
        lambda h, b: (_set(h, ["spans", "text", "kind"], ["<i1"]), b),
        lambda h, b: (_set(h, ["spans", "ids", "hex"], -1), b),
        lambda h, b: (_set(h, ["spans", "ids"], {"text": ["a", 1]}), b),
        lambda h, b: (_set(h, ["spans", "extra"], [["start", {"nan": True}]]), b),
        lambda h, b: (_set(h, ["spans", "extra"], [["x", {"nan": True}]] * 2), b),
        lambda h, b: (_set(h, ["status"], [1]), b),
        lambda h, b: (h, _second_id_length(b, 3)),  # the ids' lengths ≠ their bytes
        lambda h, b: (h, _second_id_length(b, 5)),
    ],
)
def test_what_does_not_add_up_fails_in_a_block_as_one_by_one(edit: Any) -> None:
    ids = [("aa" * 8, "bb" * 4, ""), ("aa" * 8, "cc" * 4, "bb" * 4)]
    batches = [Batch(metrics_batch(1.0, 1.5).metrics, span_rows(ids, 1.0).spans)] * 2
    payloads, strings = encoded(batches)
    payloads[1] = payload_edited(payloads[1], edit)
    with pytest.raises(DECODE_ERRORS):
        decode_batch(payloads[1], strings)
    with pytest.raises(ValueError):
        decode_joined(payloads, strings)


def _second_id_length(body: bytearray, value: int) -> bytearray:
    at = body.index(bytes([8, 4, 4]))  # the lengths of the ids "aa" * 8, "bb" * 4, "cc" * 4
    body[at + 1] = value
    return body


def _set(header: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    node = header
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return header


def test_index_beyond_a_ticks_ids_or_a_lost_string_fails_in_a_block() -> None:
    ids = [("aa" * 8, "bb" * 4, ""), ("aa" * 8, "cc" * 4, "bb" * 4)]
    payloads, strings = encoded([span_rows(ids, 1.0), span_rows(ids, 2.0)])

    def beyond(header: dict[str, Any], body: bytearray) -> tuple[dict[str, Any], bytearray]:
        body[0] = 4  # trace_id of the first span: this tick has ids 0 ("") to 3
        return header, body

    damaged = [payloads[0], payload_edited(payloads[1], beyond)]
    with pytest.raises(ValueError, match="index out of range"):
        decode_batch(damaged[1], strings)
    with pytest.raises(ValueError, match="index out of range"):
        decode_joined(damaged, strings)
    lost = Strings([None if v == "svc-1" else v for v in strings.values])
    with pytest.raises(ValueError, match="missing string"):
        decode_batch(payloads[0], lost)
    with pytest.raises(ValueError, match="missing string"):
        decode_joined(payloads, lost)


def test_attribute_sets_are_parsed_once_and_shared_with_one_by_one() -> None:
    strings = Strings(['{"a":1}', None, '{"b":[1,2]}', "[1]"])
    got = strings.attributes_at(np.array([2, 0, 2, 0]))
    assert got.tolist() == [{"b": [1, 2]}, {"a": 1}, {"b": [1, 2]}, {"a": 1}]
    assert got[0] is got[2] is strings.attributes(2)
    assert strings.attributes_at(np.array([0]))[0] is got[1]
    with pytest.raises(ValueError, match="missing"):
        strings.attributes_at(np.array([0, 1]))
    with pytest.raises(ValueError, match="bad span attributes"):
        strings.attributes_at(np.array([3]))
    assert strings.missing.tolist() == [False, True, False, False]


# -- schema 3: packed headers ---------------------------------------------------------------------
def packed_edited(payload: bytes, edit: Any) -> bytes:
    """A schema-3 payload whose (header, body) bytes `edit` changed, compressed again."""
    raw = zlib.decompressobj(zdict=PACKED_ZDICT).decompress(payload)
    size = int.from_bytes(raw[:4], "little")
    head, body = edit(bytearray(raw[4 : 4 + size]), bytearray(raw[4 + size :]))
    packer = zlib.compressobj(zdict=PACKED_ZDICT)
    return packer.compress(len(head).to_bytes(4, "little") + head + body) + packer.flush()


def _spans_at(head: bytearray) -> int:
    """Where a packed header's span section starts (after its metric columns)."""
    return COUNTS.size + COLUMN.size * COUNTS.unpack_from(head, 0)[1]


def _poke(at: Any, fmt: str, value: int) -> Any:
    """An edit writing `value` (struct format `fmt`) at `at(head)` of the header."""

    def edit(head: bytearray, body: bytearray) -> tuple[bytearray, bytearray]:
        struct.pack_into(fmt, head, at(head), value)
        return head, body

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h, b: (h, b + b"\0"), "trailing bytes"),
        (lambda h, b: (h, b[:-1]), "truncated"),
        (lambda h, b: (h[:-1], b), "header"),  # its status's size runs past the end
        (lambda h, b: (h + b"\0", b), "header length"),
        (lambda h, b: (h[:9], b), "header truncated"),
        (_poke(lambda h: 0, "<I", 2), "payload truncated"),  # metric rows beyond the bytes
        (_poke(lambda h: 0, "<I", 300_000_000), "row count"),
        (_poke(lambda h: COUNTS.size + 4, "<B", 6), "bad column type"),
        (_poke(lambda h: COUNTS.size + 5, "<B", 4), "bad column scale"),
        (_poke(lambda h: COUNTS.size, "<I", 10**6), "missing string"),  # a name not in the table
        (_poke(lambda h: _spans_at(h) + 4, "<B", 4), "bad index type"),  # a trace id index
        (_poke(lambda h: _spans_at(h) + 7, "<B", 2), "bad id form"),
        (_poke(lambda h: _spans_at(h) + 8, "<I", 10**9), "payload truncated"),  # ids
        (_poke(lambda h: _spans_at(h) + 16, "<B", 9), "bad index type"),  # the service index
        (_poke(lambda h: _spans_at(h) + 20, "<B", 7), "bad column type"),  # start
    ],
)
def test_a_packed_header_that_does_not_add_up_is_a_value_error(edit: Any, message: str) -> None:
    ids = [("aa" * 8, "bb" * 4, ""), ("aa" * 8, "cc" * 4, "bb" * 4)]
    batches = [Batch(metrics_batch(1.0, 1.5).metrics, span_rows(ids, 1.0).spans)] * 2
    payloads, strings = encoded(batches, schema=3)
    assert_identical(decode_joined(payloads, strings, 3), decoded_both_ways(batches))
    payloads[1] = packed_edited(payloads[1], edit)
    with pytest.raises(ValueError, match=message):
        decode_joined(payloads[1:], strings, 3)
    # In a block: an error, or (names that differ) the one-by-one path, which finds it.
    with pytest.raises((ValueError, Unsupported)):
        decode_joined(payloads, strings, 3)


def test_a_packed_status_must_be_an_object_with_a_list_of_notices() -> None:
    batch = Batch(metrics=metrics_batch(1.0, 1.5).metrics, status={"notices": ["said once"]})
    payloads, strings = encoded([batch], schema=3)
    assert decode_joined(payloads, strings, 3).status == {"notices": ["said once"]}

    def status(text: bytes) -> Any:
        def edit(head: bytearray, body: bytearray) -> tuple[bytearray, bytearray]:
            old = struct.unpack_from("<I", head, len(head) - len(b'{"notices":["said once"]}') - 4)
            assert old == (len(b'{"notices":["said once"]}'),)
            cut = len(head) - old[0] - 4
            return head[:cut] + struct.pack("<I", len(text)) + text, body

        return edit

    cases = (
        (b"[1]", "bad status"),
        (b'{"notices":"abc"}', "bad notices"),
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    )
    for text, message in cases:
        with pytest.raises(ValueError, match=message):
            decode_joined([packed_edited(payloads[0], status(text))], strings, 3)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_as_a_packed_payload_are_rejected_not_crashed_on(data: bytes) -> None:
    packer = zlib.compressobj(zdict=PACKED_ZDICT)
    for payload in (data, packer.compress(data) + packer.flush()):
        with contextlib.suppress(*DECODE_ERRORS):
            decode_joined([payload], Strings(["timestamp", "cpu_pct", "web"]), 3)
