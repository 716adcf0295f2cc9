"""HostSource against a fake psutil with fixed values: never the live machine."""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from apm_tui.model import METRIC_FIELDS
from apm_tui.sources.base import Source, SourceError
from apm_tui.sources.host import HostSource

MIB = 1024.0**2
GIB = 1024.0**3


class NoSuchProcess(Exception):
    pass


class AccessDenied(Exception):
    pass


class ZombieProcess(Exception):
    pass


class FakeProcess:
    """A process whose readings the test sets; `gone` ends it, `denied` hides fields."""

    def __init__(
        self,
        pid: int,
        name: str,
        cpu: float = 0.0,
        rss_mb: float = 0.0,
        threads: int = 1,
        files: int = 0,
    ) -> None:
        self.pid = pid
        self._name = name
        self.cpu = cpu
        self.rss_mb = rss_mb
        self.threads = threads
        self.files = files
        self.state = "running"
        self.gone = False
        self.denied: set[str] = set()

    def _check(self, field: str) -> None:
        if self.gone:
            raise NoSuchProcess(self.pid)
        if field in self.denied:
            raise AccessDenied(self.pid)

    @contextlib.contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def name(self) -> str:
        self._check("name")
        return self._name

    def status(self) -> str:
        self._check("status")
        return self.state

    def cpu_percent(self, interval: float | None = None) -> float:
        assert interval is None, "a blocking interval would stall the tick"
        self._check("cpu_percent")
        return self.cpu

    def memory_info(self) -> SimpleNamespace:
        self._check("memory_info")
        return SimpleNamespace(rss=self.rss_mb * MIB)

    def num_threads(self) -> int:
        self._check("num_threads")
        return self.threads

    def open_files(self) -> list[str]:
        self._check("open_files")
        return [f"/tmp/f{i}" for i in range(self.files)]

    @property
    def info(self) -> dict[str, Any]:
        self._check("info")
        return {
            "pid": self.pid,
            "name": self._name,
            "cpu_percent": self.cpu,
            "memory_info": SimpleNamespace(rss=self.rss_mb * MIB),
        }


class FakePsutil:
    """The slice of psutil HostSource uses, returning whatever the test put in it."""

    NoSuchProcess = NoSuchProcess
    AccessDenied = AccessDenied
    ZombieProcess = ZombieProcess

    def __init__(self) -> None:
        self.percpu = [10.0, 30.0, 50.0, 70.0]
        self.memory = SimpleNamespace(percent=42.5, total=16 * GIB)
        self.swap = SimpleNamespace(percent=3.0)
        self.load = (1.5, 1.0, 0.5)
        self.disk: SimpleNamespace | None = SimpleNamespace(read_bytes=1000, write_bytes=2000)
        self.net: SimpleNamespace | None = SimpleNamespace(bytes_recv=5000, bytes_sent=7000)
        self.processes: dict[int, FakeProcess] = {
            4242: FakeProcess(4242, "python", cpu=12.5, rss_mb=256.0, threads=7, files=3)
        }
        self.cpu_calls = 0
        self.walks = 0

    def cpu_percent(self, interval: float | None = None, percpu: bool = False) -> list[float]:
        assert interval is None, "a blocking interval would stall the tick"
        assert percpu
        self.cpu_calls += 1
        return list(self.percpu)

    def cpu_count(self) -> int:
        return len(self.percpu)

    def virtual_memory(self) -> SimpleNamespace:
        return self.memory

    def swap_memory(self) -> SimpleNamespace:
        return self.swap

    def getloadavg(self) -> tuple[float, float, float]:
        return self.load

    def disk_io_counters(self) -> SimpleNamespace | None:
        return self.disk

    def net_io_counters(self) -> SimpleNamespace | None:
        return self.net

    def Process(self, pid: int) -> FakeProcess:
        proc = self.processes.get(pid)
        if proc is None or proc.gone:
            raise NoSuchProcess(pid)
        return proc

    def process_iter(self, attrs: list[str]) -> Iterator[FakeProcess]:
        self.walks += 1
        yield from self.processes.values()


class Clock:
    """Monotonic time for the source: a second passes at each reading unless told."""

    def __init__(self, step: float = 1.0) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def host(fake: FakePsutil, **kwargs: Any) -> HostSource:
    source = HostSource(psutil_module=fake, clock=kwargs.pop("clock", Clock()), **kwargs)
    source.open()
    return source


def row(batch: Any) -> dict[str, float]:
    assert len(batch.metrics) == 1
    return {name: float(col[0]) for name, col in batch.metrics.columns().items()}


HOST_COLUMNS = {
    "timestamp",
    "cpu_pct",
    "memory_pct",
    "host.swap_pct",
    "host.load1",
    "host.load5",
    "host.load15",
    "host.disk_read_bps",
    "host.disk_write_bps",
    "host.net_rx_bps",
    "host.net_tx_bps",
    "host.cpu_core_0",
    "host.cpu_core_1",
    "host.cpu_core_2",
    "host.cpu_core_3",
}
PROC_COLUMNS = {
    "host.proc_cpu_pct",
    "host.proc_rss_mb",
    "host.proc_threads",
    "host.proc_open_files",
}


def test_one_poll_has_the_host_columns_and_values() -> None:
    fake = FakePsutil()
    source = host(fake)
    batch = source.poll(100.0)
    values = row(batch)
    assert set(values) == HOST_COLUMNS
    assert all(batch.metrics[name].dtype.kind == "f" for name in values)
    assert values["timestamp"] == 100.0
    assert values["cpu_pct"] == 40.0  # mean of the four cores
    assert [values[f"host.cpu_core_{i}"] for i in range(4)] == [10.0, 30.0, 50.0, 70.0]
    assert values["memory_pct"] == 42.5
    assert values["host.swap_pct"] == 3.0
    assert (values["host.load1"], values["host.load5"], values["host.load15"]) == (1.5, 1.0, 0.5)
    assert batch.status["cores"] == 4
    assert batch.status["memory_total_gb"] == 16.0
    assert "process" not in batch.status and "notices" not in batch.status


def test_request_metrics_are_left_out_not_invented() -> None:
    values = row(host(FakePsutil()).poll(100.0))
    for name in METRIC_FIELDS:
        if name not in ("cpu_pct", "memory_pct"):
            assert name not in values


def test_open_primes_cpu_and_polls_never_block() -> None:
    fake = FakePsutil()
    source = host(fake)
    assert fake.cpu_calls == 1  # the priming call; the fake rejects any blocking interval
    source.poll(100.0)
    assert fake.cpu_calls == 2


def test_cpu_is_not_read_moments_after_the_priming() -> None:
    """The first poll came milliseconds after `open` primed the counters: its CPU was the
    share of those milliseconds — apm-tui's own start-up, a core at 100 % — and the dashboard
    showed a HIGH "CPU Saturation" on an idle host."""
    fake = FakePsutil()
    fake.processes[1] = FakeProcess(1, "init", cpu=0.5, rss_mb=10.0)
    clock = Clock(step=0.0)
    source = host(fake, clock=clock, pid=4242)
    assert fake.cpu_calls == 1 and fake.walks == 1
    clock.now += 0.05
    first = source.poll(100.0)
    values = row(first)
    assert math.isnan(values["cpu_pct"]) and math.isnan(values["host.cpu_core_3"])
    assert math.isnan(values["host.proc_cpu_pct"])
    assert values["memory_pct"] == 42.5  # the rest is read as usual
    assert fake.cpu_calls == 1  # not read: reading would restart the measured span
    assert first.status["cores"] == 4 and "top_processes" not in first.status
    clock.now += 0.5
    second = source.poll(100.5)
    assert row(second)["cpu_pct"] == 40.0 and row(second)["host.proc_cpu_pct"] == 12.5
    assert fake.cpu_calls == 2 and second.status["top_processes"]
    clock.now += 0.1  # from then on every poll reads, however close (--interval 0.1)
    assert row(source.poll(100.6))["cpu_pct"] == 40.0


def test_rates_are_counter_deltas_over_the_elapsed_time() -> None:
    fake = FakePsutil()
    source = host(fake)
    first = row(source.poll(100.0))
    rates = ("host.disk_read_bps", "host.disk_write_bps", "host.net_rx_bps", "host.net_tx_bps")
    assert all(math.isnan(first[name]) for name in rates)
    fake.disk = SimpleNamespace(read_bytes=1000 + 4000, write_bytes=2000 + 1000)
    fake.net = SimpleNamespace(bytes_recv=5000 + 600, bytes_sent=7000)
    second = row(source.poll(102.0))
    assert second["host.disk_read_bps"] == 2000.0
    assert second["host.disk_write_bps"] == 500.0
    assert second["host.net_rx_bps"] == 300.0
    assert second["host.net_tx_bps"] == 0.0


def test_a_counter_that_goes_backwards_gives_nan_not_a_negative_rate() -> None:
    fake = FakePsutil()
    source = host(fake)
    source.poll(100.0)
    fake.net = SimpleNamespace(bytes_recv=10, bytes_sent=7000 + 100)  # rx reset, tx moved on
    values = row(source.poll(101.0))
    assert math.isnan(values["host.net_rx_bps"])
    assert values["host.net_tx_bps"] == 100.0
    # The reset value becomes the new baseline.
    fake.net = SimpleNamespace(bytes_recv=210, bytes_sent=7100)
    assert row(source.poll(102.0))["host.net_rx_bps"] == 200.0


def test_missing_disk_and_net_counters_give_nan_rates() -> None:
    fake = FakePsutil()
    fake.disk = None
    fake.net = None
    source = host(fake)
    source.poll(100.0)
    values = row(source.poll(101.0))
    for name in ("host.disk_read_bps", "host.disk_write_bps", "host.net_rx_bps", "host.net_tx_bps"):
        assert math.isnan(values[name])
    assert values["cpu_pct"] == 40.0


def test_top_processes_only_on_their_cadence_and_sorted_by_cpu() -> None:
    fake = FakePsutil()
    fake.processes = {
        1: FakeProcess(1, "init", cpu=0.5, rss_mb=10.0),
        2: FakeProcess(2, "db", cpu=80.0, rss_mb=2048.0),
        3: FakeProcess(3, "web", cpu=25.0, rss_mb=512.0),
        4: FakeProcess(4, "cron", cpu=1.0, rss_mb=5.0),
    }
    source = host(fake, processes_every_s=5.0, top_n=3)
    walks_after_open = fake.walks
    with_top = []
    for t in range(100, 112):
        batch = source.poll(float(t))
        if "top_processes" in batch.status:
            with_top.append(t)
            top = batch.status["top_processes"]
    assert with_top == [100, 105, 110]
    assert fake.walks - walks_after_open == 3, "no process walk between cadence polls"
    assert top == [
        {"pid": 2, "name": "db", "cpu_pct": 80.0, "rss_mb": 2048.0},
        {"pid": 3, "name": "web", "cpu_pct": 25.0, "rss_mb": 512.0},
        {"pid": 4, "name": "cron", "cpu_pct": 1.0, "rss_mb": 5.0},
    ]


def test_top_processes_skip_processes_that_vanish_or_hide() -> None:
    fake = FakePsutil()
    gone, hidden = FakeProcess(7, "gone", cpu=99.0), FakeProcess(8, "hidden", cpu=98.0)
    gone.gone = True
    hidden.denied.add("info")
    fake.processes = {7: gone, 8: hidden, 9: FakeProcess(9, "ok", cpu=1.0)}
    top = host(fake).poll(100.0).status["top_processes"]
    assert [p["pid"] for p in top] == [9]


def test_a_missing_pid_at_open_is_a_source_error_naming_it() -> None:
    source = HostSource(pid=9999, psutil_module=FakePsutil())
    with pytest.raises(SourceError, match="no process with pid 9999"):
        source.open()


def test_the_followed_process_adds_columns_and_status() -> None:
    source = host(FakePsutil(), pid=4242)
    assert source.name == "system+pid 4242"
    batch = source.poll(100.0)
    values = row(batch)
    assert set(values) == HOST_COLUMNS | PROC_COLUMNS
    assert values["host.proc_cpu_pct"] == 12.5
    assert values["host.proc_rss_mb"] == 256.0
    assert values["host.proc_threads"] == 7.0
    assert values["host.proc_open_files"] == 3.0
    assert batch.status["process"] == {
        "pid": 4242,
        "name": "python",
        "cpu_pct": 12.5,
        "rss_mb": 256.0,
        "threads": 7,
        "open_files": 3,
        "status": "running",
    }


def test_a_process_that_ends_is_announced_once_and_host_columns_keep_flowing() -> None:
    fake = FakePsutil()
    source = host(fake, pid=4242)
    source.poll(100.0)
    fake.processes[4242].gone = True
    ended = source.poll(101.0)
    assert ended.status["notices"] == ["pid 4242 (python) ended"]
    assert ended.status["process"]["status"] == "ended"
    values = row(ended)
    assert all(math.isnan(values[name]) for name in PROC_COLUMNS)
    assert values["cpu_pct"] == 40.0 and values["memory_pct"] == 42.5
    later = source.poll(102.0)
    assert "notices" not in later.status
    assert set(row(later)) == HOST_COLUMNS | PROC_COLUMNS
    assert row(later)["host.load1"] == 1.5


def test_a_zombie_counts_as_ended() -> None:
    fake = FakePsutil()
    source = host(fake, pid=4242)
    fake.processes[4242].state = "zombie"
    assert source.poll(100.0).status["notices"] == ["pid 4242 (python) ended"]


def test_access_denied_to_open_files_is_one_notice_and_nan_for_that_column_only() -> None:
    fake = FakePsutil()
    fake.processes[4242].denied.add("open_files")
    source = host(fake, pid=4242)
    batch = source.poll(100.0)
    assert batch.status["notices"] == ["pid 4242: access denied to open files"]
    assert batch.status["process"]["open_files"] is None
    values = row(batch)
    assert math.isnan(values["host.proc_open_files"])
    assert values["host.proc_cpu_pct"] == 12.5
    assert values["host.proc_rss_mb"] == 256.0
    assert values["host.proc_threads"] == 7.0
    assert "notices" not in source.poll(101.0).status


def test_interface_backfill_and_close() -> None:
    source = host(FakePsutil())
    assert isinstance(source, Source)
    assert source.name == "system"
    backfill = source.backfill()
    assert not backfill and len(backfill.metrics) == 0
    source.close()
    source.close()


def test_importing_the_module_does_not_import_psutil() -> None:
    code = "import sys, apm_tui.sources.host; assert 'psutil' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_process_name_cannot_carry_terminal_codes() -> None:
    """Anyone may name a process (`exec -a`); the top list is drawn on the terminal."""
    fake = FakePsutil()
    fake.processes = {5: FakeProcess(5, "evil\x1b[2J\x1b]0;t\x07", cpu=50.0, rss_mb=1.0)}
    top = host(fake).poll(100.0).status["top_processes"]
    assert [p["name"] for p in top] == ["evil\\x1b[2J\\x1b]0;t\\x07"]
