"""A source of one's own is checked where its batches enter: what is not a usable Batch is a
SourceError naming the source, the call and the problem (one line in a report, a notice live)."""

from __future__ import annotations

import numpy as np
import pytest

from apm_tui.engine import Engine
from apm_tui.model import Batch, MetricSample, Span, Table
from apm_tui.sources.base import SourceError
from apm_tui.sources.checked import Checked, check_batch
from tests.unit.broken_sources import DictPoll, NoneHistory, Quiet, TextTimes


def test_a_usable_batch_passes_as_it_is() -> None:
    span = Span("t", "s", "", "svc", "GET /", start=1000.0, duration_ms=5.0)
    batch = Batch.of(samples=[MetricSample(timestamp=1000.0, cpu_pct=3.0)], spans=[span])
    assert check_batch("poll()", batch) is batch
    empty = Batch()
    assert check_batch("poll()", empty) is empty


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (None, "poll() returned None instead of a Batch"),
        ({}, "poll() returned a dict instead of a Batch"),
        (3, "poll() returned an int instead of a Batch"),
        (
            Batch(metrics=Table({"timestamp": [1.0, "x"]})),  # type: ignore[dict-item]
            "returned metrics whose 'timestamp' column is not numbers (e.g. 1.0)",
        ),
        (Batch(metrics={"timestamp": [1.0]}), "returned metrics that are a dict, not a Table"),  # type: ignore[arg-type]
        (Batch(status=[]), "returned a status that is a list, not a dict"),  # type: ignore[arg-type]
        (
            Batch(metrics=Table({"timestamp": np.array(["2026-01-01"])})),
            "returned metrics whose 'timestamp' column is not numbers (e.g. '2026-01-01')",
        ),
        (
            Batch(metrics=Table({"timestamp": np.array([1.0, np.nan])})),
            "returned metrics whose 'timestamp' column is not all finite (nan)",
        ),
        (
            Batch(metrics=Table({"timestamp": np.array([1.0]), "cpu_pct": np.array(["high"])})),
            "returned metrics whose 'cpu_pct' column is not numbers (e.g. 'high')",
        ),
        (
            Batch(metrics=Table({"cpu_pct": np.array([1.0])})),
            "returned metrics without a 'timestamp' column",
        ),
        (
            Batch(spans=Table({"start": np.array([np.inf]), "duration_ms": np.array([1.0])})),
            "returned spans whose 'start' column is not all finite (inf)",
        ),
    ],
)
def test_what_is_not_a_usable_batch_is_said(batch: object, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        check_batch("poll()", batch)
    assert message in str(caught.value) and "\n" not in str(caught.value)


class Steady(Quiet):
    name = "steady"

    def poll(self, now: float) -> Batch:
        return Batch.of(samples=[MetricSample(timestamp=now, cpu_pct=30.0)])


def test_the_wrapper_checks_backfill_and_poll_and_passes_the_rest_on() -> None:
    with pytest.raises(SourceError, match=r"backfill\(\) returned None"):
        Checked(NoneHistory()).backfill()
    with pytest.raises(SourceError, match=r"poll\(\) returned a dict"):
        Checked(DictPoll()).poll(1000.0)
    steady = Checked(Steady())
    assert steady.name == "steady" and not steady.backfill()
    assert steady.poll(1000.0).metrics["cpu_pct"].tolist() == [30.0]


def test_the_dashboard_drops_such_a_source_with_a_notice_as_for_any_failure() -> None:
    engine = Engine([Checked(TextTimes()), Steady()], interval_s=1.0)
    first = engine.step(1000.0)
    assert first.notices == (
        "broken: backfill() returned metrics whose 'timestamp' column is not "
        "numbers (e.g. '2026-01-01T00:00:00')",
    )
    assert engine.step(1001.0).sources == ("steady",)
