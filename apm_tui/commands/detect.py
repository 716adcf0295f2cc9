"""`apm-tui detect SERIES.csv`: score one time series with the dashboard's streaming detector.

Reads a `timestamp,value` CSV (column names configurable), sorts it by time (stable, so duplicate
timestamps stay as separate rows in file order), and scores every row causally, exactly as the
live dashboard would have scored it sample by sample: the value goes in the `cpu_pct` column of a
metrics table and `StreamingDetector` scores it row by row (`detect_series`), refitting inline
where the dashboard refits in the background. A missing or non-numeric value is scored as
missing (no score, never flagged; it does not enter the baseline) and written back as an empty
value. Writes `timestamp,value,anomaly_score,is_anomaly`, one row per input row: the score is
the anomaly likelihood in 0–1 (empty while the detector warms up), and `is_anomaly` is the
detector's alarm (rare by design: one per incident; see `analysis/alarm.py`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from apm_tui.analysis.streaming import detect_series
from apm_tui.config import Thresholds
from apm_tui.inputs import not_regular
from apm_tui.model import FloatArray, Table

#: Timestamps from the first year up to (not including) the second: pandas' nanosecond range
#: is 1677-09-21 to 2262-04-11.
YEARS = (1678, 2262)
#: The detector's variances square the values, which overflows float64 from about 1.3e154;
#: this leaves room for sums over millions of rows (no real metric comes near it).
MAX_VALUE = 1e100


class DetectError(ValueError):
    """The input cannot be scored; the message says why, in one line."""


@dataclass(frozen=True)
class Series:
    """The input rows, sorted by time: original timestamp text, Unix seconds and values."""

    labels: list[str]
    seconds: FloatArray
    values: FloatArray


def read_series(path: str, timestamp_column: str, value_column: str) -> Series:
    """Read and validate the CSV; raise DetectError with one clear message when it is unusable."""
    import pandas as pd

    why = not_regular(path)
    if why:
        raise DetectError(f"{path}: {why}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DetectError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise DetectError(f"{path}: the file is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DetectError(f"{path}: cannot read it as CSV ({exc})") from None
    for column in (timestamp_column, value_column):
        if column not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise DetectError(f"{path}: no column named {column!r} (columns: {found})")
    if frame.empty:
        raise DetectError(f"{path}: the file has a header but no rows")
    labels = frame[timestamp_column].str.strip()
    stamps: Any = pd.to_datetime(labels, utc=True, format="ISO8601", errors="coerce")
    # Outside pandas' nanosecond range a date either parses to NaT or overflows later, by
    # pandas version: one bound for both, said with the value.
    low, high = (pd.Timestamp(f"{year}-01-01", tz="UTC") for year in YEARS)
    bad = (stamps.isna() | (stamps < low) | (stamps >= high)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DetectError(
            f"{path}: row {row + 1} has a timestamp that is not an ISO date from {YEARS[0]} "
            f"to {YEARS[1] - 1}: {labels.iloc[row]!r}"
        )
    texts = frame[value_column].str.strip()
    values = pd.to_numeric(texts, errors="coerce").to_numpy(float)
    values = np.where(np.isfinite(values), values, np.nan)
    if not np.isfinite(values).any():
        raise DetectError(f"{path}: column {value_column!r} has no numeric values")
    huge = np.abs(np.nan_to_num(values)) > MAX_VALUE
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise DetectError(
            f"{path}: row {row + 1} has a value beyond ±{MAX_VALUE:g}, too large to score: "
            f"{texts.iloc[row]!r}"
        )
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
    order = np.argsort(seconds, kind="stable")
    return Series([str(labels.iloc[i]) for i in order], seconds[order], values[order])


def write_csv(
    out: TextIO, series: Series, scores: FloatArray, flags: npt.NDArray[np.bool_]
) -> None:
    out.write("timestamp,value,anomaly_score,is_anomaly\n")
    for label, value, score, flag in zip(series.labels, series.values, scores, flags, strict=True):
        value_text = "" if np.isnan(value) else repr(float(value))
        score_text = "" if np.isnan(score) else f"{score:.6f}"
        out.write(f"{_csv_field(label)},{value_text},{score_text},{int(flag)}\n")


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def run(
    path: str,
    timestamp_column: str = "timestamp",
    value_column: str = "value",
    output: str | None = None,
) -> int:
    """Score the series in `path` and write the result to `output` (stdout when None)."""
    if output is not None and same_file(path, output):
        # Opening the output truncates it: the input's other columns would be gone.
        raise DetectError(f"-o {output} is the input file; write the scores to another file")
    series = read_series(path, timestamp_column, value_column)
    metrics = Table({"timestamp": series.seconds, "cpu_pct": series.values})
    scores, flags = detect_series(metrics, Thresholds())
    if output is None:
        write_csv(sys.stdout, series, scores, flags)
        return 0
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            write_csv(out, series, scores, flags)
    except OSError as exc:
        raise DetectError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through links too); a missing one names none."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
