"""Terminal charts drawn with numpy: braille lines, block bars, axes, legend, markers.

Why not plotext on the tick path: measured here (2026-11-29), plotext's `build()` of one 64×17
chart with two 112-point lines costs ≈ 11 ms, parsing its ANSI output into a Rich Text another
1.5–3 ms, and painting its per-cell colour spans ≈ 5 ms; on top of a ≈ 26 ms base tick at 200×60
that alone breaks the 40 ms tick budget every time a bucket completes. This renderer draws
the same kind of chart (2×4 braille dots a cell, the style plotext uses) in ≈ 1 ms with one
colour span per run of cells. The API mirrors the subset of plotext's figure the panels used.

Pure Python + numpy + Rich: no Textual, unit-tested on its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text

RGB = tuple[int, int, int]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

# Braille dot bits by (row in the cell 0–3, column 0–1), Unicode's numbering.
_DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
_BRAILLE = np.array([" "] + [chr(0x2800 + i) for i in range(1, 256)])
_EIGHTHS = " ▁▂▃▄▅▆▇█"


@dataclass
class _Line:
    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    color: RGB
    label: str | None
    marker: str | None = None  # None: a braille line; else this character at each point


@dataclass
class Figure:
    """A chart of `width` × `height` cells; fill it, then `build()` a Rich Text."""

    width: int
    height: int
    axis_color: RGB = (128, 128, 128)
    lines_: list[_Line] = field(default_factory=list)
    hlines: list[tuple[float, RGB]] = field(default_factory=list)
    vlines: list[tuple[float, RGB]] = field(default_factory=list)
    bars: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], RGB] | None = None
    ticks: tuple[list[float], list[str]] | None = None
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None

    # -- filling (plotext's names) ---------------------------------------------------------
    def plot(self, x: Any, y: Any, *, color: RGB, label: str | None = None) -> None:
        self.lines_.append(_Line(_floats(x), _floats(y), color, label))

    def scatter(self, x: Any, y: Any, *, color: RGB, marker: str = "×") -> None:
        self.lines_.append(_Line(_floats(x), _floats(y), color, None, marker))

    def horizontal_line(self, y: float, color: RGB) -> None:
        self.hlines.append((float(y), color))

    def vertical_line(self, x: float, color: RGB) -> None:
        self.vlines.append((float(x), color))

    def bar(self, x: Any, heights: Any, *, color: RGB) -> None:
        self.bars = (_floats(x), _floats(heights), color)

    def xticks(self, positions: list[float], labels: list[str]) -> None:
        self.ticks = (list(positions), list(labels))

    def xlim(self, lo: float, hi: float) -> None:
        self.x_range = (float(lo), float(hi))

    def ylim(self, lo: float, hi: float) -> None:
        self.y_range = (float(lo), float(hi))

    # -- building --------------------------------------------------------------------------
    def build(self) -> Text:
        """The chart as one Rich Text (tests, printing)."""
        parts: list[str] = []
        spans: list[Span] = []
        pos = 0
        for row in self.runs():
            for text, color in row:
                if color is not None:
                    spans.append(Span(pos, pos + len(text), _style(color)))
                pos += len(text)
                parts.append(text)
            parts.append("\n")
            pos += 1
        return Text("".join(parts[:-1]), spans=spans, no_wrap=True, end="")

    def lines(self) -> list[list[Segment]]:
        """The chart as one list of Segments a row: what a Textual `render_line` wants.

        Cheaper to paint than `build()`: Textual turns a Text into its own Content and styles
        it span by span (≈ 10 ms for a 64×16 chart here), Segments go straight into a Strip.
        """
        return [
            [Segment(text, _style(color) if color else None) for text, color in row]
            for row in self.runs()
        ]

    def runs(self) -> list[list[tuple[str, RGB | None]]]:
        """Each row as runs of (text, colour); None is the terminal's default colour."""
        x0, x1 = self._x_bounds()
        y0, y1 = self._y_bounds()
        rows = self.height - (1 if self.ticks else 0)
        y_labels = _y_tick_labels(y0, y1, rows)
        label_w = max(len(s) for s in y_labels.values())
        cols = self.width - label_w - 1
        if rows < 2 or cols < 4:
            return []
        canvas = _Canvas(rows, cols)
        if self.bars is not None:
            canvas.bars(*self.bars, x0, x1, y0, y1)
        for line in self.lines_:
            px = _scale(line.x, x0, x1, cols * 2)
            py = _scale(line.y, y0, y1, rows * 4, flip=True)
            if line.marker is None:
                canvas.line(px, py, line.color)
            else:
                canvas.chars(py // 4, px // 2, line.marker, line.color)
        for x, color in self.vlines:  # after the data, in the cells it leaves free
            canvas.column(int(_scale(np.array([x]), x0, x1, cols)[0]), "│", color)
        for y, color in self.hlines:
            canvas.rule(int(_scale(np.array([y]), y0, y1, rows, flip=True)[0]), color)
        canvas.legend([(ln.label, ln.color) for ln in self.lines_ if ln.label])
        out: list[list[tuple[str, RGB | None]]] = []
        for r in range(rows):
            prefix = y_labels.get(r, "").rjust(label_w) + ("┤" if r in y_labels else "│")
            out.append([(prefix, self.axis_color), *canvas.row_runs(r)])
        if self.ticks:
            out.append(
                [(" " * (label_w + 1) + _x_label_row(self.ticks, x0, x1, cols), self.axis_color)]
            )
        return out

    def _x_bounds(self) -> tuple[float, float]:
        if self.x_range is not None:
            lo, hi = self.x_range
        else:
            xs = [ln.x for ln in self.lines_ if ln.x.size]
            if self.bars is not None and self.bars[0].size:
                half = _bar_half_width(self.bars[0])
                xs.append(np.array([self.bars[0].min() - half, self.bars[0].max() + half]))
            both = np.concatenate(xs) if xs else np.array([0.0, 1.0])
            lo, hi = float(both.min()), float(both.max())
        return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)

    def _y_bounds(self) -> tuple[float, float]:
        if self.y_range is not None:
            lo, hi = self.y_range
            return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
        ys = [ln.y[np.isfinite(ln.y)] for ln in self.lines_]
        ys.append(np.array([y for y, _ in self.hlines]))
        if self.bars is not None:
            ys.append(np.array([0.0, float(np.nanmax(self.bars[1], initial=0.0))]))
        both = np.concatenate(ys)
        if both.size == 0:
            return 0.0, 1.0
        lo, hi = float(both.min()), float(both.max())
        pad = (hi - lo) * 0.05 if hi > lo else 1.0  # a flat line gets a band around it
        # Padding must not invent negative values for a non-negative quantity (bars, rates,
        # a response time that is 0 ms throughout).
        return (max(lo - pad, 0.0) if lo >= 0 else lo - pad), hi + pad


class _Canvas:
    """The plot area: braille bits, literal characters and a colour per cell."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.bits = np.zeros((rows, cols), dtype=np.uint8)
        self.color = np.full((rows, cols), -1, dtype=np.int64)
        self.overlay = np.full((rows, cols), "", dtype="<U1")  # characters over the dots
        self.palette: list[RGB] = []

    def _color_index(self, color: RGB) -> int:
        if color not in self.palette:
            self.palette.append(color)
        return self.palette.index(color)

    def dots(self, px: IntArray, py: IntArray, color: RGB) -> None:
        ok = (px >= 0) & (px < self.cols * 2) & (py >= 0) & (py < self.rows * 4)
        px, py = px[ok], py[ok]
        r, c = py // 4, px // 2
        np.bitwise_or.at(self.bits, (r, c), _DOT_BITS[py % 4, px % 2])
        self.color[r, c] = self._color_index(color)

    def line(self, px: IntArray, py: IntArray, color: RGB) -> None:
        """Straight segments between consecutive points, one dot per step of the longer axis;
        a missing point (negative position) breaks the line instead of joining across it."""
        valid = (px >= 0) & (py >= 0)
        self.dots(px[valid], py[valid], color)
        joined = np.flatnonzero(valid[:-1] & valid[1:])
        if joined.size == 0:
            return
        x0, y0 = px[joined], py[joined]
        dx, dy = px[joined + 1] - x0, py[joined + 1] - y0
        steps = np.maximum(np.abs(dx), np.abs(dy)) + 1
        seg = np.repeat(np.arange(dx.size), steps)
        offset = np.arange(seg.size) - np.repeat(np.cumsum(steps) - steps, steps)
        frac = offset / np.maximum(steps - 1, 1)[seg]
        xs = np.rint(x0[seg] + dx[seg] * frac).astype(np.int64)
        ys = np.rint(y0[seg] + dy[seg] * frac).astype(np.int64)
        self.dots(xs, ys, color)

    def free(self, r: int, c: int) -> bool:
        return bool(self.bits[r, c] == 0) and not self.overlay[r, c]

    def rule(self, r: int, color: RGB) -> None:
        """A horizontal line across row `r`, drawn in the cells the data does not use."""
        if 0 <= r < self.rows:
            index = self._color_index(color)
            for c in range(self.cols):
                if self.free(r, c):
                    self.overlay[r, c] = "─"
                    self.color[r, c] = index

    def chars(self, rows: IntArray, cols: IntArray, char: str, color: RGB) -> None:
        index = self._color_index(color)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if 0 <= r < self.rows and 0 <= c < self.cols:
                self.overlay[r, c] = char
                self.color[r, c] = index

    def column(self, c: int, char: str, color: RGB) -> None:
        if 0 <= c < self.cols:
            index = self._color_index(color)
            for r in range(self.rows):
                if self.free(r, c):
                    self.overlay[r, c] = char
                self.color[r, c] = index

    def bars(
        self,
        x: np.ndarray[Any, Any],
        h: np.ndarray[Any, Any],
        color: RGB,
        x0: float,
        x1: float,
        y0: float,
        y1: float,
    ) -> None:
        """Vertical bars in eighth-of-a-cell steps; each bar covers the columns of its bin."""
        if x.size == 0:
            return
        half = _bar_half_width(x)
        left = np.floor((x - half - x0) / (x1 - x0) * self.cols).astype(np.int64)
        right = np.ceil((x + half - x0) / (x1 - x0) * self.cols).astype(np.int64)
        level = np.clip((h - y0) / (y1 - y0), 0.0, 1.0) * self.rows * 8
        heights = np.zeros(self.cols)
        for lo, hi, lv in zip(left.tolist(), right.tolist(), level.tolist(), strict=True):
            lo, hi = max(lo, 0), min(max(hi, lo + 1), self.cols)
            heights[lo:hi] = np.maximum(heights[lo:hi], lv)
        eighths = np.rint(heights).astype(np.int64)
        eighths[(heights > 0) & (eighths == 0)] = 1  # a non-empty bin shows at least a sliver
        index = self._color_index(color)
        for c in np.flatnonzero(eighths).tolist():
            full, rest = divmod(int(eighths[c]), 8)
            for k in range(full):
                self.overlay[self.rows - 1 - k, c] = "█"
                self.color[self.rows - 1 - k, c] = index
            if rest and full < self.rows:
                self.overlay[self.rows - 1 - full, c] = _EIGHTHS[rest]
                self.color[self.rows - 1 - full, c] = index

    def legend(self, entries: list[tuple[str, RGB]]) -> None:
        """Labels along the top row, right-aligned, each in its line's colour."""
        if len(entries) < 2:
            return
        text = "  ".join(f"▬ {label}" for label, _ in entries)
        if len(text) + 2 > self.cols:
            return
        c = self.cols - len(text) - 1
        # A blank cell either side, and between entries: the lines' dots must not touch the
        # labels (`▬ memory⡀`).
        self.overlay[0, max(c - 1, 0) :] = " "
        self.color[0, max(c - 1, 0) :] = -1
        for label, color in entries:
            piece = f"▬ {label}"
            index = self._color_index(color)
            for k, ch in enumerate(piece):
                self.overlay[0, c + k] = ch
                self.color[0, c + k] = index
            c += len(piece) + 2

    def row_runs(self, r: int) -> list[tuple[str, RGB | None]]:
        over = self.overlay[r]
        chars = np.where(over != "", over, _BRAILLE[self.bits[r]]).tolist()
        row = self.color[r]
        edges = np.flatnonzero(np.diff(row)) + 1
        bounds = [0, *edges.tolist(), row.size]
        runs: list[tuple[str, RGB | None]] = []
        for a, b in itertools.pairwise(bounds):
            index = int(row[a])
            runs.append(("".join(chars[a:b]), self.palette[index] if index >= 0 else None))
        return runs


_STYLES: dict[RGB, Style] = {}


def _style(color: RGB) -> Style:
    style = _STYLES.get(color)
    if style is None:
        style = _STYLES[color] = Style.parse(f"rgb({color[0]},{color[1]},{color[2]})")
    return style


def _floats(values: Any) -> np.ndarray[Any, Any]:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _bar_half_width(x: np.ndarray[Any, Any]) -> float:
    return float(np.min(np.diff(np.sort(x)))) / 2 if x.size > 1 else 0.5


def _scale(values: np.ndarray[Any, Any], lo: float, hi: float, n: int, flip: bool = False) -> Any:
    """Data values to integer positions 0…n-1 (clipped: a spike past a fixed range sits on
    the edge instead of vanishing)."""
    with np.errstate(invalid="ignore"):
        pos = np.clip(np.rint((values - lo) / (hi - lo) * (n - 1)), 0, n - 1)
    pos = np.where(np.isfinite(pos), pos, -1).astype(np.int64)
    if flip:
        pos = np.where(pos >= 0, n - 1 - pos, -1)
    return pos


def _y_tick_labels(lo: float, hi: float, rows: int) -> dict[int, str]:
    """Labels by row: top, bottom and evenly between (about one every four rows, at most five),
    with as many decimals as the step between them needs."""
    count = max(2, min(5, (rows - 1) // 4 + 1))
    step = (hi - lo) / (count - 1)
    decimals = 0 if step >= 5 else 1 if step >= 0.5 else 2 if step >= 0.05 else 3
    out = {}
    for k in range(count):
        row = round(k * (rows - 1) / (count - 1))
        out[row] = _compact(hi - k * step, decimals)
    return out


def _compact(value: float, decimals: int) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    text = f"{value:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


def _x_label_row(ticks: tuple[list[float], list[str]], x0: float, x1: float, cols: int) -> str:
    """Tick labels centred on their positions, dropping any that would overlap the previous."""
    row = [" "] * cols
    end = -1
    for pos, label in zip(*ticks, strict=True):
        if not math.isfinite(pos):
            continue
        centre = round((pos - x0) / (x1 - x0) * (cols - 1)) if x1 > x0 else 0
        start = min(max(centre - len(label) // 2, 0), cols - len(label))
        if start <= end or start < 0:
            continue
        row[start : start + len(label)] = label
        end = start + len(label)
    return "".join(row)
