"""The chart maths the panels share (plain functions, no Textual needed)."""

from __future__ import annotations

import math

import numpy as np

from apm_tui.ui.chartmath import fit_factor, merge_buckets, sparkline, time_ticks
from apm_tui.ui.textfmt import bar


def test_merge_buckets_aligns_on_the_newest_end() -> None:
    t = np.arange(10.0)
    v = np.arange(10.0)
    t2, v2 = merge_buckets(t, v, 3)
    assert list(t2) == [1.0, 4.0, 7.0]  # the oldest, partial group is dropped
    assert list(v2) == [2.0, 5.0, 8.0]
    _, vmax = merge_buckets(t[:6], np.array([1, np.nan, 3, 4, np.nan, np.nan]), 2, "max")
    assert np.isnan(vmax[-1]) and list(vmax[:2]) == [1.0, 4.0]


def test_fit_factor_fits_braille_points() -> None:
    assert fit_factor(96, 60) == 1
    assert fit_factor(500, 60) == 5
    assert fit_factor(10, 0) == 10


def test_bar_and_sparkline_shapes() -> None:
    assert bar(0.5, 10) == "█████     "
    assert bar(1 / 8, 1) == "▏" and bar(0.5, 1) == "▌" and bar(1.0, 1) == "█"
    rows = sparkline(np.array([0.0, 1.0, 2.0, 3.0]), 4, 2).split("\n")
    assert len(rows) == 2 and all(len(r) == 4 for r in rows)
    assert rows[1][0] == "▁" and rows[0][-1] == "█"
    assert sparkline(np.array([np.nan, np.nan]), 3) == "   "


def test_time_ticks_label_clock_times() -> None:
    ticks, labels = time_ticks(0.0, 3600.0, 3)
    assert ticks == [0.0, 1800.0, 3600.0]
    assert labels == ["00:00", "00:30", "01:00"]
    assert time_ticks(5.0, 5.0, 3) == ([], [])


def test_a_flat_non_negative_line_gets_no_negative_axis() -> None:
    """A response time of 0 ms throughout was drawn on an axis from -1.0 to 1.0."""
    from apm_tui.ui.plot import Figure

    for level, bottom, top in ((0.0, "0", "1.0"), (0.5, "0", "1.5"), (5.0, "4.0", "6.0")):
        fig = Figure(width=40, height=8)
        fig.plot([0, 1, 2], [level] * 3, color=(255, 0, 0))
        rows = fig.build().plain.splitlines()
        labels = [row.split("┤")[0].strip() for row in rows if "┤" in row]
        assert (labels[0], labels[-1]) == (top, bottom), rows
        assert not any(label.startswith("-") for label in labels), rows
    fig = Figure(width=40, height=8)
    fig.plot([0, 1, 2], [-3.0] * 3, color=(255, 0, 0))  # a negative quantity keeps its band
    labels = [row.split("┤")[0].strip() for row in fig.build().plain.splitlines() if "┤" in row]
    assert (labels[0], labels[-1]) == ("-2.0", "-4.0")


def test_the_legend_keeps_the_lines_dots_off_its_labels() -> None:
    """A line along the top ran into the legend: `▬ CPU  ▬ memory⡀`."""
    from apm_tui.ui.plot import Figure

    fig = Figure(width=40, height=6)
    fig.plot(list(range(100)), [10.0] * 100, color=(255, 0, 0), label="CPU")  # the top row
    fig.plot(list(range(100)), [0.0] * 100, color=(0, 255, 0), label="memory")
    top = fig.build().plain.splitlines()[0]
    assert top.endswith(" ▬ CPU  ▬ memory "), top
    assert "⣀" in top or "⠉" in top or any("\u2800" < ch <= "\u28ff" for ch in top)  # dots left


def test_a_cut_name_ends_in_an_ellipsis_and_keeps_a_gap() -> None:
    from apm_tui.ui.textfmt import clip

    assert clip("/api/orders/create", 19) == "/api/orders/create "
    assert clip("/api/orders/create", 12) == "/api/order… "
    assert clip("/x", 6) == "/x    " and len(clip("/a/very/long/name", 5)) == 5


def test_a_histogram_fills_its_compact_panel_from_its_first_bin() -> None:
    from apm_tui.ui.chartmath import rebinned

    counts = np.array([0.0, 50.0, 20.0] + [1.0] * 27)  # 30 bins, the fast ones full
    spread = rebinned(counts, 24)
    assert spread.size == 24 and math.isclose(spread.sum(), counts.sum())
    assert spread[0] > 0 and spread[:3].sum() > 0.5 * counts.sum()  # fast: on the left
    line = sparkline(spread, 24)
    assert len(line) == 24 and line[0] != " " and line[-1] != " "  # no blank side
    assert np.allclose(rebinned(counts, 30), counts)  # as many columns as bins: the same
    wide = rebinned(counts, 60)
    assert wide.size == 60 and math.isclose(wide.sum(), counts.sum())
