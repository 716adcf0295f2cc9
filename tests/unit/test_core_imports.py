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


def test_a_days_world_is_shown_and_analysed_without_loading_pandas() -> None:
    # The dashboard's first tick reads a day of synthetic history (≈ 40,000 spans); loading
    # pandas then (≈ 0.5 s) held up its first data. Its full analysis (every few seconds, in
    # the background) and the trace screen do not load it either: pandas held ≈ 40 MB of a
    # dashboard that may run for days. (The model is fitted in a process of its own.)
    code = """
import sys
from apm_tui.analysis.traces import recent_traces
from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import Thresholds

engine = make_engine(DashboardOptions(), Thresholds())  # the dashboard's: a day of history
now = 1000.0
first = engine.step(now)
assert len(first.live.endpoints) >= 5, first.live.endpoints
for _ in range(5):
    now += 1
    engine.step(now)
engine.wait_for_background()
now += 1
engine.step(now)
analysis = engine.analysis
assert analysis is not None and analysis.spans_count > 30_000, analysis
kinds = {b.kind for b in analysis.bottlenecks}
assert {"slow_endpoint", "slow_query"} <= kinds, kinds
assert any("→" in r.impact for r in analysis.recommendations)
assert len(recent_traces(engine.window.spans.view())) == 500
engine.close()
print("pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
