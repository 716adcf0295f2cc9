"""Counts and rates in words, for messages, panels, the header and the report."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`1 line`, `2 lines`, `1,234 lines`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def rate_spec(rate: float, spec: str) -> str:
    """The format for a rate: `spec`, or two significant digits below 0.1, where `spec` would
    round a quiet log's 0.0026 req/s (or a minute's one request) to 0."""
    return ".2g" if 0 < abs(rate) < 0.1 else spec
