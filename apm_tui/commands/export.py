"""`apm-tui export FILE --csv DIR`: a recording's samples and spans as CSV, for pandas and
spreadsheets.

Writes DIR/metrics.csv (one row per metric sample: `timestamp` in Unix seconds, then every metric
column; empty where a sample has no value) and DIR/spans.csv (`trace_id, span_id, parent_id,
service, operation, kind, start, duration_ms, error, attributes` — the attributes as one JSON
object). The sources' history comes first, as in the recording. DIR is created if needed;
existing files there are replaced.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

from apm_tui.errors import RecordingError, UsageError
from apm_tui.model import SPAN_STR_FIELDS
from apm_tui.recording import Recording

SPAN_COLUMNS = (*SPAN_STR_FIELDS, "start", "duration_ms", "error", "attributes")


def run(path: str, folder: str) -> int:
    if not folder:
        raise UsageError("--csv needs a folder name (it was empty)")
    rec = Recording.open(path)
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        ticks = list(rec.ticks())
        names: dict[str, None] = {"timestamp": None}
        for tick in ticks:
            names.update(dict.fromkeys(tick.batch.metrics.names))
        with (out / "metrics.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(names)
            for tick in ticks:
                m = tick.batch.metrics
                present = m.columns()
                cols = [present.get(n) for n in names]
                for i in range(len(m)):
                    w.writerow(["" if c is None else _number(float(c[i])) for c in cols])
        with (out / "spans.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(SPAN_COLUMNS)
            for tick in ticks:
                s = tick.batch.spans
                for i in range(len(s)):
                    row = [str(s[n][i]) for n in SPAN_STR_FIELDS]
                    row += [repr(float(s["start"][i])), repr(float(s["duration_ms"][i]))]
                    row += [str(int(bool(s["error"][i]))), json.dumps(s["attributes"][i])]
                    w.writerow(row)
    except OSError as exc:
        raise RecordingError(f"{out}: cannot write the CSV files: {exc.strerror}") from None
    finally:
        rec.close()
    print(f"apm-tui: wrote {out / 'metrics.csv'} and {out / 'spans.csv'}")
    if rec.lost:  # a warning, where `report --from` says it: a script reading stdout goes on
        lost = f"apm-tui: {rec.lost} tick(s) could not be read (damaged or cut off)"
        print(lost, file=sys.stderr)
    return 0


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(value)
