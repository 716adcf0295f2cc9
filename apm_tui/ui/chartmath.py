"""Chart maths the panels share: plain functions, no Textual, unit-tested on their own."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from apm_tui.model import FloatArray

if TYPE_CHECKING:
    from apm_tui.analysis.live import Series
    from apm_tui.ui.plot import Figure

Y_AXIS_CELLS = 6  # the y labels and the axis take about this many columns


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


def rebinned(counts: FloatArray, width: int) -> FloatArray:
    """A histogram's counts over `width` equal columns, each bin's count taken as spread evenly
    across it: a compact distribution fills its panel from its first bin. (`sparkline` squeezes
    a series as it does time, right-aligned: 30 bins in 24 columns left 9 blank on the fast
    side, which read as "no fast requests".)"""
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(counts, dtype=np.float64))])
    cuts = np.linspace(0.0, len(counts), max(width, 1) + 1)
    return np.diff(np.interp(cuts, np.arange(len(counts) + 1, dtype=np.float64), cum))


def anomaly_points(
    t: FloatArray, series: FloatArray, counts: FloatArray
) -> tuple[list[float], list[float]]:
    """Where to mark anomalies on a chart: buckets with anomalies, at the series' value there."""
    ok = (counts > 0) & np.isfinite(series)
    return t[ok].tolist(), series[ok].tolist()


def as_rgb(color: Any) -> tuple[int, int, int]:
    r, g, b = color.rgb
    return (int(r), int(g), int(b))


def series_xy(
    series: Series, name: str, width: int, how: str = "mean"
) -> tuple[list[float], list[float]]:
    t = series.t
    values = series.values.get(name, np.full(t.size, np.nan))
    factor = fit_factor(t.size, width - Y_AXIS_CELLS)
    t2, v2 = merge_buckets(t, values, factor, how)
    return finite_pairs(t2, v2)


def anomaly_xy(
    series: Series, name: str, width: int, types: tuple[str, ...]
) -> tuple[list[float], list[float]]:
    """Anomalies whose causes include one of `types`, placed on the `name` line."""
    factor = fit_factor(series.t.size, width - Y_AXIS_CELLS)
    t2, v2 = merge_buckets(series.t, series.values[name], factor, "max")
    counts = sum(series.values[f"anomalies:{kind}"] for kind in types)
    _, counts = merge_buckets(series.t, np.asarray(counts, dtype=float), factor, "sum")
    return anomaly_points(t2, v2, counts)


def plot(
    fig: Figure, xy: tuple[list[float], list[float]], color: tuple[int, int, int], label: str = ""
) -> None:
    """A braille line; series without points are skipped (and so left out of the legend)."""
    if xy[0]:
        fig.plot(*xy, color=color, label=label or None)


def time_axis(fig: Figure, series: Series, width: int) -> None:
    if series.t.size:
        count = max(2, min(5, (width - Y_AXIS_CELLS) // 14))
        ticks, labels = time_ticks(series.first, float(series.t[-1]), count)
        fig.xticks(ticks, labels)
        fig.xlim(series.first, float(series.t[-1]))


def apdex_floor(values: FloatArray, target: float) -> float:
    """The Apdex chart's lower edge: a tenth below the lowest value or the target."""
    finite = values[np.isfinite(values)]
    low = min(float(finite.min()) if finite.size else target, target) - 0.05
    return max(0.0, math.floor(low * 10) / 10)


def even_ticks(lo: float, hi: float, width: int) -> list[float]:
    """Up to six evenly spaced tick positions, about one every twelve columns."""
    return [float(t) for t in np.linspace(lo, hi, max(2, min(6, width // 12)))]
