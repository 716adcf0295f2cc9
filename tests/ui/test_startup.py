"""The first frame's budget: what the dashboard loads before it draws, and what it defers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from apm_tui.ui.app import make_app
from tests.ui.conftest import FakeClock, dashboard_options, first_tick

DEFERRED = (
    "numpy",
    "pandas",
    "sklearn",
    "scipy",
    "psutil",
    "PIL",  # only a screenshot needs Pillow
    "apm_tui.engine",
    "apm_tui.model",
)


def test_the_dashboard_module_loads_without_numpy_or_the_engine() -> None:
    # A fresh interpreter: this test process has long imported numpy.
    code = textwrap.dedent(
        f"""
        import sys
        import apm_tui.cli, apm_tui.ui.app
        from apm_tui.ui.app import ApmApp
        loaded = [m for m in {DEFERRED!r} if m in sys.modules]
        print(",".join(loaded))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"loaded before the first frame: {done.stdout}"


async def test_the_engine_is_built_by_the_first_tick_not_before() -> None:
    app = make_app(dashboard_options(window_hours=1.0), clock=FakeClock())
    assert app._engine is None  # make_app does not build sources or their history
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot, settle=False)
        assert app._engine is not None and app.ticks_shown == 1
