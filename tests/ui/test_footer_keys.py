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
