"""The engine's anomalies are fixed by the data alone: not by how the rows were split into
ticks (live: one a tick; a 64× replay: 64), nor by how long a background fit took."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import numpy as np
import pytest

import apm_tui.engine as engine_module
from apm_tui.analysis.result import Anomaly
from apm_tui.analysis.streaming import StreamingDetector
from apm_tui.config import Thresholds
from apm_tui.engine import Engine
from apm_tui.model import Batch, Table

ROWS = 1500


def world(db_from: int | None = None) -> Table:
    """With `db_from`, a third metric whose values start at that row (a source that joined)."""
    rng = np.random.default_rng(7)
    cpu = 40 + rng.normal(0, 2, ROWS)
    rt = 100 + rng.normal(0, 5, ROWS)
    db = 20 + rng.normal(0, 1, ROWS)
    for at in (700, 1100, 1390):
        cpu[at : at + 3] = 97.0
        rt[at : at + 3] = 800.0
    rt[900:960] += np.linspace(0, 150, 60)  # a slow climb, across a refit
    t = 1_700_000_000 + np.arange(ROWS) * 10.0
    columns = {"timestamp": t, "cpu_pct": cpu, "response_time_ms": rt}
    if db_from is not None:
        db[:db_from] = np.nan
        columns["db_query_ms"] = db
    return Table(columns)


class Chunks:
    """The table's rows, `sizes[i]` of them at the i-th poll."""

    name = "chunks"

    def __init__(self, table: Table, sizes: list[int]) -> None:
        self.table, self.sizes, self.at = table, list(sizes), 0

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        return Batch()

    def poll(self, now: float) -> Batch:
        if not self.sizes:
            return Batch()
        n = self.sizes.pop(0)
        rows = self.table.take(slice(self.at, self.at + n))
        self.at += n
        return Batch(metrics=rows)

    def close(self) -> None:
        pass


def run(sizes: list[int], table: Table | None = None, asked: list[int] | None = None) -> list[Any]:
    """The anomalies at the end; `asked` gets the row of each refit request."""
    engine = Engine([Chunks(world() if table is None else table, sizes)], interval_s=10.0)
    take = engine.detector.take_requests

    def spy() -> list[Any]:
        requests = take()
        if asked is not None:
            asked.extend(r.at for r in requests)
        return requests

    engine.detector.take_requests = spy  # type: ignore[method-assign]
    try:
        for i in range(len(sizes)):
            engine.step(float(i))
        engine.wait_for_background()
        assert engine.detector.waiting == 0
        return [key(a) for a in engine._anomalies]
    finally:
        engine.close()


def key(a: Anomaly) -> tuple[Any, ...]:
    return (a.timestamp, a.score, a.severity, a.types)


def split(seed: int, most: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < ROWS:
        sizes.append(min(rng.randint(1, most), ROWS - sum(sizes)))
    return sizes


def slow_fits(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    real = engine_module.fit_all

    def late(*args: Any) -> Any:
        time.sleep(rng.uniform(0.0, 0.3))
        return real(*args)

    monkeypatch.setattr(engine_module, "fit_all", late)


def test_the_same_rows_give_the_same_anomalies_however_they_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_a_tick = run([1] * ROWS)
    assert len(one_a_tick) >= 3  # the three incidents, at least
    assert run([64] * (ROWS // 64) + [ROWS % 64]) == one_a_tick  # a 64× replay
    slow_fits(monkeypatch, 1)
    assert run(split(2, 300)) == one_a_tick  # uneven ticks, fits that land late
    # Blocks of hundreds of rows behind a late fit: scored as one row at a time would be.
    assert run([900, 600]) == one_a_tick


def test_a_metric_that_joins_partway_through_a_tick_gives_the_same_anomalies() -> None:
    """A third metric's values start at row 420, inside a 64-row tick: it is watched from
    that row either way, and the refit it makes due is asked for at the same row."""
    table = world(db_from=420)
    one_asked: list[int] = []
    one_a_tick = run([1] * ROWS, table, one_asked)
    ticks_asked: list[int] = []
    assert run([64] * (ROWS // 64) + [ROWS % 64], table, ticks_asked) == one_a_tick
    assert ticks_asked == one_asked
    # Once the new metric's features are warm: a refit that knows it, off the old grid.
    assert [at for at in one_asked if at > 420 and (at - one_asked[0]) % 240]
    ref = StreamingDetector(Thresholds())
    _, _, found = ref.score_rows(table, refit=True)
    assert [key(a) for a in sorted([*ref.score_history(), *found], key=lambda a: a.timestamp)] == (
        one_a_tick
    )


def test_after_a_jump_the_refits_fall_where_live_had_them() -> None:
    """A block of 961 rows (a replay sent ahead) asks for no refit before its last 240; the
    one it asks for is on live's grid, and so is every one after it."""
    live: list[int] = []
    run([1] * ROWS, asked=live)
    jumped: list[int] = []
    run([1] * 450 + [961] + [1] * (ROWS - 1411), asked=jumped)
    assert [at for at in live if at < 450] == [at for at in jumped if at < 450]
    assert [at for at in jumped if at >= 450] == [at for at in live if at >= 1411 - 240]
    assert [at for at in live if 450 <= at < 1411 - 240]  # refits the jump skipped


def feed(
    table: Table, sizes: list[int], fail: tuple[int, ...] = ()
) -> tuple[list[tuple[int, int, int]], list[Any]]:
    """The detector fed `sizes` rows at a time, each refit fitted between ticks (those
    numbered in `fail` fail): the (number, row, seed) of each request, and the anomalies."""
    from apm_tui.analysis.forest import fit

    detector = StreamingDetector(Thresholds())
    asked: list[tuple[int, int, int]] = []
    found: list[Any] = []
    at = 0
    for size in sizes:
        found += detector.score_rows(table.take(slice(at, at + size)))[2]
        at += size
        detector.ask_if_due()
        for r in detector.take_requests():
            asked.append((r.number, r.at, r.seed))
            model = None if r.number in fail else fit(r.x, list(r.names), r.seed)
            found += detector.install(r.number, model)
    return asked, [key(a) for a in found]


def ticks_of(n: int, size: int = 64) -> list[int]:
    return [size] * (n // size) + ([n % size] if n % size else [])


def test_after_a_jump_the_models_and_anomalies_are_lives() -> None:
    """The refits a jump passes over are counted: the ones after it have live's numbers, so
    their seeds and models are live's, and once the alarm's memory of the jump has passed
    (1,000 samples) so are the anomalies. Before, every later model had another seed."""
    n = 3000
    rng = np.random.default_rng(7)
    cpu, rt = 40 + rng.normal(0, 2, n), 100 + rng.normal(0, 5, n)
    for at in (700, 1100, 2600, 2800):
        cpu[at : at + 3], rt[at : at + 3] = 97.0, 800.0
    table = Table(
        {"timestamp": 1_700_000_000 + np.arange(n) * 10.0, "cpu_pct": cpu, "response_time_ms": rt}
    )
    end = 512 + 1000  # where the jump lands
    live_asked, live_found = feed(table, ticks_of(n))
    asked, found = feed(table, [64] * 8 + [1000] + ticks_of(n - end))
    assert [r for r in asked if r[1] >= end - 240] == [r for r in live_asked if r[1] >= end - 240]
    assert len(asked) < len(live_asked)  # the refits it passed over
    late = 1_700_000_000 + (end + 1000) * 10.0
    assert [a for a in found if a[0] >= late] == [a for a in live_found if a[0] >= late]
    assert [a for a in live_found if a[0] >= late]  # the incidents at 2600 and 2800


def test_a_jump_over_a_metric_joining_keeps_lives_refit_grid() -> None:
    """A metric that joins inside a jump makes a refit due at a row of its own, which moves
    the grid: the jump notes it where live would have, so its refits after are live's."""
    table = world(db_from=700)
    end = 320 + 1000
    live_asked, _ = feed(table, ticks_of(ROWS))
    asked, _ = feed(table, [64] * 5 + [1000] + ticks_of(ROWS - end))
    after = [r for r in live_asked if r[1] >= end - 240]
    assert after and [r for r in asked if r[1] >= end - 240] == after
    # The refit the joining metric made due, off the first model's grid, inside the jump.
    assert [at for _, at, _ in live_asked if 700 < at < end and (at - live_asked[0][1]) % 240]


def test_a_jump_after_a_failed_first_fit_takes_the_retry_it_passes_over_as_fitted() -> None:
    """The first fit fails; live tries again 30 samples later, and that one lands. A jump
    over the retry kept retrying every 30 samples through it (found by a review): 30
    requests against live's 7, none of them after it on live's rows."""
    table = world()
    end = 192 + 1000
    live_asked, _ = feed(table, ticks_of(ROWS), fail=(0,))
    asked, _ = feed(table, [64] * 3 + [1000] + ticks_of(ROWS - end), fail=(0,))
    after = [r for r in live_asked if r[1] >= end - 240]
    assert after and [r for r in asked if r[1] >= end - 240] == after


def test_a_refit_here_after_blocks_that_left_rows_waiting() -> None:
    """Rows of earlier blocks still waiting for their models, then a block fitted here
    (`refit=True`): its runs from those blocks are not its own rows (the slice went wrong)."""
    table = world()
    detector = StreamingDetector(Thresholds())
    detector.score_rows(table.take(slice(0, 200)))  # a request at row 160: rows wait
    detector.score_rows(table.take(slice(200, 450)))  # another at 400
    assert detector.waiting > 0
    scores, _, _ = detector.score_rows(table.take(slice(450, 700)), refit=True)
    assert len(scores) == 250 and np.isfinite(scores).all()
    assert detector.waiting == 0


def test_a_failed_first_fit_is_tried_again_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine_module.fit_all
    calls: list[int] = []

    def flaky(jobs: list[Any]) -> Any:
        calls.append(len(jobs))
        if len(calls) <= 5:
            raise RuntimeError("child killed")
        return real(jobs)

    monkeypatch.setattr(engine_module, "fit_all", flaky)
    engine = Engine([Chunks(world(), [1] * ROWS)], interval_s=10.0)
    try:
        notices, statuses = [], set()
        for i in range(600):
            snap = engine.step(float(i))
            engine.wait_for_background()
            notices += snap.notices
            if engine.detector.model is None and calls:
                statuses.add(snap.live.detector_status)
        first = engine.detector._first
        assert first is not None and engine.detector.model is not None
        # Five tries 30 rows apart, the sixth lands: not one try a refit interval (240 rows).
        assert first[0].at == 160 + 5 * 30 and calls[:6] == [1] * 6
        assert any("anomaly model fit failed: child killed" in n for n in notices)
        assert "the model's fit failed: trying again" in statuses
    finally:
        engine.close()


def test_the_dashboard_flags_what_detect_flags() -> None:
    """`apm-tui detect` refits inline; the dashboard in the background: the same anomalies."""
    ref = StreamingDetector(Thresholds())
    _, _, found = ref.score_rows(world(), refit=True)
    expected = sorted([*ref.score_history(), *found], key=lambda a: a.timestamp)
    assert run(split(3, 100)) == [key(a) for a in expected]


def test_anomalies_that_waited_for_their_model_are_marked_on_the_charts_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The spike's rows wait for a refit that lands after their chart bucket completed: the
    cached charts are remade, not left without the mark until the next bucket."""
    gate = threading.Event()
    calls: list[int] = []
    real = engine_module.fit_all

    def gated(jobs: list[Any]) -> Any:
        calls.append(len(jobs))
        if len(calls) > 1:  # the first model lands; the refits wait for the gate
            gate.wait(60)
        return real(jobs)

    monkeypatch.setattr(engine_module, "fit_all", gated)
    engine = Engine([Chunks(world(), [1] * 800)], interval_s=10.0)
    try:
        for i in range(800):
            engine.step(float(i))
            if engine.detector.requested == 1 and engine.detector.model is None:
                engine.wait_for_background()  # the first model lands
        assert engine.detector.model is not None and len(calls) == 2
        spike = 1_700_000_000 + 700 * 10.0
        snap = engine.step(800.0)  # no rows left: no chart bucket completes from here
        assert engine.detector.waiting > 0
        assert not [a for a in snap.live.anomalies if abs(a.timestamp - spike) <= 30]
        marks = int(snap.live.series.values["anomalies"].sum())
        gate.set()
        engine.wait_for_background()
        snap = engine.step(801.0)
        assert [a for a in snap.live.anomalies if abs(a.timestamp - spike) <= 30]
        assert int(snap.live.series.values["anomalies"].sum()) > marks
    finally:
        gate.set()
        engine.close()


def test_a_scoring_error_is_a_notice_and_the_rows_after_it_are_still_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine([Chunks(world(), [1] * ROWS)], interval_s=10.0)
    real = engine.detector._score_run
    broken: list[int] = []

    def once(run: Any, found: Any) -> Any:
        if engine.detector.model is not None and not broken:
            broken.append(len(run.t))
            raise ValueError("bad row")
        return real(run, found)

    monkeypatch.setattr(engine.detector, "_score_run", once)
    try:
        notices = []
        for i in range(ROWS):
            notices += engine.step(float(i)).notices
        engine.wait_for_background()
        notices += engine.step(float(ROWS)).notices
        assert broken and "anomaly scoring failed: ValueError: bad row" in notices
        assert engine.detector.waiting == 0
        assert [a for a in engine._anomalies if a.timestamp >= 1_700_000_000 + 1390 * 10.0]
    finally:
        engine.close()


def test_closing_stops_a_fit_in_its_child_process_at_once() -> None:
    """`q` during a fit waited for it (3.5 s): the thread waiting for the child is joined
    when Python exits."""
    engine = Engine([Chunks(world(), [400])], interval_s=10.0, isolate_fits=True)
    engine.step(0.0)
    assert engine._fit is not None
    job = engine._fit[1]
    time.sleep(0.3)  # the child is starting (its imports take seconds)
    began = time.monotonic()
    engine.close()
    with pytest.raises(RuntimeError, match="model fit process failed"):
        job.result(timeout=10)
    assert time.monotonic() - began < 1.0
