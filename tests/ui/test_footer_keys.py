"""The footer and the palette offer the keys that apply, on each screen."""

from __future__ import annotations

from apm_tui.ui.screens.help import HelpScreen
from tests.ui.conftest import FakeClock, dashboard, first_tick, screen_lines


async def test_footer_follows_escape_pause_and_the_help_screen() -> None:
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await first_tick(app, pilot, settle=False)
        assert "Maximise" in screen_lines(app)[-1]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.maximized is not None and "esc Restore" in screen_lines(app)[-1]
        # Regression: Textual's own escape-to-minimise restored the panel but not the footer,
        # which went on offering "esc Restore".
        await pilot.press("escape")
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert app.screen.maximized is None
        assert "Maximise" in footer and "Restore" not in footer

        assert "Step" not in footer
        await pilot.press("space")
        await pilot.pause()
        assert "←→ Step" in screen_lines(app)[-1]  # the step keys, while paused

        # A modal screen's own keys, not the dashboard's "q Quit … ? Help" beneath it.
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert screen_lines(app)[-1].strip() == "esc Close help"


async def test_the_palette_offers_the_dashboards_actions() -> None:
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await first_tick(app, pilot, settle=False)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Pause", "Record", "Traces", "Help", "Save PNG screenshot", "Theme"):
            assert title in titles, titles
        assert "Go to" not in titles  # replay commands only in a replay
        await pilot.press("space")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Resume" in titles and "Pause" not in titles


async def test_space_says_resume_while_paused_and_f1_opens_the_help() -> None:
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await first_tick(app, pilot, settle=False)
        assert "space Pause" in screen_lines(app)[-1]
        await pilot.press("space")
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert app.paused is not None
        assert "space Resume" in footer and "space Pause" not in footer
        await pilot.press("space")
        await pilot.pause()
        assert app.paused is None and "space Pause" in screen_lines(app)[-1]

        await pilot.press("f1")  # the terminal's usual help key, beside ?
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = screen_lines(app)
        assert any("? / f1" in line and "Help" in line for line in lines)
        assert any("space" in line and "Resume while paused" in line for line in lines)


async def test_a_maximised_panel_at_80_columns_keeps_its_way_back_in_the_footer() -> None:
    """The keys that do not fit are left out, but never `esc Restore` in a maximised panel:
    without a mouse it is the only way back to the nine panels."""
    app = dashboard(FakeClock(), window_hours=1.0, isolate_fits=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_tick(app, pilot, settle=False)
        app.query_one("#endpoints").focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert app.screen.maximized is not None
        assert "esc Restore" in footer and "? Help" in footer, footer
