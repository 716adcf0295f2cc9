"""Textual's compact footer, less its least needed keys when they would not fit the width.

Textual's footer scrolls sideways when its keys are wider than the screen, which without a
mouse means the last ones — `?` among them in a replay at 80 columns — are cut mid-word.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

#: Left out first, in this order, while the keys are wider than the footer; then the others
#: from the right, except `KEEP`. Each key stays in the help (`?`).
DROP_FIRST = ("maximize_panel", "toggle_record", "traces", "save_png")
#: `restore` shows only in a maximised panel, and is then the only way back without a mouse.
KEEP = frozenset({"quit", "help", "restore"})


class FittedFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)  # ctrl+p is in `?`

    async def recompose(self) -> None:
        await super().recompose()  # Textual's keys for the bindings that apply now
        self.fit(self.size.width)

    def on_resize(self, event: Resize) -> None:
        self.fit(event.size.width)

    def fit(self, width: int) -> None:
        out = self.left_out(width)
        hidden = False
        for child in self.children:
            if not isinstance(child, FooterLabel):  # a group's label follows its keys
                hidden = bool(out.intersection(actions(child)))
            child.display = not hidden

    def left_out(self, width: int) -> frozenset[str]:
        """The actions to leave out so the shown keys fit in `width` cells."""
        if not self._bindings_ready or width <= 0:
            return frozenset()
        items = self.items()
        total = sum(cells for _, cells in items)
        out: set[str] = set()
        order = [i for a in DROP_FIRST for i in items if a in i[0]]
        order += [i for i in reversed(items) if i not in order and not KEEP & i[0]]
        for names, cells in order:
            if total - 1 <= width:  # the last key's trailing space may fall off the edge
                break
            out |= names
            total -= cells
        return frozenset(out)

    def items(self) -> list[tuple[frozenset[str], int]]:
        """What the footer shows, in order: a key's action or a group's actions, with the
        cells each takes ("k Description" or "kk Label", and a space after it)."""
        runs: list[tuple[Binding.Group | None, list[Binding]]] = []
        seen: set[str] = set()
        for _, binding, _, _ in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            if binding.group is not None and runs and runs[-1][0] is binding.group:
                runs[-1][1].append(binding)
            else:
                runs.append((binding.group, [binding]))
        items: list[tuple[frozenset[str], int]] = []
        for group, bindings in runs:
            keys = [len(self.app.get_key_display(b)) for b in bindings]
            if group is not None and len(bindings) > 1:  # as Textual groups them
                names = frozenset(b.action for b in bindings)
                items.append((names, sum(keys) + len(group.description) + 2))
            else:
                for b, key in zip(bindings, keys, strict=True):
                    items.append((frozenset({b.action}), key + len(b.description) + 2))
        return items


def actions(widget: Widget) -> set[str]:
    if isinstance(widget, FooterKey):
        return {widget.action}
    if isinstance(widget, KeyGroup):
        return {key.action for key in widget.query(FooterKey)}
    return set()
