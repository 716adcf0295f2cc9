"""The real-host source: this machine's CPU, memory, load, disk and network, read with psutil.

`HostSource` backs `apm-tui --source system` (and `--pid PID` to follow one process). Each poll
yields one metric row: `cpu_pct` and `memory_pct`, plus host details under `HOST_PREFIX` (swap,
load averages, disk and network byte rates, per-core CPU, and the followed process's CPU, RSS,
threads and open files). A host does not measure requests, so the request metrics are left out
rather than filled with invented numbers; the analysis reads a missing column as "no data".

`status` carries what is not a time series: `cores`, `memory_total_gb`, the followed `process`,
`top_processes` (only on the slower process cadence) and `notices` (each said once).

Cost per poll is a few hundred microseconds: every call is non-blocking (`interval=None`, primed
in `open`), and the process table is walked only every `processes_every_s` seconds. A CPU figure
is the share of the time since the previous reading, so the first poll, moments after the
priming, would measure a few milliseconds — apm-tui's own start-up, one core at 100 %: until
`FIRST_CPU_SPAN_S` has passed since the priming, CPU is left unread (NaN, and no top list yet).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from apm_tui.model import HOST_PREFIX, Batch, Table
from apm_tui.printable import printable
from apm_tui.sources.base import SourceError

NAN = float("nan")
MIB = 1024.0**2
GIB = 1024.0**3

#: The process fields of `status["process"]` that are also metric columns (`host.proc_*`).
PROCESS_COLUMNS = ("cpu_pct", "rss_mb", "threads", "open_files")
TOP_ATTRS = ["pid", "name", "cpu_percent", "memory_info"]
FIRST_CPU_SPAN_S = 0.5


def _rate(current: float | None, previous: float | None, elapsed: float) -> float:
    """Bytes per second between two counter readings; NaN when it cannot be known.

    A counter that went backwards was reset (a NIC re-plugged, a disk detached): a negative rate
    would be nonsense and a huge one after a wrap a lie, so neither is reported.
    """
    if current is None or previous is None or elapsed <= 0 or current < previous:
        return NAN
    return (current - previous) / elapsed


def _num(value: Any) -> float:
    return NAN if value is None else float(value)


class HostSource:
    """Samples this host (and optionally one process) once per `poll`; no history."""

    def __init__(
        self,
        *,
        pid: int | None = None,
        processes_every_s: float = 5.0,
        top_n: int = 8,
        psutil_module: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if processes_every_s <= 0:
            raise ValueError("processes_every_s must be positive")
        if top_n < 0:
            raise ValueError("top_n must not be negative")
        if psutil_module is None:
            # Imported here, not at module level, so listing or importing sources stays cheap.
            import psutil

            psutil_module = psutil
        self._ps: Any = psutil_module
        self.pid = pid
        self.processes_every_s = processes_every_s
        self.top_n = top_n
        self.name = "system" if pid is None else f"system+pid {pid}"
        self._opened = False
        self._proc: Any = None
        self._proc_name = "?"
        self._announced: set[str] = set()
        self._pending: list[str] = []
        self._last_now: float | None = None
        self._last_io: tuple[float | None, ...] = (None, None, None, None)
        self._next_top: float | None = None
        self._clock = clock
        self._primed_at = -math.inf  # when CPU was primed; -inf once a reading has been taken

    # -- the Source interface ---------------------------------------------------------------

    def open(self) -> None:
        ps = self._ps
        if self.pid is not None:
            try:
                proc = ps.Process(self.pid)
                self._proc_name = printable(self._read(proc.name, "its name") or "?")
                # Per-process CPU, like the system's, is measured since the previous call.
                self._read(lambda: proc.cpu_percent(interval=None), "CPU time")
            except (ps.NoSuchProcess, ps.ZombieProcess, ValueError):
                raise SourceError(f"no process with pid {self.pid}") from None
            except ps.AccessDenied:
                raise SourceError(f"access denied to pid {self.pid}") from None
            self._proc = proc
        ps.cpu_percent(interval=None, percpu=True)
        if self.top_n:
            # psutil keeps the Process objects between walks, so walking once now makes the
            # first top list's CPU figures real instead of 0.0.
            for _ in ps.process_iter(["cpu_percent"]):
                pass
        self._primed_at = self._clock()
        self._opened = True

    def backfill(self) -> Batch:
        return Batch()

    def poll(self, now: float) -> Batch:
        if not self._opened:
            self.open()
        ps = self._ps
        cpu_due = self._clock() - self._primed_at >= FIRST_CPU_SPAN_S
        if cpu_due:
            self._primed_at = -math.inf
            percpu = [float(x) for x in ps.cpu_percent(interval=None, percpu=True)]
        else:  # too soon after the priming to mean anything: not read (that would re-prime)
            percpu = [NAN] * (ps.cpu_count() or 1)
        memory = ps.virtual_memory()
        load1, load5, load15 = ps.getloadavg()
        cols: dict[str, float] = {
            "timestamp": float(now),
            "cpu_pct": sum(percpu) / len(percpu) if percpu else NAN,
            "memory_pct": float(memory.percent),
            f"{HOST_PREFIX}swap_pct": float(ps.swap_memory().percent),
            f"{HOST_PREFIX}load1": float(load1),
            f"{HOST_PREFIX}load5": float(load5),
            f"{HOST_PREFIX}load15": float(load15),
        }
        cols.update(self._io_rates(now))
        for i, pct in enumerate(percpu):
            cols[f"{HOST_PREFIX}cpu_core_{i}"] = pct
        status: dict[str, Any] = {"cores": len(percpu), "memory_total_gb": memory.total / GIB}
        if self.pid is not None:
            process = self._read_process(cpu_due)
            status["process"] = process
            for key in PROCESS_COLUMNS:
                cols[f"{HOST_PREFIX}proc_{key}"] = _num(process[key])
        if self.top_n and cpu_due and (self._next_top is None or now >= self._next_top):
            status["top_processes"] = self._top_processes()
            # Keep to the grid (t0, t0+5, ...) so tick jitter does not drift the cadence, but
            # restart it after a long pause instead of catching up with a burst of walks.
            step = self.processes_every_s
            due = step + (now if self._next_top is None else self._next_top)
            self._next_top = due if due > now else now + step
        if self._pending:
            status["notices"], self._pending = self._pending, []
        self._last_now = now
        metrics = Table({k: np.array([v], dtype=np.float64) for k, v in cols.items()})
        return Batch(metrics=metrics, status=status)

    def close(self) -> None:
        self._proc = None
        self._opened = False

    # -- helpers ----------------------------------------------------------------------------

    def _io_rates(self, now: float) -> dict[str, float]:
        disk = self._ps.disk_io_counters()
        net = self._ps.net_io_counters()
        # None in containers and on machines without disks or interfaces.
        current: tuple[float | None, ...] = (
            None if disk is None else disk.read_bytes,
            None if disk is None else disk.write_bytes,
            None if net is None else net.bytes_recv,
            None if net is None else net.bytes_sent,
        )
        elapsed = NAN if self._last_now is None else now - self._last_now
        names = ("disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps")
        rates = {
            f"{HOST_PREFIX}{name}": _rate(cur, prev, elapsed)
            for name, cur, prev in zip(names, current, self._last_io, strict=True)
        }
        self._last_io = current
        return rates

    def _notice(self, text: str) -> None:
        # The UI shows notices as notifications: one per event, not one per tick.
        if text not in self._announced:
            self._announced.add(text)
            self._pending.append(text)

    def _read(self, read: Callable[[], Any], what: str) -> Any:
        """One field of the followed process, or None (with a notice) when access is denied."""
        try:
            return read()
        except self._ps.AccessDenied:
            self._notice(f"pid {self.pid}: access denied to {what}")
            return None

    def _read_process(self, cpu_due: bool) -> dict[str, Any]:
        # None rather than NaN here: status is recorded as JSON, which has no NaN.
        unknown: dict[str, Any] = dict.fromkeys(PROCESS_COLUMNS)
        info = {"pid": self.pid, "name": self._proc_name, **unknown, "status": "ended"}
        proc = self._proc
        if proc is None:
            return info
        ps = self._ps
        try:
            # oneshot() lets psutil read /proc/<pid>/stat and friends once for all fields.
            with proc.oneshot():
                state = self._read(proc.status, "its status")
                if state == "zombie":  # exited, not yet reaped by its parent
                    raise ps.ZombieProcess(self.pid)
                cpu = (
                    self._read(lambda: proc.cpu_percent(interval=None), "CPU time")
                    if cpu_due
                    else None
                )
                mem = self._read(proc.memory_info, "memory")
                threads = self._read(proc.num_threads, "threads")
                files = self._read(proc.open_files, "open files")
        except (ps.NoSuchProcess, ps.ZombieProcess):
            self._notice(f"pid {self.pid} ({self._proc_name}) ended")
            # Stop watching: the pid may soon belong to an unrelated process.
            self._proc = None
            return info
        info.update(
            cpu_pct=None if cpu is None else float(cpu),
            rss_mb=None if mem is None else mem.rss / MIB,
            threads=threads,
            open_files=None if files is None else len(files),
            status=state or "unknown",
        )
        return info

    def _top_processes(self) -> list[dict[str, Any]]:
        ps = self._ps
        rows: list[dict[str, Any]] = []
        for proc in ps.process_iter(TOP_ATTRS):
            try:
                info = proc.info
                mem = info.get("memory_info")
                rows.append(
                    {
                        "pid": int(info["pid"]),
                        # Anyone may name a process (`exec -a`): no terminal codes.
                        "name": printable(info.get("name") or "?"),
                        "cpu_pct": info.get("cpu_percent"),
                        "rss_mb": None if mem is None else mem.rss / MIB,
                    }
                )
            except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
                continue  # ended or hidden between listing and reading: not worth a notice
        # A process whose CPU could not be read ranks last rather than getting an invented 0.
        return heapq.nlargest(
            self.top_n,
            rows,
            key=lambda r: -math.inf if r["cpu_pct"] is None else r["cpu_pct"],
        )
