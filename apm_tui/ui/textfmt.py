"""Numbers and bars as text: no numpy, so the panels can import it before the first frame."""

from __future__ import annotations

import math


def fmt(value: float, spec: str = ".0f", unit: str = "") -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:{spec}}{unit}"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction`, with eighth-block resolution."""
    if width <= 0 or not math.isfinite(fraction):
        return ""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width)


def clip(text: str, width: int) -> str:
    """`text` in `width` cells, padded; cut with an ellipsis, so a cut name reads as one
    (`/api/orders/cre…`, not `/api/orders/creat`). A cell is left after it as a gap."""
    room = max(width - 1, 1)
    shown = text if len(text) <= room else text[: room - 1] + "…"
    return f"{shown:<{width}}"


def span(seconds: float) -> str:
    """A length of time, said shortly: 45 s, 35 min, 1.5 h, 24 h, 3 d ("" when unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h".replace(".0 h", " h")
    return f"{hours / 24:.1f} d".replace(".0 d", " d")
