"""A plotext chart as a Textual widget: one private figure, rebuilt only when data or size change.

plotext's module-level API shares one global figure, so each chart owns a figure object.
`build()` costs 3–6 ms per chart here, so the rendered text is cached on (data key, size,
colours) and a tick whose data did not change costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from rich.text import Text
from textual.widget import Widget

#: draw(figure, width, height, payload, palette) fills the figure; the widget builds it.
Draw = Callable[[Any, int, int, Any, dict[str, tuple[int, int, int]]], None]


class Chart(Widget):
    DEFAULT_CSS = """
    Chart { height: 1fr; width: 1fr; }
    """

    def __init__(self, draw: Draw, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._draw = draw
        self._key: Hashable = None
        self._payload: Any = None
        self._cache_key: Hashable = None
        self._cache: Text = Text("")
        self.builds = 0  # how many times plotext built this chart (tests and benchmarks read it)
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
        self.refresh()

    def palette(self) -> dict[str, tuple[int, int, int]]:
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
        from textual.color import Color

        out = {}
        for name, value in names.items():
            r, g, b = Color.parse(value).rgb
            out[name] = (int(r), int(g), int(b))
        return out

    def render(self) -> Text:
        width, height = self.size
        if width < 8 or height < 3 or self._payload is None:
            return Text("")
        palette = self.palette()
        cache_key = (self._key, width, height, tuple(sorted(palette.items())))
        if cache_key != self._cache_key:
            from plotext._figure import _figure_class

            figure = _figure_class()
            # plotext clamps a figure to the process's terminal (COLUMNS/LINES or the tty),
            # not to the widget: a maximised chart would stop at that width.
            figure._limit_size(False, False)
            figure.plotsize(width, height)
            figure.theme("clear")
            try:
                self._draw(figure, width, height, self._payload, palette)
                self._cache = Text.from_ansi(figure.build(), no_wrap=True, end="")
            except Exception as exc:  # plotext edge cases must cost a chart, not the app
                self._cache = Text(f"chart unavailable: {type(exc).__name__}: {exc}", "dim")
            self._cache_key = cache_key
            self.builds += 1
        return self._cache
