"""Writing pictures: the screenshot's file name, a new file that never overwrites another, and
one `ExportError` naming the file and the reason for every way writing can fail."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from apm_tui.errors import ExportError

#: `s` and the palette's screenshot commands name their files like this (local time).
NAME_FORMAT = "apm_dashboard_%Y%m%d-%H%M%S"


def write_file(data: bytes, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write `data` to `path`; with `overwrite=False` the file must be new (FileExistsError).
    Any other failure (no folder, no permission, a full disk) removes a partial file and
    raises `ExportError`."""
    target = Path(path)
    opened = False
    try:
        with open(target, "wb" if overwrite else "xb") as f:
            opened = True
            f.write(data)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and not overwrite:
            raise  # `save_new` tries the next name
        # A half-written picture is worse than none; but only a regular file is ours to
        # remove (`report --png /dev/full` must not delete the device).
        if opened and target.is_file():
            with contextlib.suppress(OSError):  # the first error is the one worth reporting
                target.unlink()
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def save_new(data: bytes, folder: str | os.PathLike[str], when: float, suffix: str) -> Path:
    """Write `data` to a new file named after `when` in `folder` (created if missing):
    apm_dashboard_YYYYmmdd-HHMMSS.png, or …-2.png, …-3.png for more in the same second."""
    base = Path(folder)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {base}: {exc.strerror or exc}") from None
    stem = time.strftime(NAME_FORMAT, time.localtime(when))
    for n in range(1, 1000):
        path = base / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        with contextlib.suppress(FileExistsError):
            return write_file(data, path, overwrite=False)
    raise ExportError(f"cannot write {base / stem}{suffix}: too many files with that name")
