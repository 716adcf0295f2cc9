"""What the terminal shows, as cells for `apm_tui.export.png`: grabbed on the UI thread.

`grab` asks the screen's compositor for its lines, as Textual's own SVG screenshot does
(`App.export_screenshot`), but through `render_strips`, which leaves the compositor's record
of regions still to be sent to the terminal alone (a full update would clear it, and a
refresh pending at that moment would never reach the screen). It costs ≈ 10 ms at 200×60;
painting and writing the PNG happen in a thread worker.

The segments carry Textual's colours already resolved to RGB for the current theme (its
ANSI-to-truecolor line filter runs when widgets render), so the painter needs the terminal
theme only for what the SVG export also takes from it: colours left to the terminal.
"""

from __future__ import annotations

from typing import Any

from textual._context import visible_screen_stack
from textual.app import App

from apm_tui.export.png import Screen


def grab(app: App[Any]) -> Screen:
    """The current screen's cells, with any screen visible behind a translucent modal."""
    # A screen whose background is translucent (the help, say) draws the screen beneath it
    # by taking it from this stack, as the compositor's own full updates arrange.
    visible_screen_stack.set(app._background_screens)
    strips = app.screen._compositor.render_strips()
    width, height = app.size
    return Screen(lines=[list(strip) for strip in strips], width=width, height=height)
