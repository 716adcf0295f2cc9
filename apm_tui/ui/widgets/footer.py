"""Textual's compact footer, less its least needed keys when they would not fit the width.

Textual's footer scrolls sideways when its keys are wider than the screen, which without a
mouse means the last ones — `?` among them in a replay at 80 columns — are cut mid-word.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Left out first to last while the keys are wider than the footer; each stays in `?`.
DROP_ORDER = ("maximize_panel", "restore", "toggle_record", "traces", "save_png")


class FittedFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)  # ctrl+p is in `?`
        self._left_out: frozenset[str] = frozenset()

    def compose(self) -> ComposeResult:
        self._left_out = self.left_out(self.size.width)
        for widget in super().compose():
            if not (isinstance(widget, FooterKey) and widget.action in self._left_out):
                yield widget

    def on_resize(self, event: Resize) -> None:
        if self.left_out(event.size.width) != self._left_out:
            self.call_after_refresh(self.recompose)

    def left_out(self, width: int) -> frozenset[str]:
        """The actions to leave out so the shown keys fit in `width` cells."""
        if not self._bindings_ready or width <= 0:
            return frozenset()
        cells: dict[str, int] = {}
        groups: dict[Binding.Group, list[str]] = {}
        for _, binding, _, _ in self.screen.active_bindings.values():
            if not binding.show:
                continue
            key = self.app.get_key_display(binding)
            if binding.group is not None:
                groups.setdefault(binding.group, []).append(key)
            else:  # "k Description" and a space after it
                cells.setdefault(binding.action, len(key) + len(binding.description) + 2)
        # A group: its keys side by side, then its label between spaces.
        total = sum(cells.values()) + sum(
            len("".join(keys)) + len(group.description) + 2 for group, keys in groups.items()
        )
        out: set[str] = set()
        for action in DROP_ORDER:
            if total - 1 <= width:  # the last key's trailing space may fall off the edge
                break
            if action in cells:
                out.add(action)
                total -= cells[action]
        return frozenset(out)
