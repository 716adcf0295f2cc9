"""Counts in words, for messages, panels and the header."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`1 line`, `2 lines`, `1,234 lines`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
