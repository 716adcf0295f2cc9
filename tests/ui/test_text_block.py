"""The text panels' block: wrapping that keeps an item's lines together."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from apm_tui.ui.widgets.panel import TextBlock


def test_a_text_blocks_wrapped_lines_go_on_under_their_indent() -> None:
    """A finding's evidence that wraps goes on two columns further in, so it reads as one
    item; a bar that fits its width is left whole."""
    block = TextBlock()
    block.text = Text("[HIGH] a title\n  " + "word " * 20 + "\n" + "█" * 40 + "\n")
    lines = [line.plain for line in block.wrapped(Console(width=40), 40)]
    assert lines[0] == "[HIGH] a title" and lines[1].startswith("  word")
    assert lines[2].startswith("    word") and lines[3].startswith("    word")
    assert all(len(line.rstrip()) <= 40 for line in lines)
    assert lines[4] == "█" * 40 and lines[5] == ""
    assert " ".join(lines[1:4]).split() == ["word"] * 20  # nothing lost or repeated
