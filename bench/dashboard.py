"""The live dashboard's own cost, beside glances: first frame, tick cost, CPU, RSS, terminal bytes.

Run: python bench/dashboard.py [--quick]. Prints one table and writes the same figures, with the
date, nproc and load average, to bench/results/dashboard.json. The machines are shared and noisy,
so repeated figures are medians.

How each figure is measured:
- first frame / first data / first analysis: `apm-tui` in a detached tmux pane at 200×60 (a tmux
  server of the bench's own; each launch is followed by one of bench/minimal_textual.py, a
  Textual app with one line and one box, whose first frame is the floor reported beside ours),
  `capture-pane` polled every 10 ms from just before `new-session`
  until the header says `apm-tui` under a panel border (frame: the skeleton apm_tui/ui/skeleton.py
  paints before Textual loads), the footer's keys are there too (Textual's own first frame),
  the header shows the UTC data clock (data), and shows `health` (analysis).
- tick cost: the app from `make_app` under `run_test(size=…)`, its timer disabled, the bench
  stepping the engine with a fake clock (+1 s a tick). Each part is the main thread's CPU time
  (`time.thread_time`): `engine.step`, `show_snapshot`, and the repaint inside `pilot.pause()`.
  CPU time, not wall time, because `pilot.pause()` sleeps at least 20 ms and keeps sleeping while
  any thread (the analysis) is busy. Between ticks the bench waits (untimed) for the engine's
  background fit/analysis to finish, as it does in the second between real ticks.
  Headless, the paint excludes encoding the frame into escape sequences; the terminal CPU figure
  includes it. Extra rows split the ticks by whether a chart was rebuilt, and count
  gen-2 garbage collections (a pass over the window's objects is one of the slow ticks).
- CPU %: utime+stime+cutime+cstime from /proc/PID/stat (children: a model fit may run in a
  child process) over the window after a warm-up, for `apm-tui`,
  `apm-tui --source system` and `glances -t 1` running side by side in 200×60 tmux panes.
- RSS: VmRSS after that window; and a separate interpreter stepping `make_engine`'s synthetic
  engine (speed 60, no UI) for N one-second ticks, its RSS before and after. The "after 1 h"
  row is an estimate: the app's RSS after the CPU run plus the soak's growth scaled to 3,600
  ticks (no scaling in full mode); the UI's own growth over an hour is not in it.
- bytes/s: each pane's output captured with `tmux pipe-pane -o 'cat >> FILE'`, the file's growth
  over the CPU window divided by its length.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "dashboard.json"
SOCKET = f"apm-bench-{os.getpid()}"
START = 1767225600.0  # 2026-01-01 00:00 UTC: the synthetic history's start
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
SIZES = ((120, 40), (200, 60))
TERMINAL = (200, 60)
CLOCK = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
PARTS = ("engine", "show", "paint")
REPLAY_SPEED = 64.0


@dataclass(frozen=True)
class Plan:
    frames: int  # first-frame launches
    ticks: int  # measured ticks per terminal size
    warmup_s: float  # before the CPU window
    cpu_s: float  # the CPU and bytes window
    soak_steps: int  # engine steps in the RSS soak


# The full CPU window starts after the detector's first model fit (160 samples: 32 to start the
# baselines, 128 feature rows; `--source system` has no history) and lasts one refit period
# (240 samples), so it holds the child-process fits at the rate they run in use.
FULL = Plan(frames=5, ticks=120, warmup_s=180.0, cpu_s=240.0, soak_steps=3600)
QUICK = Plan(frames=3, ticks=30, warmup_s=15.0, cpu_s=15.0, soak_steps=600)


# -- small helpers ---------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def median(values: list[float]) -> float:
    return pct(values, 50)


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stat_fields(path: str) -> list[str]:
    """/proc/…/stat after the command name; index i is field i + 3 of proc_pid_stat(5)."""
    return Path(path).read_text().rsplit(")", 1)[1].split()


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(utime + stime, cutime + cstime) of a process in clock ticks: its own threads, and the
    children it has waited for (a model fit may run in a child process)."""
    f = stat_fields(f"/proc/{pid}/stat")
    return int(f[11]) + int(f[12]), int(f[13]) + int(f[14])


def thread_ticks(pid: int, tid: int) -> int:
    f = stat_fields(f"/proc/{pid}/task/{tid}/stat")
    return int(f[11]) + int(f[12])


def command_path(name: str) -> str | None:
    """The real entry point beside this interpreter (skips pyenv shims), else PATH's."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def ensure_glances() -> tuple[str | None, str]:
    """glances' path (installed from PyPI if missing), or None and why."""
    found = command_path("glances")
    if found:
        return found, ""
    print("glances not on PATH: python3 -m pip install glances", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "glances"], capture_output=True, text=True
    )
    found = command_path("glances")
    if done.returncode == 0 and found:
        return found, ""
    why = (done.stderr.strip().splitlines() or ["glances not found after install"])[-1]
    print(f"glances missing, peer not measured: {why}", flush=True)
    return None, why


# -- tmux ------------------------------------------------------------------------------------
#: The panes' programs must find their size on the pane, as in a user's terminal: COLUMNS and
#: LINES left in the bench's environment (pytest exports 80 and 24 when its output is not a
#: terminal) would pass to the tmux server and make every dashboard lay out at 80×24.
PANE_ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


def tmux(*args: str) -> str:
    cmd = ["tmux", "-L", SOCKET, "-f", "/dev/null", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=PANE_ENV).stdout


@contextlib.contextmanager
def tmux_server() -> Iterator[None]:
    """A tmux server of the bench's own, so its sessions never touch anyone else's."""
    tmux("start-server", ";", "set-option", "-g", "exit-empty", "off")
    socket = Path(tmux("display-message", "-p", "#{socket_path}").strip())
    try:
        yield
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            tmux("kill-server")
        socket.unlink(missing_ok=True)


def launch(name: str, argv: list[str], size: tuple[int, int] = TERMINAL) -> None:
    w, h = size
    tmux(
        "new-session", "-d", "-s", name, "-x", str(w), "-y", str(h),
        "-e", "COLORTERM=truecolor", "exec " + shlex.join(argv),
    )  # fmt: skip


def pane_pid(name: str) -> int:
    return int(tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip())


def capture(name: str, *, styles: bool = False) -> str:
    try:
        return tmux("capture-pane", "-p", *(["-e"] if styles else []), "-t", name)
    except subprocess.CalledProcessError:
        return ""  # the session is not there yet, or its program died


def stop(name: str, pid: int | None = None) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        tmux("kill-session", "-t", name)
    deadline = time.monotonic() + 5
    while pid is not None and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


# -- 1. first frame --------------------------------------------------------------------------
#: A colour in tmux's `capture-pane -e` escapes: the skeleton paints none (only reverse and bold).
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|[34]8;[25];[0-9;]+)m")


def screen_marks(styled: str) -> set[str]:
    screen = re.sub(r"\x1b\[[0-9;]*m", "", styled)
    lines = screen.splitlines()
    header = lines[0] if lines else ""
    marks = set()
    if "apm-tui" in header and "╭" in screen:
        marks.add("frame")
        if COLOUR.search(styled):  # Textual's own first frame, not the skeleton's
            marks.add("textual")
        if CLOCK.search(header):
            marks.add("data")
        if "health" in header:
            marks.add("analysis")
    return marks


def one_launch(argv: list[str], index: int, timeout: float = 60.0) -> dict[str, float]:
    name = f"frame{index}"
    seen: dict[str, float] = {}
    t0 = time.perf_counter()
    launch(name, argv)
    pid = pane_pid(name)
    while len(seen) < 4 and time.perf_counter() - t0 < timeout:
        marks = screen_marks(capture(name, styles=True))
        elapsed = time.perf_counter() - t0
        for mark in marks - seen.keys():
            seen[mark] = elapsed
        time.sleep(0.01)
    stop(name, pid)
    return seen


def first_frame(apm: str, runs: int) -> dict[str, Any]:
    """apm-tui's launches, each followed by one of a minimal Textual app (the floor)."""
    launches, floor = [], []
    minimal = [sys.executable, str(ROOT / "bench" / "minimal_textual.py")]
    for i in range(runs):
        launches.append(one_launch([apm], i))
        floor.append(one_launch(minimal, runs + i, timeout=5.0).get("frame"))
    out: dict[str, Any] = {"runs": launches, "minimal_textual_runs": floor}
    for mark in ("frame", "textual", "data", "analysis"):
        times = [r[mark] for r in launches if mark in r]
        out[f"{mark}_s"] = median(times) if len(times) == runs else None
    seen = [t for t in floor if t is not None]
    out["minimal_textual_frame_s"] = median(seen) if len(seen) == runs else None
    return out


# -- 2. tick cost ----------------------------------------------------------------------------
class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settle(engine: Any) -> None:
    """Wait for the engine's background fit / analysis without collecting it (the next step
    does, as after the one-second gap between real ticks). `wait_for_background` would also
    schedule again, and on a tick that is due it re-runs the full analysis up to four times."""
    fit = vars(engine).get("_fit")  # (the requests it fits, its future), or None
    pending = [fit[1] if isinstance(fit, tuple) else fit, vars(engine).get("_full")]
    wait([f for f in pending if isinstance(f, Future)], timeout=60)


class GcTimer:
    """Seconds spent in the cyclic collector, and how many gen-2 passes ran (any thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.gen2 = 0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began
            self.gen2 += info["generation"] == 2


def chart_builds(app: Any) -> int:
    return sum(getattr(c, "builds", 0) for c in app.query("Chart"))


async def repaint(app: Any) -> None:
    """What the app does after a tick's snapshot is shown: its widgets' pending messages, then
    the screen's update (a layout pass if one is needed, the compositor's refresh), as its
    refresh timer would — until nothing is left to draw.

    Not `pilot.pause()`: that posts a callback to each of the ≈ 60 widgets and waits for every
    one, then for the process to go idle — ≈ 10 ms of main-thread CPU even with nothing to
    draw (`idle_pilot_pause_ms` in the results), harness time a real terminal never spends."""
    screen = app.screen
    nodes = [app, *screen.walk_children(with_self=True)]
    for _ in range(3):
        for _ in range(1000):
            await asyncio.sleep(0)
            if all(node._message_queue.empty() for node in nodes):
                break
        if not (screen._dirty_widgets or screen._layout_required or screen._repaint_required):
            return
        screen._on_timer_update()


async def idle_pause_ms(pilot: Any, runs: int = 30) -> float:
    """Main-thread CPU of one `pilot.pause()` with nothing to draw (see `repaint`)."""
    spent = []
    for _ in range(runs):
        began = time.thread_time()
        await pilot.pause()
        spent.append(time.thread_time() - began)
    return median(spent) * 1e3


async def one_tick(app: Any, pilot: Any, clock: FakeClock, gct: GcTimer) -> dict[str, float]:
    """One tick's parts in main-thread CPU seconds, plus its wall time, GC and chart builds."""
    clock.now += 1.0
    builds, gct.seconds, gct.gen2 = chart_builds(app), 0.0, 0
    marks = [(time.perf_counter(), time.thread_time())]
    snap = app.engine.step(clock())
    marks.append((time.perf_counter(), time.thread_time()))
    app.show_snapshot(snap)
    marks.append((time.perf_counter(), time.thread_time()))
    await repaint(app)
    marks.append((time.perf_counter(), time.thread_time()))
    record = {part: marks[k + 1][1] - marks[k][1] for k, part in enumerate(PARTS)}
    record |= {f"{part}_wall": marks[k + 1][0] - marks[k][0] for k, part in enumerate(PARTS)}
    record |= {"gc": gct.seconds, "gen2": gct.gen2, "builds": chart_builds(app) - builds}
    settle(app.engine)
    return record


def summarise(size: tuple[int, int], records: list[dict[str, float]]) -> dict[str, Any]:
    def ms(values: list[float]) -> dict[str, float]:
        return {"p50_ms": pct(values, 50) * 1e3, "p95_ms": pct(values, 95) * 1e3}

    total = [sum(r[p] for p in PARTS) for r in records]
    out: dict[str, Any] = {"size": f"{size[0]}x{size[1]}", "ticks": len(records)}
    out |= {part: ms([r[part] for r in records]) for part in PARTS}
    out["tick"] = ms(total) | {"max_ms": max(total) * 1e3}
    out["wall"] = {part: ms([r[f"{part}_wall"] for r in records]) for part in PARTS}
    rebuilt = [t for t, r in zip(total, records, strict=True) if r["builds"]]
    calm = [t for t, r in zip(total, records, strict=True) if not r["builds"]]
    out["ticks_with_chart_builds"] = len(rebuilt)
    out["tick_p50_ms_with_builds"] = pct(rebuilt, 50) * 1e3
    out["tick_p50_ms_without_builds"] = pct(calm, 50) * 1e3
    out["gen2_gc"] = {
        "ticks": sum(1 for r in records if r["gen2"]),
        "max_gc_ms": max(r["gc"] for r in records) * 1e3,
    }
    return out


async def tick_run(
    size: tuple[int, int], ticks: int, warmup: int = 10, replay: Path | None = None
) -> dict[str, Any]:
    from apm_tui.commands.dashboard import DashboardOptions
    from apm_tui.ui.app import make_app

    clock = FakeClock(START + 86_400.0)
    opts = DashboardOptions(start=START)
    if replay is not None:
        opts = DashboardOptions(sources=(), replay=str(replay), replay_speed=REPLAY_SPEED)
    app = make_app(opts, clock=clock)
    app.request_tick = lambda: None  # type: ignore[method-assign]  # the bench drives ticks
    gct = GcTimer()
    gc.callbacks.append(gct)
    try:
        async with app.run_test(size=size) as pilot:
            for i in range(warmup):
                await one_tick(app, pilot, clock, gct)
                if i == 0:
                    app.engine.wait_for_background()
            records = [await one_tick(app, pilot, clock, gct) for _ in range(ticks)]
            await pilot.pause()
            idle_pause = await idle_pause_ms(pilot)
    finally:
        gc.callbacks.remove(gct)
    out = summarise(size, records)
    out["idle_pilot_pause_ms"] = idle_pause
    if replay is not None:
        out["size"] += f" replay ×{REPLAY_SPEED:g}"
    return out


def tick_costs(ticks: int) -> list[dict[str, Any]]:
    runs = [asyncio.run(tick_run(size, ticks)) for size in SIZES]
    # A replay at the fastest speed: each one-second tick plays 64 recorded ticks through the
    # same engine and panels. The recording is of the default world (bench/recording.py's).
    from recording import record  # bench/recording.py

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "replay.apmrec"
        record(path, int((ticks + 12) * REPLAY_SPEED))
        runs.append(asyncio.run(tick_run(TERMINAL, ticks, replay=path)))
    return runs


# -- 3–5. CPU, RSS and bytes in real terminals -------------------------------------------------
@dataclass
class Watched:
    label: str
    name: str
    pid: int
    log: Path
    own: int = 0
    children: int = 0
    main: int = 0
    size: int = 0

    def mark(self) -> None:
        self.own, self.children = cpu_ticks(self.pid)
        self.main = thread_ticks(self.pid, self.pid)
        self.size = self.log.stat().st_size


def start_watched(label: str, argv: list[str], folder: Path) -> Watched:
    name = re.sub(r"\W+", "-", label)
    log = folder / f"{name}.out"
    log.touch()
    launch(name, argv)
    tmux("pipe-pane", "-o", "-t", name, "cat >> " + shlex.quote(str(log)))
    return Watched(label, name, pane_pid(name), log)


def measure_window(w: Watched, seconds: float) -> dict[str, float]:
    before = (w.own, w.children, w.main, w.size)
    w.mark()
    after = (w.own, w.children, w.main, w.size)
    own, children, main, size = (b - a for a, b in zip(before, after, strict=True))
    return {
        "cpu_pct": 100 * (own + children) / TICKS_PER_S / seconds,
        "own_cpu_pct": 100 * own / TICKS_PER_S / seconds,
        "children_cpu_pct": 100 * children / TICKS_PER_S / seconds,
        "main_thread_cpu_pct": 100 * main / TICKS_PER_S / seconds,
        "rss_mb": rss_mb(w.pid),
        "bytes_per_s": size / seconds,
    }


def terminal_run(apm: str, glances: str | None, plan: Plan) -> dict[str, dict[str, float]]:
    programs = {"apm-tui": [apm], "apm-tui --source system": [apm, "--source", "system"]}
    if glances:
        programs["glances -t 1"] = [glances, "-t", "1"]
    with tempfile.TemporaryDirectory(prefix="apm-bench-") as folder:
        watched = [start_watched(k, v, Path(folder)) for k, v in programs.items()]
        time.sleep(plan.warmup_s)
        for w in watched:
            w.mark()
        t0 = time.perf_counter()
        time.sleep(plan.cpu_s)
        seconds = time.perf_counter() - t0
        out = {w.label: measure_window(w, seconds) for w in watched}
        for w in watched:
            stop(w.name, w.pid)
    return out


# -- 4b. the engine soak (its own interpreter) -----------------------------------------------
def soak(steps: int) -> dict[str, Any]:
    from apm_tui.commands.dashboard import DashboardOptions, make_engine
    from apm_tui.config import Thresholds

    opts = DashboardOptions(start=START)
    engine = make_engine(opts, Thresholds())
    now = START + 86_400.0
    engine.step(now)
    engine.wait_for_background()
    start = rss_mb()
    trend = []
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        now += 1.0
        engine.step(now)
        settle(engine)
        if i % max(1, steps // 6) == 0:
            trend.append((i, round(rss_mb(), 1)))
    engine.close()
    return {
        "steps": steps,
        "simulated_hours": steps * opts.interval * opts.speed / 3600,
        "rss_start_mb": start,
        "rss_end_mb": rss_mb(),
        "rss_growth_mb": rss_mb() - start,
        "rss_trend": trend,
        "wall_s": time.perf_counter() - t0,
    }


def soak_in_child(steps: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--soak", str(steps)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the table -------------------------------------------------------------------------------
Row = tuple[str, str, str, str, str, str]
BLANK = ("—", "—", "", "")


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None or value != value else format(value, spec)


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}×"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "NO")


def frame_rows(ff: dict[str, Any]) -> list[Row]:
    f, floor = ff["frame_s"], ff.get("minimal_textual_frame_s")
    textual = ff.get("textual_s")
    return [
        ("first frame (s)", fmt(f), "—", "—", "≤ 0.4", verdict(None if f is None else f <= 0.4)),
        ("Textual's first frame (s)", fmt(textual), "—", "—", "", ""),
        ("  peer: a minimal Textual app (s)", fmt(floor), "", ratio(textual, floor), "", ""),
        ("first data: UTC clock (s)", fmt(ff["data_s"]), "—", "—", "", ""),
        ("first analysis: health (s)", fmt(ff["analysis_s"]), "—", "—", "", ""),
    ]


def tick_rows(runs: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for run in runs:
        for part in ("tick", *PARTS):
            p50, p95 = run[part]["p50_ms"], run[part]["p95_ms"]
            label = f"tick {run['size']} P50 / P95 (ms)" if part == "tick" else f"  {part}"
            target, ok = "", ""
            if part == "tick" and run["size"].startswith("200x60"):
                target, ok = "P95 ≤ 40", verdict(p95 <= 40)
            rows.append((label, f"{p50:.1f} / {p95:.1f}", "—", "—", target, ok))
        built, calm = run["tick_p50_ms_with_builds"], run["tick_p50_ms_without_builds"]
        with_builds = f"{built:.1f} / {calm:.1f}"
        gen2 = f"{run['gen2_gc']['ticks']} / {run['gen2_gc']['max_gc_ms']:.0f}"
        n = run["ticks_with_chart_builds"]
        rows.append((f"  P50 tick with / without chart builds ({n} with)", with_builds, *BLANK))
        rows.append(("  ticks with a gen-2 GC / longest GC (ms)", gen2, *BLANK))
    return rows


def cpu_split(figures: dict[str, float] | None) -> str:
    """main thread / other threads / child processes, in % of one core."""
    if figures is None:
        return "—"
    main, own = figures["main_thread_cpu_pct"], figures["own_cpu_pct"]
    return f"{main:.1f} / {own - main:.1f} / {figures['children_cpu_pct']:.1f}"


def peer_rows(term: dict[str, dict[str, float]]) -> list[Row]:
    peer = term.get("glances -t 1")
    rows: list[Row] = []
    specs = (
        ("cpu_pct", "CPU % at 1 Hz", ".1f", 1.0),
        ("rss_mb", "RSS after the CPU run (MB)", ".0f", 1.0),
        ("bytes_per_s", "to the terminal (KB/s)", ".1f", 1 / 1024),
    )
    for key, title, spec, scale in specs:
        for label in ("apm-tui", "apm-tui --source system"):
            mine = term[label][key] * scale
            theirs = peer[key] * scale if peer else None
            target, ok = "", ""
            if key == "cpu_pct":
                target, ok = "≤ glances", verdict(None if theirs is None else mine <= theirs)
            elif key == "bytes_per_s":
                target, ok = "≤ 20", verdict(mine <= 20)
            name = f"{title}, {label.replace('apm-tui', '').strip() or 'synthetic'}"
            rows.append((name, fmt(mine, spec), fmt(theirs, spec), ratio(mine, theirs), target, ok))
            if key == "cpu_pct":
                split = ("  main / other threads / children", cpu_split(term[label]))
                rows.append((*split, cpu_split(peer), "", "", ""))
    return rows


def soak_rows(term: dict[str, dict[str, float]], soaked: dict[str, Any]) -> list[Row]:
    hours = soaked["simulated_hours"]
    soak_label = f"engine soak RSS end / growth (MB), {soaked['steps']} ticks = {hours:.0f} h sim"
    soak_value = f"{soaked['rss_end_mb']:.0f} / {soaked['rss_growth_mb']:+.0f}"
    rows: list[Row] = [(soak_label, soak_value, *BLANK)]
    if soaked["steps"] >= 3600:  # a shorter soak is mostly warm-up: scaling it up misleads
        estimate = term["apm-tui"]["rss_mb"] + soaked["rss_growth_mb"] * 3600 / soaked["steps"]
        ok = verdict(estimate <= 150)
        label = "RSS after 1 h, est. (app + soak growth/h)"
        rows.append((label, f"{estimate:.0f}", "—", "—", "≤ 150", ok))
    return rows


def print_table(rows: list[Row], peer: str = "glances") -> None:
    head: Row = ("figure", "apm-tui", peer, "ratio", "target", "met")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    for row in (head, *rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))


# -- main ------------------------------------------------------------------------------------
def environment(glances: str | None, why: str) -> dict[str, Any]:
    import textual

    version = None
    if glances:
        out = subprocess.run([glances, "--version"], capture_output=True, text=True).stdout
        version = out.split()[2] if len(out.split()) > 2 else out.strip()
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nproc": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "textual": textual.__version__,
        "glances": version or f"missing: {why}",
        "terminal": f"tmux {TERMINAL[0]}x{TERMINAL[1]}, COLORTERM=truecolor",
    }


def step(title: str, fn: Callable[[], Any]) -> Any:
    print(f"… {title}", end="", flush=True)
    t0 = time.perf_counter()
    result = fn()
    print(f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    return result


def collect(quick: bool) -> dict[str, Any]:
    """Every dashboard figure, as the JSON this bench writes (also used by bench/all.py)."""
    plan = QUICK if quick else FULL
    apm = command_path("apm-tui")
    if apm is None:
        sys.exit("apm-tui is not installed (pip install -e .)")
    glances, why = ensure_glances()
    results: dict[str, Any] = {"mode": "quick" if quick else "full", "plan": asdict(plan)}
    results["environment"] = environment(glances, why)
    with tmux_server():
        results["first_frame"] = step("first frame", lambda: first_frame(apm, plan.frames))
        results["terminal"] = step("CPU, RSS, bytes", lambda: terminal_run(apm, glances, plan))
    results["ticks"] = step("tick cost", lambda: tick_costs(plan.ticks))
    results["soak"] = step("engine soak", lambda: soak_in_child(plan.soak_steps))
    results["environment"]["loadavg_end"] = os.getloadavg()
    return results


def table(results: dict[str, Any]) -> list[Row]:
    return [
        *frame_rows(results["first_frame"]),
        *tick_rows(results["ticks"]),
        *peer_rows(results["terminal"]),
        *soak_rows(results["terminal"], results["soak"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, shorter windows")
    parser.add_argument("--soak", type=int, metavar="STEPS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.soak is not None:
        print(json.dumps(soak(args.soak)))
        return
    results = collect(args.quick)
    print_table(table(results))
    env = results["environment"]
    load = f"load {env['loadavg_start']} → {env['loadavg_end']}"
    print(f"{env['date']}  nproc {env['nproc']}  {load}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
