"""A complete source of one's own: metrics an application appends to a JSON-lines file.

Each line is an object such as {"timestamp": 1767225600, "response_time_ms": 84.2,
"throughput_rps": 31, "error_rate_pct": 0.4, "queue_depth": 12}. Known fields fill the built-in
metrics; any other number becomes a custom metric. Run it with:

    MY_METRICS_FILE=app-metrics.jsonl apm-tui report --source my_source:JsonLinesSource
"""

from __future__ import annotations

import json
import os

from apm_tui import Batch, MetricSample

BUILT_IN = (
    "response_time_ms",
    "throughput_rps",
    "cpu_pct",
    "memory_pct",
    "db_query_ms",
    "error_rate_pct",
)


class JsonLinesSource:
    name = "jsonl"

    def __init__(self) -> None:
        self.path = os.environ.get("MY_METRICS_FILE", "app-metrics.jsonl")
        self.offset = 0

    def open(self) -> None:
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no metrics file at {self.path}")

    def backfill(self) -> Batch:
        return self._read_new_lines()

    def poll(self, now: float) -> Batch:
        return self._read_new_lines()

    def close(self) -> None:
        pass

    def _read_new_lines(self) -> Batch:
        samples = []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            for line in f:
                if not line.endswith("\n"):
                    break  # a line still being written: read it next time
                self.offset += len(line.encode("utf-8"))
                record = json.loads(line)
                known = {k: float(record[k]) for k in BUILT_IN if k in record}
                custom = {
                    k: float(v) for k, v in record.items() if k not in BUILT_IN and k != "timestamp"
                }
                samples.append(
                    MetricSample(timestamp=float(record["timestamp"]), **known, custom=custom)
                )
        return Batch.of(samples=samples)
