"""`apm-tui` with no subcommand: build the sources and the engine, then run the dashboard.

Building sources and the engine imports no Textual, so tests and the headless commands share
it; the Textual app is imported only when the dashboard really starts.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from apm_tui.config import Thresholds
from apm_tui.errors import UsageError

#: At most a million ticks of one source in the window (≈ 80 MB of samples).
MAX_WINDOW_TICKS = 1_000_000

if TYPE_CHECKING:
    # Only for types: the dashboard's first frame is drawn before numpy and the engine load.
    from apm_tui.engine import Engine
    from apm_tui.model import Batch
    from apm_tui.recording import Recording
    from apm_tui.sources.base import Source

#: Traces per simulated second of the live synthetic world (≈ 8,600 a simulated day).
LIVE_TRACE_RATE = 0.1


@dataclass(frozen=True)
class DashboardOptions:
    sources: tuple[str, ...] = ("synthetic",)
    pid: int | None = None
    interval: float = 1.0
    seed: int = 42
    speed: float = 60.0
    window_hours: float = 24.0
    start: float | None = None  # the synthetic history's start (tests fix it)
    record: str | None = None  # `--record FILE`: also write every tick to this recording
    recordings_dir: str | None = None  # where `r` records (default: the XDG data folder)
    screenshots_dir: str | None = None  # where `s` saves PNGs (default: the current folder)
    replay: str | None = None  # `apm-tui replay FILE`: the recording, instead of the sources
    replay_speed: float = 1.0
    logs: tuple[str, ...] = ()  # `--source log`: the access logs followed
    log_format: str = "auto"
    backlog_s: float = 900.0  # how much of a log's past is read first
    log_rules: tuple[tuple[str, str], ...] = ()  # (regex, route) rules before the built-ins
    listen: str | None = None  # `--source otlp`: HOST:PORT (default 127.0.0.1:4318)


#: Columns the host source owns when it runs beside a request source.
HOST_OWNED = ("cpu_pct", "memory_pct")


class WithoutColumns:
    """A source with some metric columns removed (the host's, when a host source runs too)."""

    def __init__(self, source: Source, columns: tuple[str, ...]) -> None:
        self.source = source
        self.columns = columns
        self.name = source.name

    def open(self) -> None:
        self.source.open()

    def backfill(self) -> Batch:
        return self._strip(self.source.backfill())

    def poll(self, now: float) -> Batch:
        return self._strip(self.source.poll(now))

    def close(self) -> None:
        self.source.close()

    def _strip(self, batch: Batch) -> Batch:
        from apm_tui.model import Batch, Table

        kept = {k: v for k, v in batch.metrics.columns().items() if k not in self.columns}
        return Batch(metrics=Table(kept), spans=batch.spans, status=batch.status)


def check_pid(pid: int | None) -> list[str]:
    if pid is None:
        return []
    import psutil

    return [] if psutil.pid_exists(pid) else [f"no process with pid {pid}"]


def make_sources(opts: DashboardOptions) -> tuple[list[Source], float, list[str]]:
    """The sources, the data interval (seconds per sample) they imply, and notices for the UI."""
    if opts.replay:
        return replay_sources(opts)
    from apm_tui.sources import load_user_source
    from apm_tui.sources.samples import RequestSamples
    from apm_tui.sources.synthetic import SyntheticSource, WorldSettings

    sources: list[Source] = []
    notices: list[str] = []
    interval = opts.interval
    names = list(dict.fromkeys(opts.sources))  # the same source twice would double-count
    if opts.pid is not None and "system" not in names:
        names.insert(0, "system")
    with_host = "system" in names
    for name in names:
        if name == "synthetic":
            # Beside the real host the synthetic world runs on the wall clock (speed 1, its
            # history ending now) and only supplies requests: CPU and memory are the host's.
            speed = 1.0 if with_host else opts.speed
            interval = opts.interval * speed
            hours = opts.window_hours
            start = opts.start
            if with_host and start is None:
                start = time.time() - hours * 3600
            settings = WorldSettings(
                seed=opts.seed,
                hours=hours,
                interval_s=interval,
                traces=int(LIVE_TRACE_RATE * hours * 3600),
                speed=speed,
                live_trace_rate=LIVE_TRACE_RATE,
                start=start,
            )
            world: Source = SyntheticSource(settings)
            if with_host:
                world = WithoutColumns(world, HOST_OWNED)
            sources.append(world)
        elif name == "system":
            from apm_tui.sources.host import HostSource

            # A pid that is not there is a notice; the host itself is still worth watching.
            missing = check_pid(opts.pid)
            notices.extend(missing)
            sources.append(HostSource(pid=None if missing else opts.pid))
        elif name == "otlp":
            from apm_tui.sources.otlp import DEFAULT_LISTEN, OtlpSource

            sources.append(RequestSamples(OtlpSource(listen=opts.listen or DEFAULT_LISTEN)))
        elif name == "log":
            from apm_tui.sources.logs import LogSource

            log = LogSource(
                list(opts.logs), fmt=opts.log_format, backlog_s=opts.backlog_s, rules=opts.log_rules
            )
            sources.append(RequestSamples(log))
        else:
            sources.append(load_user_source(name))
    return sources, interval, notices


def replay_sources(opts: DashboardOptions) -> tuple[list[Source], float, list[str]]:
    """A recording replayed: its one source, and the data interval it was recorded with."""
    from apm_tui.sources.recorded import ReplaySource

    source = ReplaySource(opts.replay or "", opts.replay_speed)
    interval = source.recording.settings().get("data_interval_s")
    if not isinstance(interval, int | float) or interval <= 0:
        interval = source.recording.interval_s
    return [source], float(interval), []


def make_engine(opts: DashboardOptions, th: Thresholds) -> Engine:
    from apm_tui.engine import Engine

    sources, interval, notices = make_sources(opts)
    window_s = opts.window_hours * 3600
    # Each source adds rows of its own (a host sample and a synthetic sample per tick, say).
    max_samples = (math.ceil(window_s / interval) + 16) * max(1, len(sources))
    engine = Engine(
        sources,
        th,
        window_s=window_s,
        max_samples=max_samples,
        interval_s=interval,
        isolate_fits=True,
    )
    for notice in notices:
        engine.notice(notice)
    if opts.record:
        from apm_tui.recording import Recorder

        engine.recorder = Recorder(
            opts.record,
            sources=[s.name for s in sources],
            settings={
                "options": asdict(opts),
                "thresholds": asdict(th),
                "data_interval_s": interval,
            },
            interval_s=opts.interval,
        )
    return engine


def options_from(args: argparse.Namespace) -> DashboardOptions:
    # `--pid` alone means "watch this process on this host", `--log` alone "watch this log",
    # `--listen` alone "receive traces there", not the synthetic demo.
    default = [
        name
        for name, given in (
            ("system", args.pid is not None),
            ("log", bool(args.log)),
            ("otlp", args.listen is not None),
        )
        if given
    ] or ["synthetic"]
    sources = tuple(args.source or default)
    if "log" in sources and not args.log:
        raise UsageError("--source log needs --log PATH (the access log to follow)")
    if args.log and "log" not in sources:
        raise UsageError("--log is for --source log: add it, or leave --source out")
    if args.listen is not None and "otlp" not in sources:
        raise UsageError("--listen is for --source otlp: add it, or leave --source out")
    ticks = args.window * 3600 / args.interval
    if ticks > MAX_WINDOW_TICKS:
        raise UsageError(
            f"--window {args.window:g} at --interval {args.interval:g} is {ticks:,.0f} ticks; "
            f"the limit is {MAX_WINDOW_TICKS:,} (a longer --interval or a shorter --window)"
        )
    return DashboardOptions(
        sources=sources,
        logs=tuple(args.log or ()),
        log_rules=tuple(args.log_rules or ()),
        log_format=args.log_format,
        backlog_s=args.backlog,
        listen=args.listen,
        pid=args.pid,
        interval=args.interval,
        seed=args.seed,
        speed=args.speed,
        window_hours=args.window,
        record=getattr(args, "record", None),
        recordings_dir=getattr(args, "recordings_dir", None),
        screenshots_dir=getattr(args, "screenshots_dir", None),
    )


def run(args: argparse.Namespace, th: Thresholds) -> int:
    opts = options_from(args)
    # The sources are built after the first frame (in the tick worker); a source spec that
    # cannot even be imported, or a port that cannot be listened on, is one line now, before
    # the terminal switches screens.
    check_sources(opts)
    if opts.record is not None:
        check_new_file(opts.record)
    return run_app(opts, th, args.theme)


def run_app(opts: DashboardOptions, th: Thresholds, theme: str | None) -> int:
    from apm_tui.ui import skeleton

    if skeleton.wanted(sys.stderr):
        # Textual sizes itself from COLUMNS and LINES when they are exported (as
        # shutil.get_terminal_size does), and then lays out at that size whatever the terminal
        # is and however it is resized; on a terminal, the terminal's own size is the truth.
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)
    # The empty frame is up while Textual itself loads (see apm_tui.ui.skeleton).
    with skeleton.shown(mode="REPLAY" if opts.replay else "LIVE") as frame:
        from apm_tui.ui.app import make_app

        app = make_app(opts, th, theme=theme)
        frame.hand_over()
        app.run()
    return 0


def check_sources(opts: DashboardOptions) -> None:
    from apm_tui.sources import resolve_user_source

    for name in opts.sources:
        if name == "otlp":
            check_listen(opts.listen)
        elif name == "log":
            from apm_tui.sources.logs.follow import check_log
            from apm_tui.sources.logs.source import resolve_format

            for path in opts.logs:  # opening a named pipe would hang the tick worker
                check_log(path)
            resolve_format(opts.log_format)
        elif name not in ("synthetic", "system", "log"):
            resolve_user_source(name)


def check_listen(listen: str | None) -> None:
    """The OTLP address can be bound (it is bound again, for good, when the source opens)."""
    import socket

    from apm_tui.sources.base import SourceError
    from apm_tui.sources.otlp import DEFAULT_LISTEN, parse_listen

    host, port = parse_listen(listen or DEFAULT_LISTEN)
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(info[0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(info[4])
    except OSError as exc:
        raise SourceError(
            f"cannot receive OTLP on {host}:{port}: {exc.strerror or exc}; "
            "choose another with --listen HOST:PORT"
        ) from None


def replay(args: argparse.Namespace, judged_by: Callable[[Recording], Thresholds]) -> int:
    """The dashboard on a recording, with the thresholds `judged_by` gives for it."""
    from apm_tui.recording import Recording

    # A bad file (or bad recorded thresholds) is one line now, not after the screen switch.
    recording = Recording.open(args.recording)
    try:
        th = judged_by(recording)
    finally:
        recording.close()
    opts = DashboardOptions(
        sources=(),
        replay=args.recording,
        replay_speed=args.speed,
        screenshots_dir=args.screenshots_dir,
        recordings_dir=args.recordings_dir,
    )
    return run_app(opts, th, args.theme)


def check_new_file(path: str) -> None:
    """A recording's path must be new and its folder writable: said now, in one line, rather
    than after the screen has switched (the recorder is created with the engine)."""
    from apm_tui.errors import RecordingError
    from apm_tui.recording import check_new_path

    if not path:
        raise RecordingError("--record needs a file name (it was empty)")
    check_new_path(Path(path))
