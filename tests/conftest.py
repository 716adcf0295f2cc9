"""Shared fixtures: the default synthetic world (fixed start, so every run sees the same data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apm_tui.analysis.full import Analysis, analyse
from apm_tui.model import Batch
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
#: 2026-01-01 00:00 UTC: a fixed day so tests do not depend on today's date.
WORLD_START = 1_767_225_600.0


def world(**changes: object) -> SyntheticSource:
    settings = WorldSettings(start=WORLD_START, **changes)  # type: ignore[arg-type]
    return SyntheticSource(settings)


@pytest.fixture(scope="session")
def default_batch() -> Batch:
    return world().backfill()


@pytest.fixture(scope="session")
def default_analysis(default_batch: Batch) -> Analysis:
    return analyse(default_batch.metrics, default_batch.spans)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="rewrite tests/ui/snapshots/*.svg from the current rendering",
    )
