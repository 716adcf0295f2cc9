"""Freed big arrays go back to the system (apm_tui.memory)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from apm_tui.memory import fixed_mmap_threshold

# What the window and a full analysis do: keep some arrays while bigger temporaries come and
# go, after one block bigger than all of them was freed (glibc then raises its threshold).
PATTERN = textwrap.dedent(
    """
    import sys
    import numpy as np
    from apm_tui.memory import fixed_mmap_threshold

    def rss_mb():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

    fixed = sys.argv[1] == "fixed" and fixed_mmap_threshold()
    big = np.ones(10_000_000 // 8)
    del big
    base = rss_mb()
    kept = []
    for i in range(20):
        temporaries = [np.ones((5_000_000 + 100_000 * i) // 8) for _ in range(6)]
        kept.append(np.ones(2_000_000 // 8))
        del temporaries
    print(fixed, rss_mb() - base)
    """
)


def grown_mb(mode: str) -> tuple[bool, float]:
    done = subprocess.run(
        [sys.executable, "-c", PATTERN, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    fixed, grown = done.stdout.split()
    return fixed == "True", float(grown)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_big_arrays_go_back_to_the_system() -> None:
    fixed, grown = grown_mb("fixed")
    if not fixed:
        pytest.skip("no glibc here (mallopt unavailable or refused)")
    kept = 20 * 2.0  # MB the loop keeps
    assert grown < kept + 8, grown
    # The default threshold, for contrast: the temporaries' heap space stays (≈ 75 MB here).
    _, default = grown_mb("default")
    assert default > grown + 20, (default, grown)


def test_elsewhere_it_says_no_and_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fixed_mmap_threshold() is False
