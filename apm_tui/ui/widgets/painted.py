"""Widgets that paint their own finished lines, past Textual's per-line styling.

`Line`, `TextBlock` and `Chart` cache whole Strips, already in their own style and cut to
their width. Textual still passes every line it repaints through its styles cache, which
works out border, padding, outline, tint, opacity and hatch for each: for a widget with none
of those its result is the line as given, so such a widget's lines go to the compositor as
they are, through the app's line filters as Textual would put them (the 16-colour, NO_COLOR
and dim filters). Measured on a 64× replay at 200×60 (≈ 30 such lines repainted a tick): the
paint's P50 9.6 / 9.4 / 9.9 ms against 10.7 / 10.2 / 10.0 before, run alternately. And
`shown` gives them all from one call at the widget's size, which Textual works out anew at
each `size` read (a 16-row chart not rebuilt: 95 → 23 µs a repaint). Their style and
background are read once per style update, not at each use: Textual works each out from every
ancestor's styles at every read (39 and 14 µs here, ≈ 25 reads a tick at 64×).
"""

from __future__ import annotations

from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class Painted(Widget):
    """`shown` gives finished Strips of the widget's width; see the module docstring."""

    _looks: tuple[Style, Color] | None = None  # (rich_style, background), until restyled

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks = None  # a theme or CSS change: new colours

    def looks(self) -> tuple[Style, Color]:
        """The widget's `rich_style` and background colour, as of its last style update.

        Textual tells a widget of a style update whenever its own rules change, and every
        widget on a theme change; not when only an ancestor's pseudo-class does (a panel's
        focus), which must not change a painted widget's colours (it changes borders only)."""
        if self._looks is None:
            self._looks = (self.rich_style, self.background_colors[1])
        return self._looks

    def shown(self, width: int, height: int) -> list[Strip]:
        """The lines shown at this size, top first (fewer than `height`: blank below); each
        kind of widget gives its own, and this one none."""
        return []

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        lines = self.shown(width, height)
        return lines[y] if y < len(lines) else Strip.blank(width, self.looks()[0])

    def render_lines(self, crop: Region) -> list[Strip]:
        if not self._unstyled():
            return super().render_lines(crop)
        # The size once: Textual works it out from the screen's map at each call.
        width, height = self.size
        lines = self.shown(width, height)[crop.y : crop.bottom]
        if len(lines) < crop.height:  # blank below the lines shown
            lines += [Strip.blank(width, self.looks()[0])] * (crop.height - len(lines))
        filters = self.get_line_filters()
        if filters:
            background = self.looks()[1]
            for each in filters:
                lines = [line.apply_filter(each, background) for line in lines]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            lines = [line.crop(x1, x2) for line in lines]
        return lines

    def _unstyled(self) -> bool:
        """Nothing Textual's styles cache would add to a content line: no border, padding,
        outline, tint, opacity or hatch (a stylesheet that adds one takes the usual path)."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.opacity == 1.0
            and styles.text_opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
        )
