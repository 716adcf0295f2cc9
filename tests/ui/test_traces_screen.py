"""The trace screen: `t` opens it on the window, slowest first, with a waterfall and attributes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from apm_tui.ui.screens.traces import TracesScreen
from tests.ui.conftest import FakeClock, dashboard, first_tick, wait_until


async def open_traces(app, pilot) -> TracesScreen:  # type: ignore[no-untyped-def]
    await pilot.press("t")
    screen = app.screen
    assert isinstance(screen, TracesScreen)
    await wait_until(pilot, lambda: len(screen.found) > 0 and len(screen.rows) > 0, "traces")
    return screen


async def test_t_lists_traces_slowest_first_with_a_waterfall() -> None:
    app = dashboard(FakeClock())
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        durations = [t.duration_ms for t in screen.found]
        assert durations == sorted(durations, reverse=True)
        listing = screen.query_one("#traces-list", DataTable)
        assert listing.row_count == len(screen.found)
        # The window's day of history runs over two UTC days: each time says its day (it
        # was `09:54:15` alone, a time of either day).
        assert screen.spans is not None
        first, last = min(screen.spans["start"]), max(screen.spans["start"])
        assert time.gmtime(first)[:3] != time.gmtime(last)[:3]
        when = time.gmtime(screen.found[0].time)
        assert str(listing.get_row_at(0)[0]) == time.strftime("%d %b %H:%M:%S", when)
        # The waterfall is the slowest trace's, its root first and on the critical path.
        slowest = screen.found[0]
        assert len(screen.rows) == slowest.spans
        assert screen.rows[0].depth == 0 and screen.rows[0].critical
        waterfall = screen.query_one("#traces-waterfall", DataTable)
        assert waterfall.row_count == slowest.spans
        attrs = str(screen.query_one("#traces-attributes", Static).render())
        assert screen.rows[0].operation in attrs and "http.route" in attrs

        # ↓ picks the next trace; enter moves to its waterfall, where ↓ shows a span's attributes.
        await pilot.press("down")
        await wait_until(pilot, lambda: len(screen.rows) == screen.found[1].spans, "trace 2")
        await pilot.press("enter", "down")
        await pilot.pause()
        assert app.focused is waterfall
        attrs = str(screen.query_one("#traces-attributes", Static).render())
        assert screen.rows[1].operation in attrs

        await pilot.press("escape")
        assert not isinstance(app.screen, TracesScreen)


async def test_filter_and_errors_only() -> None:
    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        assert any("cart" not in t.endpoint for t in screen.found)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"CART")  # any case
        await wait_until(
            pilot, lambda: all("cart" in t.endpoint for t in screen.found), "a filtered list"
        )
        assert screen.found
        for _ in range(4):
            await pilot.press("backspace")
        await wait_until(
            pilot, lambda: any("cart" not in t.endpoint for t in screen.found), "every trace"
        )
        await pilot.press("enter")  # back to the list
        assert not all(t.error for t in screen.found)
        await pilot.press("e")
        await wait_until(pilot, lambda: all(t.error for t in screen.found), "failed traces")
        assert screen.found
        title = str(screen.query_one("#traces-title", Static).render())
        assert "with errors" in title


async def test_ticks_go_on_behind_the_trace_screen() -> None:
    from tests.ui.conftest import worker_tick

    clock = FakeClock()
    app = dashboard(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot)
        await open_traces(app, pilot)
        shown = app.ticks_shown
        await worker_tick(app, pilot, clock, 1.0)
        assert app.ticks_shown == shown + 1 and isinstance(app.screen, TracesScreen)


async def test_paused_the_trace_screen_shows_the_window_as_of_the_paused_time() -> None:
    from tests.ui.conftest import worker_tick

    clock = FakeClock()
    app = dashboard(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await first_tick(app, pilot)
        for _ in range(3):
            await worker_tick(app, pilot, clock, 1.0)
        await pilot.press("space", "left", "left")
        paused = app.paused
        assert paused is not None and paused < app.engine.spans()["start"].max()
        screen = await open_traces(app, pilot)
        ends = [tr.time + tr.duration_ms / 1e3 for tr in screen.found]
        assert max(ends) <= paused
        assert len(screen.spans or ()) < len(app.engine.spans())  # later spans are left out


async def test_below_80_columns_the_trace_screen_says_so_and_comes_back() -> None:
    """At 60×16 the waterfall collapsed into two rules and the list's columns were cut mid-word."""
    from tests.ui.conftest import lines_of

    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        note = screen.query_one("#traces-too-small", Static)
        assert not note.display and screen.query_one("#traces-list", DataTable).display
        await pilot.resize_terminal(60, 16)
        await pilot.pause()
        await pilot.pause()
        assert screen.has_class("-narrow") and note.display
        shown = " ".join(" ".join(lines_of(note)).split())
        assert "The trace screen needs 80×16; the terminal is 60×16." in shown
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert not screen.has_class("-narrow") and not note.display
        assert screen.query_one("#traces-waterfall", DataTable).display
        # The list has the focus again: without it, the footer offered the dashboard's
        # "⏎ Maximise" and enter did nothing here.
        assert app.focused is screen.query_one("#traces-list", DataTable)
        await pilot.press("escape")
        assert not isinstance(app.screen, TracesScreen)


async def test_at_80x24_a_picked_traces_waterfall_shows_all_its_spans() -> None:
    """The list kept 40 % of the screen and the waterfall showed 3 of a trace's 7 spans."""
    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        listing = screen.query_one("#traces-list", DataTable)
        waterfall = screen.query_one("#traces-waterfall", DataTable)
        browsing = listing.region.height
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is waterfall and len(screen.rows) == 7
        assert waterfall.region.height >= 1 + 1 + 7  # its rule, its header, every span
        assert listing.region.height >= 4  # the list keeps a few rows
        assert screen.query_one("#traces-attributes", Static).region.height >= 4
        await pilot.press("tab")  # off the waterfall, the list has its rows back
        await pilot.pause()
        assert listing.region.height == browsing


async def test_at_80x16_the_waterfall_keeps_rows_while_browsing() -> None:
    """The list kept 40 % and the attributes 5 rows: the waterfall had none (its rule against
    the attributes' rule) until enter, and its scrollbar was drawn over the footer."""
    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 16)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        waterfall = screen.query_one("#traces-waterfall", DataTable)
        assert waterfall.region.height >= 1 + 1 + 2  # its rule, its header, two spans
        assert screen.query_one("#traces-list", DataTable).region.height >= 4
        attributes = screen.query_one("#traces-attributes", Static).region
        assert attributes.bottom <= 15  # above the footer


async def test_the_lists_columns_fit_their_cells_from_the_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DataTable measured its columns only when next idle, and a frame painted before then
    cached the rows at the header's widths: `06 Dec 09:` and `1465.8 m` (ms) until the cursor
    passed over each row. The widths now come with the columns, before any frame."""
    seen: list[tuple[list[int], list[int]]] = []
    show = TracesScreen.show_traces

    def show_and_measure(screen: TracesScreen, spans: Any, found: Any) -> None:
        show(screen, spans, found)
        # What a frame painted now would use: nothing has been idle since the rows came.
        listing = screen.query_one("#traces-list", DataTable)
        rows = [listing.get_row_at(i) for i in range(listing.row_count)]
        pad = 2 * listing.cell_padding
        needed = [max([len(str(c)) for c in column]) + pad for column in zip(*rows, strict=True)]
        seen.append(([c.get_render_width(listing) for c in listing.ordered_columns], needed))

    monkeypatch.setattr(TracesScreen, "show_traces", show_and_measure)
    app = dashboard(FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot)
        await open_traces(app, pilot)
    widths, needed = seen[0]
    assert all(w >= n for w, n in zip(widths, needed, strict=True)), (widths, needed)


async def test_an_endpoint_or_service_is_drawn_as_text_not_markup() -> None:
    """A DataTable reads a str cell as markup: a span named `[/]` stopped the trace screen
    with a MarkupError, and `[link=…]` would have made a hyperlink of a sender's choosing."""
    from dataclasses import replace

    app = dashboard(FakeClock())
    async with app.run_test(size=(120, 30)) as pilot:
        await first_tick(app, pilot)
        screen = await open_traces(app, pilot)
        assert screen.spans is not None
        odd = replace(screen.found[0], endpoint="/x[/]", service="[link=https://e.x]svc[/link]")
        screen.show_traces(screen.spans, [odd])
        await pilot.pause()
        await pilot.pause()
        listing = screen.query_one("#traces-list", DataTable)
        row = listing.region.y + 1  # under the header
        drawn = app.screen._compositor.render_strips()[row].text
        assert "/x[/]" in drawn and "[link=https://e.x]svc[/link]" in drawn
        assert app.is_running
