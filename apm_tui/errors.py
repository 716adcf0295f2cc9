"""Errors the CLI turns into one line and exit status 2, in a module light enough for it to
import before the dashboard's first frame (the modules that raise them need numpy)."""

from __future__ import annotations

#: The exit status of bad options or input (and of `record` left with no source).
EXIT_USAGE = 2


class RecordingError(ValueError):
    """A recording cannot be written or read; the message names the file and the problem."""


class ExportError(OSError):
    """A picture (PNG, SVG) cannot be written; the message names the file and the reason."""


class UsageError(Exception):
    """Bad options or input: printed as one line, exit status 2."""
