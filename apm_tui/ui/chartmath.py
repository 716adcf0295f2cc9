"""Chart maths the panels share: plain functions, no Textual, unit-tested on their own."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from apm_tui.model import FloatArray


def merge_buckets(
    t: FloatArray, values: FloatArray, factor: int, how: str = "mean"
) -> tuple[FloatArray, FloatArray]:
    """Merge every `factor` adjacent buckets (aligned from the right, the newest end)."""
    if factor <= 1 or t.size == 0:
        return t, values
    keep = (t.size // factor) * factor
    t, values = t[t.size - keep :], values[values.size - keep :]
    grouped = values.reshape(-1, factor)
    with np.errstate(all="ignore"):
        if how == "max":
            merged = np.where(
                np.isfinite(grouped).any(axis=1),
                np.nanmax(np.where(np.isfinite(grouped), grouped, -np.inf), axis=1),
                np.nan,
            )
        elif how == "sum":
            merged = np.nansum(grouped, axis=1)
        else:
            counts = np.isfinite(grouped).sum(axis=1)
            merged = np.where(
                counts > 0, np.nansum(grouped, axis=1) / np.maximum(counts, 1), np.nan
            )
    return t[::factor], np.asarray(merged, dtype=np.float64)


def fit_factor(n_points: int, plot_width_cells: int, per_cell: int = 2) -> int:
    """How many buckets to merge so the series fits the plot (braille: 2 points a cell)."""
    capacity = max(1, plot_width_cells * per_cell)
    return max(1, math.ceil(n_points / capacity))


def time_ticks(t0: float, t1: float, count: int) -> tuple[list[float], list[str]]:
    """Evenly spaced tick positions over [t0, t1] with HH:MM (or MM-DD when days apart) labels."""
    if count < 2 or not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        return [], []
    positions = list(np.linspace(t0, t1, count))
    fmt = "%m-%d %H:%M" if t1 - t0 > 2 * 86_400 else "%H:%M"
    return positions, [time.strftime(fmt, time.gmtime(p)) for p in positions]


def finite_pairs(t: FloatArray, v: FloatArray) -> tuple[list[float], list[float]]:
    ok = np.isfinite(v)
    return t[ok].tolist(), v[ok].tolist()


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


def sparkline(values: FloatArray, width: int, height: int = 1) -> str:
    """A block-character chart of `values` squeezed into `width` columns and `height` rows.

    The whole series is shown: adjacent values are averaged to fit. NaN shows as blank.
    """
    if width <= 0 or height <= 0:
        return ""
    values = np.asarray(values, dtype=np.float64)
    factor = fit_factor(values.size, width, per_cell=1)
    _, v = merge_buckets(np.arange(values.size, dtype=np.float64), values, factor)
    v = v[-width:]
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return "\n".join(" " * width for _ in range(height))
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo or 1.0
    # Each column's height in eighths of a row, at least one eighth for a finite value.
    levels = np.where(np.isfinite(v), np.maximum(1, np.round((v - lo) / span * height * 8)), 0)
    blocks = " ▁▂▃▄▅▆▇█"
    rows = []
    for row in range(height - 1, -1, -1):
        fill = np.clip(levels - row * 8, 0, 8).astype(int)
        rows.append("".join(blocks[f] for f in fill).rjust(width))
    return "\n".join(rows)


def anomaly_points(
    t: FloatArray, series: FloatArray, counts: FloatArray
) -> tuple[list[float], list[float]]:
    """Where to mark anomalies on a chart: buckets with anomalies, at the series' value there."""
    ok = (counts > 0) & np.isfinite(series)
    return t[ok].tolist(), series[ok].tolist()


def as_rgb(color: Any) -> tuple[int, int, int]:
    r, g, b = color.rgb
    return (int(r), int(g), int(b))
