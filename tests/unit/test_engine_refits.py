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


def world() -> Table:
    rng = np.random.default_rng(7)
    cpu = 40 + rng.normal(0, 2, ROWS)
    rt = 100 + rng.normal(0, 5, ROWS)
    for at in (700, 1100, 1390):
        cpu[at : at + 3] = 97.0
        rt[at : at + 3] = 800.0
    rt[900:960] += np.linspace(0, 150, 60)  # a slow climb, across a refit
    t = 1_700_000_000 + np.arange(ROWS) * 10.0
    return Table({"timestamp": t, "cpu_pct": cpu, "response_time_ms": rt})


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


def run(sizes: list[int]) -> list[tuple[Any, ...]]:
    table = world()
    engine = Engine([Chunks(table, sizes)], interval_s=10.0)
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
