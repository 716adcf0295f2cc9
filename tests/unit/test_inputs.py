"""Input files must be regular files: a named pipe or a device is refused before it is opened
(opening a pipe with no writer blocks; /dev/zero never ends)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apm_tui.inputs import not_regular
from apm_tui.sources.base import SourceError
from apm_tui.sources.logs import read_log


def test_what_is_not_a_regular_file(tmp_path: Path) -> None:
    plain = tmp_path / "access.log"
    plain.write_text("x\n")
    link = tmp_path / "link.log"
    link.symlink_to(plain)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert not_regular(plain) is None and not_regular(link) is None
    assert not_regular(tmp_path / "missing.log") is None  # the caller's open says "not found"
    assert not_regular(fifo) == "a named pipe, not a regular file"
    assert not_regular("/dev/zero") == "a character device, not a regular file"
    assert not_regular(tmp_path) == "a directory, not a regular file"


def test_reading_a_log_that_is_a_named_pipe_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "access.log"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="a named pipe, not a regular file"):
        read_log(fifo)
