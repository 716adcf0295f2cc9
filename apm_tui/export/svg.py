"""An SVG of a terminal screen, made exactly as Textual's `App.export_screenshot` makes it
(Rich's `Console.export_svg`), but from cells grabbed earlier, so it can run off the UI thread."""

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
        force_terminal=True,
        color_system="truecolor",
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
