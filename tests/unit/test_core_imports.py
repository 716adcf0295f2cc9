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
