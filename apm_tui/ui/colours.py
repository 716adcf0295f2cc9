"""Colours that survive a 16-colour terminal and NO_COLOR.

In 16 colours Rich draws each RGB colour as the nearest of the terminal's 16. Textual turns
the named colours of our text (`red`, `yellow`) into RGB through its ANSI theme first, Monokai
by default, whose red is a pink that became magenta and whose yellow an orange that became
bright red: a HIGH finding read milder than a MEDIUM one. The themes' chart colours fared no
better: the error line, its threshold and the anomaly marks all became bright red. Under
NO_COLOR Textual greys every colour by its luminance, and red text became #3a3a3a on #121212.
"""

from __future__ import annotations

from rich._palettes import STANDARD_PALETTE
from rich.terminal_theme import TerminalTheme

RGB = tuple[int, int, int]

#: The 16 colours as Rich matches them: a name drawn in this theme is drawn as itself.
_BASIC: list[RGB] = [(c.red, c.green, c.blue) for c in (STANDARD_PALETTE[i] for i in range(16))]
BASIC_THEME = TerminalTheme((0, 0, 0), (170, 170, 170), _BASIC[:8], _BASIC[8:])

#: Chart colours that stay apart in 16 colours (the ones Rich maps to red, bright yellow and
#: green), for the palette entries that meant "bad", "watch" and "good".
BASIC_CHART: dict[str, RGB] = {
    "error": (170, 0, 0),
    "warning": (255, 255, 85),
    "success": (0, 170, 0),
}


def one_colour_theme(rgb: RGB) -> TerminalTheme:
    """Every named colour drawn as `rgb`: under NO_COLOR the words and signs of a line say what
    its colour said, and the line stays as legible as the rest of the text."""
    return TerminalTheme(rgb, rgb, [rgb] * 8, [rgb] * 8)
