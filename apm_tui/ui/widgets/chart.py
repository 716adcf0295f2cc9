"""A chart as a Textual widget: a `plot.Figure` rebuilt only when data, size or colours change.

The rendered text is cached on (data key, size, colours), so a tick whose data did not change
costs nothing; the app redraws at most a few stale charts per tick, and a chart repainted
before its turn draws the data it drew before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from textual.color import Color
from textual.strip import Strip
from textual.theme import Theme

from apm_tui.ui.colours import BASIC_CHART
from apm_tui.ui.lazy import lazy_module
from apm_tui.ui.widgets.painted import Painted

if TYPE_CHECKING:
    from apm_tui.ui import plot
    from apm_tui.ui.plot import Figure
else:
    plot = lazy_module("apm_tui.ui.plot")  # numpy: loaded with the first data

#: draw(figure, width, height, payload, palette) fills the figure; the widget builds it.
Draw = Callable[["Figure", int, int, Any, dict[str, tuple[int, int, int]]], None]


#: `Chart.palette` by (theme name, the app's basic colours), with the theme it was made for.
_PALETTES: dict[tuple[str, bool], tuple[Theme, dict[str, tuple[int, int, int]]]] = {}


class Chart(Painted):
    DEFAULT_CSS = """
    Chart { height: 1fr; width: 1fr; }
    """

    def __init__(self, draw: Draw, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._draw = draw
        self._key: Hashable = None  # the newest data shown
        self._payload: Any = None
        #: The data drawn: the newest data once `redraw` has been called for it. A repaint
        #: for another reason (the screen around it changed) draws the same data again.
        self._drawn: tuple[Hashable, Any] = (None, None)
        self._cache_key: Hashable = None
        self._strips: list[Strip] = []
        self.builds = 0  # how many times this chart was built (tests and benchmarks read it)
        self.stale_since = 0  # the tick the shown data went stale (0: up to date)

    def show(self, key: Hashable, payload: Any, tick: int = 0) -> None:
        """New data; `key` must change whenever `payload` would draw differently.

        The chart is not redrawn here: the app redraws a few stale charts per tick (oldest
        first), so a bucket that completes for every chart at once does not make one tick pay
        for every rebuild.
        """
        if key == self._key:
            return
        self._key = key
        self._payload = payload
        if not self.stale_since:
            self.stale_since = max(tick, 1)

    def redraw(self) -> None:
        self.stale_since = 0
        self._drawn = (self._key, self._payload)
        self.refresh()

    def palette(self) -> dict[str, tuple[int, int, int]]:
        """The theme's colours as RGB, worked out once per theme (≈ 90 µs, and at 64× every
        chart is rebuilt every tick)."""
        theme = self.app.current_theme
        key = (self.app.theme, getattr(self.app, "basic_colours", False))
        found = _PALETTES.get(key)
        if found is None or found[0] is not theme:  # (a theme registered again: new colours)
            found = _PALETTES[key] = (theme, self._palette())
        return dict(found[1])

    def _palette(self) -> dict[str, tuple[int, int, int]]:
        theme = self.app.current_theme
        names = {
            "primary": theme.primary,
            "secondary": theme.secondary or theme.primary,
            "accent": theme.accent or theme.primary,
            "warning": theme.warning or "#ffa62b",
            "error": theme.error or "#ba3c5b",
            "success": theme.success or "#4EBF71",
            "foreground": theme.foreground or "#e0e0e0",
        }
        fg = Color.parse(names["foreground"])
        bg = Color.parse(theme.background or "#1e1e1e")
        out = {}
        for name, value in names.items():
            r, g, b = Color.parse(value).rgb
            out[name] = (int(r), int(g), int(b))
        r, g, b = bg.blend(fg, 0.6).rgb  # axes and labels: legible, quieter than the data
        out["muted"] = (int(r), int(g), int(b))
        if getattr(self.app, "basic_colours", False):
            out.update(BASIC_CHART)  # see apm_tui.ui.colours
        return out

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache_key = None  # a theme or CSS change: new colours

    def shown(self, width: int, height: int) -> list[Strip]:
        # Lines of Segments, not a Text from render(): Textual restyles a Text span by span on
        # every repaint of the widget (≈ 10 ms for a 64×16 chart here); Strips are painted as is.
        key = (self._drawn[0], width, height)
        if key != self._cache_key:
            self._strips = self._build(width, height)
            self._cache_key = key
        return self._strips

    def _build(self, width: int, height: int) -> list[Strip]:
        base = self.looks()[0]
        payload = self._drawn[1]
        if width < 8 or height < 3 or payload is None:
            return []
        self.builds += 1
        palette = self.palette()
        figure = plot.Figure(width, height, axis_color=palette["muted"])
        try:
            self._draw(figure, width, height, payload, palette)
            lines = figure.lines()
        except Exception as exc:  # an edge case in one chart must cost that chart, not the app
            lines = [[Segment(f"chart unavailable: {type(exc).__name__}: {exc}")]]
        return [
            Strip(
                [Segment(s.text, base + s.style if s.style else base) for s in line]
            ).adjust_cell_length(width, base)
            for line in lines
        ]
