"""Self-painted widgets: the same lines as Textual's styling path, and a chart that waits for
its turn to draw new data."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from apm_tui.ui.plot import Figure
from apm_tui.ui.widgets.chart import Chart
from apm_tui.ui.widgets.painted import Painted
from apm_tui.ui.widgets.panel import Line, TextBlock


def draw_level(figure: Figure, width: int, height: int, level: float, palette: object) -> None:
    figure.plot([0.0, 1.0, 2.0], [level, 0.0, level], color=(200, 0, 0))


class Demo(App[None]):
    CSS = """
    Line { background: $panel; }
    #padded { padding: 0 2; }
    #bare { height: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Line(classes="kpi")
        yield Line(id="padded")
        yield TextBlock()
        yield Chart(draw_level)
        yield Painted(id="bare")


@pytest.mark.parametrize(
    ("theme", "no_color"), [("textual-dark", False), ("ansi-dark", False), ("textual-dark", True)]
)
async def test_painted_lines_are_the_lines_textuals_styling_would_give(
    theme: str, no_color: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made: a filter on every line
    app = Demo()
    async with app.run_test(size=(60, 20)) as pilot:
        app.theme = theme
        kpi, padded = app.query(Line)[:2]
        block, chart = app.query_one(TextBlock), app.query_one(Chart)
        kpi.text = Text.assemble(("P95 ", "bold"), ("412 ms", "red"), " · 3 req/s")
        padded.text = Text("padded: drawn by Textual's own path")
        block.text = Text("a finding\n  its evidence, long enough to wrap " * 9)
        chart.show(1, 10.0)
        chart.redraw()
        await pilot.pause()
        assert block.size.height < len(block.strips())  # taller than its room: it scrolls
        for scrolled in (0, 2):
            block.scroll(scrolled)
            for widget in (kpi, padded, block, chart):
                whole = Region(0, 0, widget.size.width, widget.size.height)
                part = Region(3, 1 if widget is block else 0, widget.size.width - 5, 1)
                for crop in (whole, part):
                    ours = widget.render_lines(crop)
                    widget._styles_cache.clear()  # Textual's path renders afresh
                    textuals = Widget.render_lines(widget, crop)
                    assert [list(s) for s in ours] == [list(s) for s in textuals], widget
        assert block.first_line() > 0  # the painted lines were checked scrolled too
        assert "padded" in "".join(s.text for s in padded.render_lines(whole))
        bare = app.query_one("#bare", Painted)  # no lines of its own: blank at its width
        assert bare.size == (60, 2)
        assert [s.text for s in bare.render_lines(Region(0, 0, 60, 2))] == [" " * 60] * 2


async def test_a_chart_repainted_before_its_turn_keeps_the_data_it_drew() -> None:
    app = Demo()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(Chart)
        chart.show(1, 10.0)
        chart.redraw()
        await pilot.pause()
        region = Region(0, 0, chart.size.width, chart.size.height)
        drawn = [s.text for s in chart.render_lines(region)]
        builds = chart.builds
        chart.show(2, 90.0)  # new data: the app redraws a few stale charts a tick
        assert [s.text for s in chart.render_lines(region)] == drawn
        assert chart.builds == builds and chart.stale_since
        chart.redraw()
        assert [s.text for s in chart.render_lines(region)] != drawn
        assert chart.builds == builds + 1 and not chart.stale_since


async def test_a_theme_change_recolours_what_was_painted_before_it() -> None:
    """The painted widgets keep their style, background and the charts' palette between
    repaints; a theme change must still reach all three."""
    app = Demo()
    async with app.run_test(size=(60, 20)) as pilot:
        kpi, chart = app.query(Line)[0], app.query_one(Chart)
        kpi.text = Text("P95 412 ms")
        chart.show(1, 10.0)
        chart.redraw()
        await pilot.pause()
        before = kpi.looks(), chart.palette(), kpi.strips()[0]
        app.theme = "textual-light"
        await pilot.pause()
        assert kpi.looks() == (kpi.rich_style, kpi.background_colors[1]) != before[0]
        assert chart.palette() == chart._palette() != before[1]
        assert kpi.strips()[0] != before[2]
        app.theme = "textual-dark"
        await pilot.pause()
        assert kpi.looks() == before[0] and chart.palette() == before[1]
