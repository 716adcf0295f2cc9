"""An SVG of a terminal screen, the same as Textual's `App.export_screenshot` makes (Rich's
`Console.export_svg` of the recorded segments), but from cells grabbed earlier, so it can run
off the UI thread.

One difference on purpose: the recording console has no colour system. Textual's uses
truecolor, and printing through it fills each Style's ANSI cache (`Style._ansi`, which Rich
keys on nothing but the style) with truecolor codes — which the app's own console then reuses
for the same styles, so after a screenshot a 16-colour terminal would receive RGB codes.
The SVG is built from the recorded segments' styles, not from those codes, so it is the same.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.segment import Segment, Segments

from apm_tui.export.png import Screen


def render_svg(screen: Screen, title: str) -> str:
    console = Console(
        width=screen.width,
        height=screen.height,
        file=io.StringIO(),
        force_terminal=False,
        color_system=None,  # see the module docstring
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    segments: list[Segment] = []
    for y, line in enumerate(screen.lines):
        if y:
            segments.append(Segment.line())
        segments.extend(line)
    console.print(Segments(segments))
    return console.export_svg(title=title, theme=screen.theme)
