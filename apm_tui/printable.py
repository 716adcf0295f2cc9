"""Text from outside made safe to draw on a terminal.

A span's name, a service, an attribute, a logged path or a process name comes from whoever
sent or wrote it. Drawn as it is, an ESC in it is the start of a terminal command: `\\x1b[2J`
cleared the dashboard, OSC sequences can set the title or the clipboard on some terminals, and
a newline started a row of its own in the endpoint table. So control characters (C0, DEL, C1)
are written out as escapes where such text enters: `\\x1b`, `\\n`, `\\t`, as Python writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is not loaded for the command line's checks (apm_tui.cli)
    import numpy as np

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: In a JSON body: an escape that may be a control character (`\u00e9` is one too, a false
#: alarm that only costs the closer look), or DEL or a C1 character written raw in UTF-8.
JSON_CONTROL = re.compile(rb"\\[nrtbfu]|\x7f|\xc2[\x80-\x9f]")
JSON_CONTROL_TEXT = re.compile(r"\\[nrtbfu]|[\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def printable(text: str) -> str:
    """`text` with its control characters written out as escapes."""
    return CONTROL.sub(_escape, text) if CONTROL.search(text) else text


def any_control(texts: Sequence[str]) -> bool:
    """Whether any of `texts` has a control character. `isprintable` is a C loop; it is also
    False for some printable text (a non-ASCII space), which only costs a closer look."""
    return any(not text.isprintable() for text in texts) and any(
        CONTROL.search(text) for text in texts
    )


def json_may_hold_control(body: bytes | str) -> bool:
    """Whether a JSON document's strings may hold a control character. JSON writes U+0000 to
    U+001F escaped (`\\n`, `\\u001b`); DEL and C1 may be raw. One search of the body, so a
    body without any (nearly all) needs no look at each of its strings."""
    if isinstance(body, str):
        return JSON_CONTROL_TEXT.search(body) is not None
    return JSON_CONTROL.search(body) is not None


def printable_column(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """An object column of strings, as it is when none has a control character."""
    if not any_control(values.tolist()):
        return values
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = [printable(v) for v in values.tolist()]
    return out


def printable_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """An attribute dict (flat: the decoders join arrays and flatten maps) with its keys and
    string values printable."""
    return {printable(k): printable(v) if isinstance(v, str) else v for k, v in attrs.items()}


def attribute_texts(attrs: Iterable[dict[str, Any]]) -> list[str]:
    """Every key and string value of these (flat) attribute dicts."""
    return [x for d in attrs for kv in d.items() for x in kv if type(x) is str]
