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
#: alarm that only costs the closer look), or DEL or a C1 character (U+0080 to U+009F, whose
#: UTF-8 starts with C2; so do `©` and `°`, more false alarms) written raw.
JSON_ESCAPES = (b"\\n", b"\\r", b"\\t", b"\\b", b"\\f", b"\\u")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def printable(text: str) -> str:
    """`text` with its control characters written out as escapes."""
    return CONTROL.sub(_escape, text) if CONTROL.search(text) else text


def any_control(texts: Sequence[str]) -> bool:
    """Whether any of `texts` has a control character: one C-level look at them joined
    (`isprintable` is also False for a non-ASCII space, which only costs the closer look)."""
    joined = "".join(texts)
    return not joined.isprintable() and CONTROL.search(joined) is not None


def json_may_hold_control(body: bytes | str) -> bool:
    """Whether a JSON document's strings may hold a control character. JSON writes U+0000 to
    U+001F escaped (`\\n`, `\\u001b`); DEL and C1 may be raw. A few substring searches of
    the body (a regular expression over a 5.7 MB body took 36 ms, a seventh of decoding it),
    so a body without any (nearly all) needs no look at each of its strings."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    # One byte each: memchr, a fraction of a millisecond for megabytes.
    if b"\\" in data and any(mark in data for mark in JSON_ESCAPES):
        return True
    return b"\x7f" in data or b"\xc2" in data


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
