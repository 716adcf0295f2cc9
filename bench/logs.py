"""Reading an nginx access log into requests, beside GoAccess on the same file.

Run: python bench/logs.py [--quick]. Writes a deterministic nginx log — combined plus
`$request_time`, 1,000,000 lines (100,000 with --quick), an hour of a shop's traffic from a
seeded numpy generator: endpoints with numeric ids, UUIDs and hashed asset names, a client pool,
a status mix with some 5xx, lognormal response times — into a temporary folder, then times, in
turns so both see the same machine load:

- `apm_tui.sources.logs.read_log(FILE)`: the whole file to the spans Table (median of 3, wall
  clock; the CPU time beside it, because the machine is shared), as it runs by default — a file
  this big is split between two processes on a two-CPU machine — and in one process
  (`workers=1`), the figure to compare per core;
- `goaccess FILE --log-format=… -o report.json` (if `goaccess` is on PATH; median of 3, or 1
  with --quick), its lines/s and the ratio to ours.

It also reports the Table's memory (its arrays plus every distinct object they point to) per
request, and checks both tools read every line. Targets: ≥ 300,000 lines/s and ≥ 3× GoAccess.
Writes bench/results/logs.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "logs.json"

from apm_tui.model import Table  # noqa: E402
from apm_tui.sources.logs import read_log  # noqa: E402

START = 1_767_225_600  # 2026-01-01 00:00 UTC
GOACCESS_FORMAT = '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T'
TARGET_LINES_PER_S = 300_000
TARGET_RATIO = 3.0

# (method, path template, weight, median response time in s); {id} numbers, {uuid}, {hash}.
ENDPOINTS = (
    ("GET", "/api/products", 14, 0.030),
    ("GET", "/api/products/{id}", 22, 0.012),
    ("GET", "/api/users/{id}", 10, 0.009),
    ("POST", "/api/cart/add", 8, 0.015),
    ("POST", "/api/orders", 3, 0.350),
    ("GET", "/api/orders/{uuid}", 4, 0.040),
    ("GET", "/api/search?q=shoes&page={id}", 6, 0.120),
    ("GET", "/static/app.{hash}.js", 12, 0.002),
    ("GET", "/static/img/{id}.jpg", 10, 0.003),
    ("GET", "/health", 8, 0.001),
    ("DELETE", "/api/cart/items/{id}", 3, 0.020),
)
STATUSES = ((200, 0.86), (201, 0.02), (204, 0.01), (301, 0.01), (304, 0.04), (400, 0.01),
            (404, 0.03), (500, 0.01), (502, 0.005), (503, 0.005))  # fmt: skip
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
    "Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "python-requests/2.31.0",
)


def generate(path: Path, lines: int, seed: int = 7) -> None:
    """An hour of traffic, `lines` requests, the same bytes for the same seed."""
    rng = np.random.default_rng(seed)
    weights = np.array([e[2] for e in ENDPOINTS], dtype=float)
    which = rng.choice(len(ENDPOINTS), lines, p=weights / weights.sum())
    ids = np.minimum(rng.zipf(1.3, lines), 99_999).tolist()
    # 20,000 orders and 12 builds of the front end (their assets' hashed names).
    orders = rng.integers(0, 2**63, (20_000, 2))
    uuids = orders[np.minimum(rng.zipf(1.1, lines), 20_000) - 1].tolist()
    builds = rng.integers(0, 2**63, 12)
    assets = builds[rng.integers(0, 12, lines)].tolist()
    median = np.array([e[3] for e in ENDPOINTS])[which]
    rt = (median * rng.lognormal(0.0, 0.6, lines)).tolist()
    codes = np.array([s for s, _ in STATUSES])
    status = codes[rng.choice(len(codes), lines, p=[p for _, p in STATUSES])].tolist()
    size = rng.integers(0, 60_000, lines).tolist()
    pool = [".".join(str(b) for b in rng.integers(1, 255, 4).tolist()) for _ in range(3_000)]
    client = (np.minimum(rng.zipf(1.2, lines), len(pool)) - 1).tolist()
    agent = rng.choice(len(AGENTS), lines, p=[0.55, 0.3, 0.1, 0.05]).tolist()
    # Logged when the response is sent: ~ START + i/rate, plus the response time.
    ends = (START + np.arange(lines) * (3600.0 / lines) + np.array(rt)).astype(np.int64)
    stamps: dict[int, str] = {}
    out = []
    for i, e in enumerate(which.tolist()):
        method, template, _, _ = ENDPOINTS[e]
        url = template.replace("{id}", str(ids[i]))
        if "{uuid}" in template:
            a, b = uuids[i]
            h = f"{a:016x}{b:016x}"
            url = url.replace("{uuid}", f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}")
        if "{hash}" in template:
            url = url.replace("{hash}", f"{assets[i]:016x}")
        t = int(ends[i])
        stamp = stamps.get(t)
        if stamp is None:
            stamp = stamps[t] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
        out.append(
            f'{pool[client[i]]} - - [{stamp}] "{method} {url} HTTP/1.1" {status[i]} {size[i]} '
            f'"-" "{AGENTS[agent[i]]}" {rt[i]:.3f}\n'
        )
    path.write_text("".join(out))


def table_bytes(table: Table) -> int:
    """The Table's arrays plus every distinct object its object columns point to."""
    seen: set[int] = set()
    total = 0
    for name in table.names:
        col = table[name]
        total += col.nbytes
        if col.dtype == object:
            for value in col.tolist():
                if id(value) not in seen:
                    seen.add(id(value))
                    total += sys.getsizeof(value)
                    if isinstance(value, dict):
                        total += sum(sys.getsizeof(v) for v in value.values())
    return total


def time_ours(path: Path, workers: int | None = None) -> tuple[float, float, int, int]:
    t0, c0 = time.perf_counter(), time.process_time()
    table, stats = read_log(path, workers=workers)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert stats.parsed == len(table)
    return wall, cpu, stats.lines, stats.rejected


def time_goaccess(goaccess: str, path: Path, out: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    subprocess.run(
        [goaccess, str(path), "--no-progress", f"--log-format={GOACCESS_FORMAT}",
         "--date-format=%d/%b/%Y", "--time-format=%T", "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    general = json.loads(out.read_text())["general"]
    return wall, int(general["valid_requests"])


def goaccess_version(goaccess: str) -> str:
    done = subprocess.run([goaccess, "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0].strip() if done.stdout else "?"


def collect(quick: bool = False) -> dict[str, Any]:
    lines = 100_000 if quick else 1_000_000
    runs = 3
    goaccess = shutil.which("goaccess")
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "lines": lines,
        "runs": runs,
        "goaccess": goaccess_version(goaccess) if goaccess else None,
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "access.log"
        t0 = time.perf_counter()
        generate(path, lines)
        out["generate_s"] = time.perf_counter() - t0
        out["file_mb"] = path.stat().st_size / 1e6
        read_log(path)  # warm: the file in the page cache, imports done (GoAccess gets the same)
        ours_wall, one_cpu, one_wall, goaccess_wall = [], [], [], []
        for run in range(runs):
            wall, _, counted, rejected = time_ours(path)
            ours_wall.append(wall)
            wall, cpu, _, _ = time_ours(path, workers=1)
            one_wall.append(wall)
            one_cpu.append(cpu)
            if goaccess and (run == 0 or not quick):
                g_wall, valid = time_goaccess(goaccess, path, Path(folder) / "report.json")
                goaccess_wall.append(g_wall)
                out["goaccess_valid_requests"] = valid
        table, _ = read_log(path)
        size = table_bytes(table)
        out["table_mb"] = size / 1e6
        out["table_bytes_per_request"] = size / max(len(table), 1)
    out["lines_read"] = counted
    out["rejected"] = rejected
    out["ours_wall_s"] = ours_wall
    out["ours_lines_per_s"] = lines / statistics.median(ours_wall)
    out["one_process_wall_s"] = one_wall
    out["one_process_lines_per_s"] = lines / statistics.median(one_wall)
    out["one_process_cpu_s"] = one_cpu
    out["one_process_cpu_lines_per_s"] = lines / statistics.median(one_cpu)
    if goaccess_wall:
        out["goaccess_wall_s"] = goaccess_wall
        out["goaccess_lines_per_s"] = lines / statistics.median(goaccess_wall)
        out["ratio"] = out["ours_lines_per_s"] / out["goaccess_lines_per_s"]
        out["one_process_ratio"] = out["one_process_lines_per_s"] / out["goaccess_lines_per_s"]
    else:
        out["goaccess_lines_per_s"] = None
        out["ratio"] = out["one_process_ratio"] = None
    return out


def report(out: dict[str, Any]) -> None:
    print(f"{out['lines']:,} nginx lines ({out['file_mb']:.0f} MB), {out['date']}")
    print(
        f"  apm-tui read_log: {out['ours_lines_per_s']:>10,.0f} lines/s "
        f"(median of {out['runs']}, wall), {out['rejected']} rejected"
    )
    print(
        f"    in one process: {out['one_process_lines_per_s']:>10,.0f} lines/s "
        f"(CPU time {out['one_process_cpu_lines_per_s']:,.0f} lines/s)"
    )
    if out["goaccess_lines_per_s"]:
        print(
            f"  {out['goaccess']}: {out['goaccess_lines_per_s']:>10,.0f} lines/s "
            f"({out['goaccess_valid_requests']:,} valid requests)  →  ratio {out['ratio']:.1f}× "
            f"({out['one_process_ratio']:.1f}× in one process)"
        )
    else:
        print("  goaccess: not on PATH (apt-get install goaccess), no comparison")
    print(
        f"  spans Table: {out['table_mb']:.0f} MB, "
        f"{out['table_bytes_per_request']:.0f} bytes per request"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 lines, one GoAccess run")
    args = parser.parse_args()
    out = collect(args.quick)
    report(out)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
