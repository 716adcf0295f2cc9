"""Resident memory at thousands of requests a second: `python bench/rss_requests.py`.

Drives the dashboard's engine (no screen) on a followed nginx access log that gains `--rate`
requests every tick (a fake clock, one second a tick) until the window holds its limit of a
million requests, then `--idle` ticks with none; VmRSS at checkpoints. Runs twice, each in a
fresh process: with glibc's default allocation threshold, and with the fixed one `apm-tui`
sets at start (apm_tui.memory). Linux only (it reads /proc). Writes
bench/results/rss_requests.json.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "rss_requests.json"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def log_lines(rng: random.Random, t: float, n: int) -> str:
    """`n` requests in second `t`, nginx's combined format plus `$request_time`: half static
    files, the rest API paths with ids (many distinct paths and clients, as a real log)."""
    g = time.gmtime(t)
    stamp = (
        f"{g.tm_mday:02d}/{MONTHS[g.tm_mon - 1]}/{g.tm_year}:"
        f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} +0000"
    )
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            path = rng.choice(("/static/a.css", "/static/app.js", "/favicon.ico", "/"))
        elif r < 0.8:
            path = f"/users/{rng.randrange(100_000)}/orders?page={rng.randrange(50)}"
        else:
            path = f"/api/items/{rng.randrange(10**6)}"
        status = rng.choice((200,) * 20 + (304, 404, 500))
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        out.append(
            f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} {rng.randrange(100, 9000)} '
            f'"-" "Mozilla/5.0 agent/{rng.randrange(300)}" {rng.expovariate(50):.3f}\n'
        )
    return "".join(out)


def one_run(fixed: bool, rate: int, ticks: int, idle: int) -> dict[str, Any]:
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds
    from apm_tui.memory import fixed_mmap_threshold

    applied = fixed_mmap_threshold() if fixed else False
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "access.log"
        log.touch()
        engine = make_engine(DashboardOptions(sources=("log",), logs=(str(log),)), Thresholds())
        now = float(int(time.time()))
        engine.step(now)
        points = []
        began = time.monotonic()
        with log.open("a") as f:
            for i in range(1, ticks + idle + 1):
                if i <= ticks:
                    f.write(log_lines(rng, now, rate))
                    f.flush()
                now += 1.0
                engine.step(now)
                if i % 30 == 0 or i == ticks:
                    points.append(
                        {
                            "tick": i,
                            "phase": "load" if i <= ticks else "idle",
                            "requests": len(engine.window.requests),
                            "rss_mb": round(rss_mb(), 1),
                        }
                    )
        engine.wait_for_background(300)
        end = rss_mb()
        engine.close()
    return {
        "fixed_threshold": applied,
        "points": points,
        "end_mb": round(end, 1),
        "max_mb": max(p["rss_mb"] for p in points),
        "wall_s": round(time.monotonic() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5850, help="requests a tick (one second)")
    parser.add_argument("--ticks", type=int, default=240, help="ticks with requests")
    parser.add_argument("--idle", type=int, default=120, help="ticks without, after")
    parser.add_argument("--child", choices=("default", "fixed"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        out = one_run(args.child == "fixed", args.rate, args.ticks, args.idle)
        print(json.dumps(out))
        return
    results = {}
    for mode in ("default", "fixed"):
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--rate", str(args.rate),
             "--ticks", str(args.ticks), "--idle", str(args.idle)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[mode] = json.loads(done.stdout.splitlines()[-1])
        r = results[mode]
        print(
            f"{mode:8s} max {r['max_mb']:6.1f} MB  end {r['end_mb']:6.1f} MB  "
            f"({r['wall_s']} s)  " + " ".join(f"{p['tick']}:{p['rss_mb']:.0f}" for p in r["points"])
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rate_per_tick": args.rate,
        "runs": results,
    }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
