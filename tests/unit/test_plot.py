"""The numpy chart renderer: dots where the data is, axes, bars, rules, legend, colours."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from apm_tui.ui.plot import Figure

BLUE = (0, 0, 255)
RED = (255, 0, 0)
BRAILLE = range(0x2801, 0x2900)


def grid(text: Text) -> list[str]:
    return text.plain.split("\n")


def plot_area(text: Text) -> list[str]:
    """The cells right of the y axis (the axis is the first '│' or '┤' on each row)."""
    rows = []
    for line in grid(text):
        cut = min(i for i, ch in enumerate(line) if ch in "│┤")
        rows.append(line[cut + 1 :])
    return rows


def braille_rows(rows: list[str]) -> list[int]:
    return [r for r, line in enumerate(rows) if any(ord(ch) in BRAILLE for ch in line)]


def color_at(text: Text, row: int, col: int) -> str | None:
    """The colour of the span covering (row, col) of the whole text, or None."""
    offset = sum(len(line) + 1 for line in grid(text)[:row]) + col
    for span in text.spans:
        if span.start <= offset < span.end:
            return str(span.style.color.triplet.hex) if span.style.color else None  # type: ignore[union-attr]
    return None


def test_flat_line_is_one_row_of_dots_in_the_middle() -> None:
    fig = Figure(30, 9)
    fig.plot([0, 10], [5, 5], color=BLUE)
    fig.ylim(0, 10)
    fig.xlim(0, 10)
    rows = plot_area(fig.build())
    assert len(rows) == 9 and all(len(r) == len(rows[0]) for r in rows)
    assert braille_rows(rows) == [4]  # 9 rows × 4 dots: y=5 of 0–10 is dot 18, in row 4
    middle = rows[4]
    assert all(ord(ch) in BRAILLE for ch in middle)
    # every cell holds the same dot row: two dots side by side
    assert len(set(middle)) == 1


def test_rising_line_goes_from_bottom_left_to_top_right() -> None:
    fig = Figure(24, 8)
    fig.plot([0, 1], [0, 1], color=BLUE)
    fig.xlim(0, 1)
    fig.ylim(0, 1)
    rows = plot_area(fig.build())
    first_col = {
        r: min(i for i, ch in enumerate(line) if ord(ch) in BRAILLE)
        for r, line in enumerate(rows)
        if any(ord(ch) in BRAILLE for ch in line)
    }
    assert sorted(first_col) == list(range(8))  # every row crossed, no gap
    assert first_col[7] == 0 and first_col[0] > first_col[4] > first_col[7]


def test_values_past_a_fixed_range_sit_on_the_edge() -> None:
    fig = Figure(20, 6)
    fig.plot([0, 1, 2], [250, 250, 250], color=BLUE)  # CPU can't pass 100: clip, don't drop
    fig.ylim(0, 100)
    rows = plot_area(fig.build())
    assert braille_rows(rows) == [0]


def test_a_missing_value_breaks_the_line() -> None:
    fig = Figure(30, 6)
    fig.plot([0, 1, 2, 3, 4], [1, 1, math.nan, 1, 1], color=BLUE)
    fig.ylim(0, 2)
    fig.xlim(0, 4)
    row = plot_area(fig.build())[braille_rows(plot_area(fig.build()))[0]]
    middle = row[len(row) // 2 - 1 : len(row) // 2 + 1]
    assert " " in middle  # a gap where the value is missing
    assert ord(row[0]) in BRAILLE and ord(row[-1]) in BRAILLE


def test_axis_labels_span_the_range() -> None:
    fig = Figure(40, 13)
    fig.plot([0, 1], [0, 100], color=BLUE)
    fig.ylim(0, 100)
    fig.xticks([0, 0.5, 1], ["00:00", "12:00", "23:59"])
    lines = grid(fig.build())
    assert lines[0].lstrip().startswith("100┤")
    assert lines[11].lstrip().startswith("0┤")  # the last plot row; the labels come after
    assert "50┤" in lines[6]
    assert lines[12].split() == ["00:00", "12:00", "23:59"]
    assert lines[12].rstrip().endswith("23:59")


def test_crowded_tick_labels_are_dropped_not_overlapped() -> None:
    fig = Figure(20, 5)
    fig.plot([0, 1], [0, 1], color=BLUE)
    fig.xticks([0, 0.05, 0.1, 1], ["aaaa", "bbbb", "cccc", "dddd"])
    labels = grid(fig.build())[-1].split()
    assert labels[0] == "aaaa" and labels[-1] == "dddd" and len(labels) < 4


def test_bars_fill_from_the_bottom_in_eighths() -> None:
    fig = Figure(20, 6)
    fig.bar([0, 1], [8, 4], color=BLUE)  # rows 6 (no tick row): 8 → 6 full rows at hi≈8.4
    fig.ylim(0, 8)
    rows = plot_area(fig.build())
    left, right = rows[0][0], rows[-1][-1]
    assert left == "█" and right == "█"  # the tall bar reaches the top, both reach the bottom
    # the short bar is half as tall: 3 rows of 6
    right_col = [r[-1] for r in rows]
    assert right_col == [" ", " ", " ", "█", "█", "█"]


def test_rule_and_vertical_line_leave_the_data_visible() -> None:
    fig = Figure(30, 8)
    fig.plot([0, 1], [0.5, 0.5], color=BLUE)
    fig.horizontal_line(0.5, RED)
    fig.vertical_line(0.25, RED)
    fig.ylim(0, 1)
    fig.xlim(0, 1)
    text = fig.build()
    rows = plot_area(text)
    data_row = braille_rows(rows)[0]
    assert "─" not in rows[data_row]  # the data owns the row it shares with the rule
    assert sum(r.count("│") for r in rows) == 7  # the vertical line everywhere but there


def test_legend_names_each_line_in_its_colour() -> None:
    fig = Figure(40, 6)
    fig.plot([0, 1], [0, 1], color=BLUE, label="avg")
    fig.plot([0, 1], [1, 0], color=RED, label="P95")
    text = fig.build()
    top = grid(text)[0]
    assert "▬ avg" in top and "▬ P95" in top
    assert color_at(text, 0, top.index("avg")) == "#0000ff"
    assert color_at(text, 0, top.index("P95")) == "#ff0000"


def test_markers_are_drawn_in_their_colour() -> None:
    fig = Figure(20, 5)
    fig.plot([0, 1], [0, 0], color=BLUE)
    fig.scatter([1], [1], color=RED)
    text = fig.build()
    lines = grid(text)
    row = next(r for r, line in enumerate(lines) if "×" in line)
    assert row == 0 and color_at(text, 0, lines[0].index("×")) == "#ff0000"


def test_no_negative_axis_for_non_negative_data() -> None:
    fig = Figure(30, 9)
    fig.plot([0, 1, 2], [0.0, 0.4, 9.0], color=BLUE)
    lines = grid(fig.build())
    assert not any(line.lstrip().startswith("-") for line in lines)


def test_too_small_or_empty_figures_do_not_fail() -> None:
    assert Figure(4, 1).build().plain == ""
    empty = Figure(30, 6).build()
    assert len(grid(empty)) == 6 and not braille_rows(plot_area(empty))
    flat = Figure(30, 6)
    flat.plot(np.zeros(5), np.full(5, 3.0), color=BLUE)  # one x value, one y value
    assert braille_rows(plot_area(flat.build()))
