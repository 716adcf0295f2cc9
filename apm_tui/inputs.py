"""Input files (configs, logs, trace files, CSV series) must be regular files: they are read to
their end or at offsets, so a named pipe with no writer would wait forever and a device such as
/dev/zero would never end. Checked before the file is opened, since opening a pipe blocks."""

from __future__ import annotations

import os
import stat

#: Seconds in each unit a duration may be typed in (`90`, `90s`, `15m`, `2h`, `1d`): the
#: options' durations (`--backlog`) and the replay's `g` offsets read them alike.
DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}

KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be read as an input file, e.g. "a named pipe, not a regular file";
    None for a regular file (through links) and for a path that cannot be looked at (missing,
    no permission), which the caller's open reports in its own words."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in KINDS if test(mode)), "something")
    return f"{kind}, not a regular file"
