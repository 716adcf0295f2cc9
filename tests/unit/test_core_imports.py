"""The core (everything outside apm_tui/ui/) must not need Textual: prove it module by module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "apm_tui"
CORE = sorted(
    ".".join(("apm_tui", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if "ui" not in p.relative_to(PACKAGE).parts and p.name != "__main__.py"
)


def test_there_is_a_core_to_check() -> None:
    assert "apm_tui.analysis.full" in CORE and "apm_tui.sources.synthetic" in CORE


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_first_live_view_of_a_days_world_does_not_load_pandas() -> None:
    # The dashboard's first tick reads a day of synthetic history (≈ 40,000 spans); loading
    # pandas then (≈ 0.5 s) held up its first data. The full analysis, later and in the
    # background, still uses pandas.
    code = """
import sys
from apm_tui.analysis.live import endpoint_table
from apm_tui.analysis.requests import extract_requests
from apm_tui.config import Thresholds
from apm_tui.engine import requests_table, slowest_by_endpoint
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings

world = SyntheticSource(WorldSettings(seed=1, hours=24, interval_s=60, traces=8640))
spans = world.backfill().spans
assert len(spans) > 30_000, len(spans)
requests = requests_table(spans)
assert len(endpoint_table(requests, Thresholds())) >= 5 and slowest_by_endpoint(requests)
assert len(extract_requests(spans).trace_id) == 8640
print("pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
