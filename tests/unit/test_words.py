"""Counts and rates in words."""

from __future__ import annotations

from apm_tui.words import counted, rate_spec


def test_counts_say_their_plural() -> None:
    assert counted(1, "line") == "1 line" and counted(1234, "line") == "1,234 lines"
    assert counted(0, "span") == "0 spans"


def test_a_small_rate_keeps_two_significant_digits() -> None:
    # A minute's one request (a short log, a quiet site) read "0.0 req/s" on the panel.
    assert f"{1 / 60:{rate_spec(1 / 60, '.1f')}}" == "0.017"
    assert f"{0.0026:{rate_spec(0.0026, '.2f')}}" == "0.0026"
    assert f"{12.34:{rate_spec(12.34, '.1f')}}" == "12.3"
    assert f"{0.0:{rate_spec(0.0, '.1f')}}" == "0.0"  # none is none
