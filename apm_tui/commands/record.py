"""`apm-tui record -o FILE`: record the sources with no UI at all (servers, cron, systemd).

Polls the same sources the dashboard would (`--source`, `--pid`, …) once per `--interval` and
writes each tick's batches to a recording (see `apm_tui.recording`) until `--duration` seconds
have passed, or Ctrl-C or SIGTERM; every tick is committed as it is written, so stopping it any
way — even `kill -9` — leaves a file that opens and replays.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from apm_tui.commands import say_notices
from apm_tui.commands.dashboard import make_sources, options_from
from apm_tui.config import Thresholds
from apm_tui.engine import describe, merge_tick
from apm_tui.errors import EXIT_USAGE, RecordingError
from apm_tui.model import Batch, newest_time
from apm_tui.recording import Recorder


def run(args: argparse.Namespace, th: Thresholds) -> int:
    opts = options_from(args)
    sources, data_interval, notices = make_sources(opts)
    settings = {"options": asdict(opts), "thresholds": asdict(th), "data_interval_s": data_interval}
    recorder = Recorder(
        args.output,
        sources=[s.name for s in sources],
        settings=settings,
        interval_s=opts.interval,
    )
    for notice in notices:
        print(f"apm-tui: {notice}", file=sys.stderr)
    stop = threading.Event()
    tick = stored = 0
    kept_history = ticking = False
    failed = ""

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not ticking:  # a long history has no wait to wake: stop it where it is
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        for source in list(sources):
            try:
                source.open()
                history = source.backfill()
            except Exception as exc:  # a broken source is a line on stderr, not the end
                print(f"apm-tui: {source.name}: {describe(exc)}", file=sys.stderr)
                sources.remove(source)
                continue
            say_notices(history)
            if history:
                recorder.append(newest_time(history), history, history=True)
                kept_history = kept_history or bool(len(history.metrics) or len(history.spans))
        ticking = True
        started = time.monotonic()  # --duration counts from the first tick, after the history
        while sources and not stop.is_set():
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
            now = time.time()
            batches: list[Batch] = []
            for source in list(sources):
                try:
                    batches.append(source.poll(now))
                except Exception as exc:
                    print(f"apm-tui: {source.name}: {describe(exc)}", file=sys.stderr)
                    sources.remove(source)
            merged = merge_tick(batches)
            for batch in merged:
                say_notices(batch)
                if batch:
                    recorder.append(now, batch)
                    stored += 1
            if not any(merged):
                recorder.mark(now)
            tick += 1
            wake = started + tick * opts.interval
            if args.duration is not None:  # not an --interval past the end of --duration
                wake = min(wake, started + args.duration)
            stop.wait(max(0.0, wake - time.monotonic()))
    except KeyboardInterrupt:
        pass
    except RecordingError as exc:  # a full disk: say what the file holds, not only that
        failed = str(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for source in sources:
            # Closing is best effort; the recording is already safe.
            with contextlib.suppress(Exception):
                source.close()
        recorder.close()
    said = f"{recorded_line(tick, stored, kept_history)} to {recorder.path}"
    if failed:
        wal = Path(f"{recorder.path}-wal")
        if wal.exists() and wal.stat().st_size:  # the close could not fold it in
            said += f" (the last of them in {wal.name} beside it: keep and copy both)"
        print(f"apm-tui: error: {failed}; {said}", file=sys.stderr)
        return EXIT_USAGE
    if not sources and not stop.is_set():
        # Every source failed (each said why above): recording nothing for ever, or for
        # --duration, and then exiting 0 would tell cron and systemd all was well.
        if not stored and not kept_history:
            Path(recorder.path).unlink(missing_ok=True)  # ours, and empty: -o may be reused
            said = f"nothing was recorded and {recorder.path} was not kept"
        print(f"apm-tui: error: no source is left to record; {said}", file=sys.stderr)
        return EXIT_USAGE
    print(f"apm-tui: {said}", file=sys.stderr)
    return 0


def recorded_line(ticks: int, stored: int, history: bool) -> str:
    """What a headless recording holds, in words. A tick with no new data (a quiet log) is not
    stored; a replay's clock runs on past it."""
    line = f"recorded {stored} tick{'' if stored == 1 else 's'}"
    if ticks > stored:
        quiet = ticks - stored
        line = f"recorded {stored} of {ticks} ticks ("
        line += "none had new data)" if not stored else f"{quiet} had nothing new)"
    return line + (" plus the sources' history" if history else "")
