"""`apm-tui export FILE --csv DIR`: a recording's samples and spans as CSV, for pandas and
spreadsheets.

Writes DIR/metrics.csv (one row per metric sample: `timestamp` in Unix seconds, then every metric
column; empty where a sample has no value) and DIR/spans.csv (`trace_id, span_id, parent_id,
service, operation, kind, start, duration_ms, error, attributes` — the attributes as one JSON
object). The sources' history comes first, as in the recording. DIR is created if needed;
an earlier export there is replaced, any other file of those names (the recording being
read, someone's data) is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import sys
from pathlib import Path
from typing import TextIO

from apm_tui.errors import RecordingError, UsageError
from apm_tui.model import SPAN_STR_FIELDS
from apm_tui.recording import Recording

SPAN_COLUMNS = (*SPAN_STR_FIELDS, "start", "duration_ms", "error", "attributes")
SPAN_HEADER = ",".join(SPAN_COLUMNS)


def _replaceable(target: Path, header: str) -> None:
    """Refuse to replace a file that is not an earlier export (its first line is not the
    header this command writes there): `export rec.apmrec --csv .` beside a `spans.csv` of
    someone else's, or a recording named spans.csv, was overwritten without a word."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_file():
        try:
            with target.open("rb") as f:
                first = f.readline(4096).decode("utf-8", "replace").rstrip("\r\n")
        except OSError as exc:
            raise RecordingError(f"{target}: cannot read it: {exc.strerror}") from None
        if first == header or (header == "timestamp" and first.startswith("timestamp,")):
            return
    raise RecordingError(
        f"will not write {target}: it exists and is not an earlier export; choose another folder"
    )


def run(path: str, folder: str) -> int:
    if not folder:
        raise UsageError("--csv needs a folder name (it was empty)")
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--csv {out}: not a folder (the CSV files go into a folder)")
    for target, header in ((out / "metrics.csv", "timestamp"), (out / "spans.csv", SPAN_HEADER)):
        _replaceable(target, header)
    rec = Recording.open(path)
    written: list[Path] = []
    try:
        ticks = list(rec.ticks())
        if rec.lost and not ticks:  # (it wrote two header lines and exited 0)
            raise RecordingError(
                f"{rec.path}: none of its {rec.lost} tick(s) could be read (a damaged file); "
                "nothing to export"
            )
        out.mkdir(parents=True, exist_ok=True)
        names: dict[str, None] = {"timestamp": None}
        for tick in ticks:
            names.update(dict.fromkeys(tick.batch.metrics.names))
        with _new(out / "metrics.csv", written) as f:
            w = csv.writer(f)
            w.writerow(names)
            for tick in ticks:
                m = tick.batch.metrics
                present = m.columns()
                cols = [present.get(n) for n in names]
                for i in range(len(m)):
                    w.writerow(["" if c is None else _number(float(c[i])) for c in cols])
        with _new(out / "spans.csv", written) as f:
            w = csv.writer(f)
            w.writerow(SPAN_COLUMNS)
            for tick in ticks:
                s = tick.batch.spans
                for i in range(len(s)):
                    row = [str(s[n][i]) for n in SPAN_STR_FIELDS]
                    row += [repr(float(s["start"][i])), repr(float(s["duration_ms"][i]))]
                    row += [str(int(bool(s["error"][i]))), json.dumps(s["attributes"][i])]
                    w.writerow(row)
        for part in written:  # both whole: only now do they replace an earlier export
            os.replace(part, part.with_suffix(""))
    except OSError as exc:
        raise RecordingError(f"{out}: cannot write the CSV files: {exc.strerror}") from None
    finally:
        rec.close()
        for part in written:  # a full disk left a metrics.csv and half a spans.csv
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
    print(f"apm-tui: wrote {out / 'metrics.csv'} and {out / 'spans.csv'}")
    if rec.lost:  # a warning, where `report --from` says it: a script reading stdout goes on
        lost = f"apm-tui: {rec.lost} tick(s) could not be read (damaged or cut off)"
        print(lost, file=sys.stderr)
    return 0


def _new(target: Path, written: list[Path]) -> TextIO:
    """`target`.part, opened for the CSV and noted in `written`."""
    part = target.with_name(target.name + ".part")
    written.append(part)
    return part.open("w", newline="", encoding="utf-8")


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(value)
