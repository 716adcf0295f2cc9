"""`apm-tui report --png FILE`: the dashboard as it shows the report's data, as a PNG.

The report's batch goes through the dashboard's own engine (as its history) and its own app,
drawn off-screen; the panels built from the full analysis (health, bottlenecks and
recommendations) and the anomalies marked on the charts are the report's `Analysis` itself
(`Engine.adopt`), so the picture and the text agree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from apm_tui.errors import ExportError

if TYPE_CHECKING:
    from apm_tui.analysis.result import Analysis
    from apm_tui.config import Thresholds
    from apm_tui.engine import Engine
    from apm_tui.model import Batch

#: The picture's size in cells when `--size` is not given.
DEFAULT_SIZE = (160, 50)
#: Seconds per sample when the data cannot say (a single sample, or none).
FALLBACK_INTERVAL_S = 60.0


def check_target(path: str) -> None:
    """Fail now, in one line, if the PNG cannot be written there — not after the analysis."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ExportError(f"cannot write {p}: it is a folder")
    if not folder.is_dir():
        raise ExportError(f"cannot write {p}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ExportError(f"cannot write {p}: permission denied")
    if p.is_file() and not is_png(p):  # (not /dev/stdout, say)
        # Last night's picture may be replaced; a log, a recording (`--from x --png x`) or
        # anything else there is somebody's data.
        raise ExportError(f"will not write {p}: it exists and is not a PNG; choose another name")


def is_png(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def data_interval(batch: Batch) -> float:
    """Seconds between the metric samples (the charts' bucket size follows from it)."""
    import numpy as np

    if not len(batch.metrics):
        return FALLBACK_INTERVAL_S
    steps = np.diff(np.unique(np.asarray(batch.metrics["timestamp"], dtype=float)))
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return float(np.median(steps)) if steps.size else FALLBACK_INTERVAL_S


def report_engine(batch: Batch, analysis: Analysis, th: Thresholds, name: str) -> Engine:
    from apm_tui.engine import Engine
    from apm_tui.model import newest_time
    from apm_tui.sources.batch import BatchSource

    interval = data_interval(batch)
    metrics = batch.metrics
    oldest = float(metrics["timestamp"].min()) if len(metrics) else 0.0
    span = max(newest_time(batch) - oldest, 0.0) + 2 * interval
    engine = Engine(
        [BatchSource(batch, name, {"report": True})],
        th,
        window_s=span,
        max_samples=len(metrics) + 16,
        max_spans=max(len(batch.spans) + 16, 1024),
        interval_s=interval,
        whole=True,
    )
    engine.adopt(analysis)  # the report's health, findings and anomalies, not new ones
    return engine


def save(
    batch: Batch,
    analysis: Analysis,
    th: Thresholds,
    name: str,
    path: str,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> tuple[int, int]:
    """Draw the dashboard over `batch` at `size` cells and write it to `path` as a PNG;
    returns the picture's size in pixels. Raises ExportError if it cannot be written."""
    import time

    from apm_tui.export.files import write_file
    from apm_tui.export.png import encode, render
    from apm_tui.model import newest_time
    from apm_tui.ui.headless import dashboard_screen

    engine = report_engine(batch, analysis, th, name)
    now = newest_time(batch) or time.time()
    try:
        screen = dashboard_screen(engine, now, size)
    finally:
        engine.close()
    image = render(screen)
    write_file(encode(image), path)
    return image.size
