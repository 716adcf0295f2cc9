"""Recordings: the raw batches of a session, tick by tick, in one SQLite file.

What is recorded is what the engine ingests — each tick's merged batches (metric rows, spans,
the sources' status) and the sources' history before the first tick — not what was drawn, so a
replay feeds the same pipeline and every panel and analysis replays.

The file (schema version 3):

    meta(key TEXT PRIMARY KEY, value TEXT)   format, schema_version, apm_tui_version, sources,
                                             settings (JSON), started_at, interval_s, ticks,
                                             first_tick_t, last_tick_t
    ticks(seq INTEGER PRIMARY KEY, t REAL, history INTEGER, payload BLOB)   + an index on t
    strings(id INTEGER PRIMARY KEY, value TEXT)   the payloads' repeated strings

Each tick is one row, committed as it is written (write-ahead log, folded back into the one file
when the recording closes): a `kill -9` loses at most the tick in flight, and the file opens and
replays where it lies (its `-wal` file beside it holds the last ticks until it is next opened).
A payload is one batch, compact and lossless (`apm_tui.payload`). A tick's new strings are
written in its transaction. Schema-1 files (every value in the payload) and schema-2 files
(the same columns as 3 behind a JSON header) are still read.
Reading never executes anything from the file: no pickle, no eval; every length is checked.
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import shutil
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apm_tui import __version__
from apm_tui.config import THRESHOLD_KEYS, ConfigError, Thresholds
from apm_tui.errors import RecordingError
from apm_tui.inputs import not_regular
from apm_tui.model import SPAN_STR_FIELDS, Batch, Table, newest_time
from apm_tui.payload import Strings, decode_batch, encode_batch, jsonable, open_payload
from apm_tui.payload_block import Unsupported, decode_joined
from apm_tui.salvage import Damaged, Pages

__all__ = ["Recorder", "Recording", "RecordingError", "Tick"]

FORMAT = "apm-tui recording"
#: What a payload that does not decode raises (a damaged or hostile file).
DECODE_ERRORS = (ValueError, KeyError, TypeError, OverflowError, zlib.error)
SCHEMA_VERSION = 3
#: Ticks read at most to find one with data, from a point of a recording: every source gives
#: a sample a minute at least (a quiet log's is a minute of zero traffic), 60 ticks at 1 s.
DATA_PROBE = 256

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ticks (
    seq INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    history INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX ticks_t ON ticks (t);
CREATE TABLE strings (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
"""


# -- schema-1 payloads (read only) -------------------------------------------------------------
def decode_v1(payload: bytes) -> Batch:
    """A schema-1 payload (JSON strings, float64 numbers), for recordings made before 2."""
    header, reader = open_payload(payload, zdict=None)
    m = header["metrics"]
    n, names = int(m["rows"]), m["columns"]
    if n < 0 or not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        raise ValueError("bad metric columns")
    metrics = Table({name: reader.take(n, "<f8") for name in names}) if names else Table({})
    s = header["spans"]
    rows = int(s["rows"])
    spans = Table({})
    if rows:
        strings, attrs = s["strings"], s["attributes"]
        if set(strings) != set(SPAN_STR_FIELDS) or len(attrs) != rows:
            raise ValueError("bad span columns")
        cols: dict[str, np.ndarray[Any, Any]] = {}
        for name in SPAN_STR_FIELDS:
            values = strings[name]
            if len(values) != rows or not all(isinstance(v, str) for v in values):
                raise ValueError(f"bad span column {name}")
            cols[name] = np.array(values, dtype=object)
        cols["start"] = reader.take(rows, "<f8")
        cols["duration_ms"] = reader.take(rows, "<f8")
        cols["error"] = reader.take(rows, "u1").astype(bool)
        if not all(isinstance(a, dict) for a in attrs):
            raise ValueError("bad span attributes")
        column = np.empty(rows, dtype=object)
        column[:] = attrs
        cols["attributes"] = column
        spans = Table(cols)
    reader.finish()
    status = header.get("status", {})
    if not isinstance(status, dict):
        raise ValueError("bad status")
    return Batch(metrics=metrics, spans=spans, status=status)


# -- writing -------------------------------------------------------------------------------------
def check_new_path(path: Path) -> None:
    """A recording is written to a new file in a folder that exists: anything else is one
    line in words (SQLite's own is "unable to open database file")."""
    if path.is_dir():
        raise RecordingError(f"{path}: is a folder; give the recording a file name")
    if path.exists():
        raise RecordingError(f"{path}: already exists; choose another name")
    folder = path.parent  # (Path("x").parent is ".")
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise RecordingError(f"{path}: cannot write a recording: {folder} {why}")
    # A folder that takes no files (read-only, /proc) gives the system's reason, not SQLite's.
    # Made and removed, not `os.access`: root passes that check on /proc and read-only mounts.
    try:
        path.open("xb").close()
        path.unlink()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot write a recording: {exc.strerror or exc}") from None


#: Ticks between two checkpoints: a file copied without its `-wal` (a recording killed on a
#: server) lacks at most this many of the last ticks.
CHECKPOINT_EVERY = 60


class Recorder:
    """Appends ticks to a new recording, one committed transaction per tick."""

    def __init__(
        self, path: str | Path, *, sources: list[str], settings: dict[str, Any], interval_s: float
    ) -> None:
        if not str(path):  # Path("") is ".", which "already exists"
            raise RecordingError("the recording needs a file name (it was empty)")
        self.path = Path(path)
        check_new_path(self.path)
        self.ticks = 0
        self._live = False  # a live tick (stored or only noted by `mark`) was seen
        self.strings: dict[str, int] = {}
        self._new_strings: list[tuple[int, str]] = []
        try:
            # One writer at a time, but not always the same thread: each dashboard tick runs
            # in a fresh worker thread.
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # WAL with synchronous=NORMAL: a commit costs ≈ 0.05 ms instead of ≈ 2 ms (an
            # fsync per tick), committed ticks survive a killed process, and a power cut can
            # lose the last ticks but not the file. Closing folds the WAL back into one file.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            meta = {
                "format": FORMAT,
                "schema_version": str(SCHEMA_VERSION),
                "apm_tui_version": __version__,
                "sources": json.dumps(sources),
                "settings": json.dumps(jsonable(settings), sort_keys=True),
                "started_at": repr(time.time()),
                "interval_s": repr(float(interval_s)),
            }
            with self.db:
                self.db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, OSError) as exc:
            raise RecordingError(f"{self.path}: cannot write a recording: {exc}") from None

    def _intern(self, text: str) -> int:
        number = self.strings.get(text)
        if number is None:
            number = self.strings[text] = len(self.strings)
            self._new_strings.append((number, text))
        return number

    def append(self, t: float, batch: Batch, *, history: bool = False) -> None:
        payload = encode_batch(batch, self._intern)
        new, self._new_strings = self._new_strings, []
        try:
            # One transaction per tick, with the strings it is the first to use. The count in
            # `meta` lives on an early page, so a copy cut short still says how many ticks
            # there were (and so how many were lost).
            with self._transaction(first_live=None if history else t):
                self.db.executemany("INSERT INTO strings VALUES (?, ?)", new)
                self.db.execute(
                    "INSERT INTO ticks (t, history, payload) VALUES (?, ?, ?)",
                    (float(t), int(history), payload),
                )
                self.db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('ticks', ?)", (str(self.ticks + 1),)
                )
        except RecordingError:
            for _, text in new:  # not written: a later tick must write them again
                del self.strings[text]
            raise
        self.ticks += 1
        if history or self.ticks % CHECKPOINT_EVERY == 0:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """The committed ticks into the file itself. Until then they are in its `-wal` file
        only: a killed recording copied to a laptop without it lost them all (one killed in
        its first seconds did not even read as a recording). Best effort: they are committed."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def mark(self, t: float) -> None:
        """A live tick with nothing new to store (a quiet log): its time is noted in `meta`,
        so a replay lasts as long as the recording did, not from its first busy tick to its
        last (a quiet stretch at either end was lost: a minute recorded, 0:00 replayed)."""
        with self._transaction(first_live=t):
            self._note("last_tick_t", t)

    @contextlib.contextmanager
    def _transaction(self, *, first_live: float | None) -> Iterator[None]:
        """One committed transaction, or a RecordingError with nothing written. `first_live`:
        a live tick's time, noted as `first_tick_t` in the first one's transaction."""
        try:
            self.db.execute("BEGIN")
            yield
            if first_live is not None and not self._live:
                self._note("first_tick_t", first_live)
            self.db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise RecordingError(f"{self.path}: recording stopped: {exc}") from None
        self._live = self._live or first_live is not None

    def _note(self, key: str, t: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, repr(float(t))))

    def close(self) -> None:
        # Best effort: every tick is already committed.
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file again
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


# -- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tick:
    seq: int
    t: float
    history: bool
    batch: Batch


@dataclass(frozen=True)
class RawTick:
    """A tick as stored, not yet decoded (a replay decodes the ticks due together)."""

    seq: int
    t: float
    history: bool
    payload: bytes


class Recording:
    """A recording opened for reading; `open` checks it is one, and one this version reads."""

    def __init__(self, path: Path, db: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self.db = db
        self.meta = meta
        self.lost = 0  # ticks that could not be read (a damaged or truncated file)
        self.version = int(meta.get("schema_version", "1"))
        self.strings = Strings([])
        self._load_strings()

    def _load_strings(self) -> None:
        """The string table; a string lost with a damaged page leaves a hole, and the ticks
        that use it are counted as lost."""
        if self.version < 2:
            return
        try:
            rows = self.db.execute("SELECT id, value FROM strings ORDER BY id").fetchall()
        except sqlite3.Error:
            rows = []
        table: list[Any] = [None] * (int(rows[-1][0]) + 1 if rows else 0)
        for number, value in rows:
            if 0 <= number < len(table) and isinstance(value, str):
                table[number] = value
        self.strings = Strings(table)

    def decode(self, payload: bytes) -> Batch:
        if self.version < 2:
            return decode_v1(payload)
        try:
            return self._decode(payload)
        except ValueError:
            # A recording still being written may have added strings since it was opened.
            self._load_strings()
            return self._decode(payload)

    def _decode(self, payload: bytes) -> Batch:
        if self.version < 3:
            return decode_batch(payload, self.strings)
        try:
            return decode_joined([payload], self.strings, self.version)
        except Unsupported as exc:  # (never written: a block of one is always alike)
            raise ValueError(str(exc)) from None

    @classmethod
    def open(cls, path: str | Path) -> Recording:
        p = Path(path)
        if not p.exists():
            raise RecordingError(f"{p}: no such file")
        if p.is_dir():
            raise RecordingError(f"{p}: is a folder, not a recording")
        if why := not_regular(p):  # (a pipe or /dev/zero has no size: it was "empty")
            raise RecordingError(f"{p}: {why}")
        if p.stat().st_size == 0:
            raise RecordingError(f"{p}: the file is empty")
        with p.open("rb") as f:
            header = f.read(100)
        if header[:16] != b"SQLite format 3\x00" or len(header) < 100:
            raise RecordingError(f"{p}: not an apm-tui recording (not a SQLite database)")
        readable, lost = _recovered_copy(p), 0
        try:
            # (a copy whose log did not hold what the file lost is cut short too)
            salvaged = _salvaged_copy(readable or p, shown=p)
        except RecordingError:
            _remove(readable)
            raise
        if salvaged:
            _remove(readable)
            readable, lost = salvaged
        try:
            # The file itself is only read, and never changed (`immutable`: no -shm to write
            # either, so a recording on a read-only disk opens too); a copy is ours to open
            # read-write. Any thread: a replay is read by each dashboard tick's worker thread.
            if readable is None:
                uri = f"{p.resolve().as_uri()}?mode=ro&immutable=1"
            else:
                uri = f"{readable.resolve().as_uri()}?mode=rw"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            if readable is not None:
                # The repaired copy is only read: unlinked once open, it goes with the
                # connection, however the process ends (a replay killed, a test that never
                # closes) instead of piling up in the temporary folder.
                _remove(readable)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if not {"meta", "ticks"} <= tables:
                raise RecordingError(f"{p}: a SQLite database, but not an apm-tui recording")
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            _remove(readable)
            raise RecordingError(f"{p}: damaged beyond reading ({exc})") from None
        except RecordingError:
            _remove(readable)
            raise
        try:
            _check_meta(p, meta)
        except RecordingError:
            db.close()
            raise
        recording = cls(p, db, meta)
        recording.lost = lost
        return recording

    @property
    def interval_s(self) -> float:
        return float(self.meta.get("interval_s", "1"))

    def settings(self) -> dict[str, Any]:
        """The settings it was recorded with ({} when it has none, or none readable)."""
        try:
            found = json.loads(self.meta.get("settings", "{}") or "{}")
        except (ValueError, TypeError, RecursionError):  # damaged, or another program's
            return {}
        return found if isinstance(found, dict) else {}

    def thresholds(self) -> Thresholds | None:
        """The thresholds it was recorded with, so a replay or report judges the data as the
        live view did; None when it holds none. Keys this version does not know (a newer
        one's) are left out; a value that is not a valid threshold is a RecordingError."""
        table = self.settings().get("thresholds")
        if not isinstance(table, dict):
            return None
        try:
            return Thresholds(**{k: v for k, v in table.items() if k in THRESHOLD_KEYS})
        except ConfigError as exc:
            raise RecordingError(
                f"{self.path}: its recorded thresholds are unusable ({exc}); give --config"
            ) from None

    @property
    def sources(self) -> list[str]:
        value = json.loads(self.meta.get("sources", "[]"))
        return [str(v) for v in value] if isinstance(value, list) else []

    def ticks(self, since: float = -math.inf) -> Iterator[Tick]:
        """Every readable tick from the first at or after time `since`, in recorded order. A
        damaged row or page ends the iteration and counts in `lost` (with the rows after it,
        when they can be counted); a tick that does not decode counts in `lost` too."""
        for raw in self.raw_ticks(since):
            try:
                batch = self.decode(raw.payload)
            except DECODE_ERRORS:
                self.lost += 1
                continue
            yield Tick(raw.seq, raw.t, raw.history, batch)

    def raw_ticks(self, since: float = -math.inf, chunk: int = 64) -> Iterator[RawTick]:
        """`ticks` undecoded: rows read `chunk` at a time; a damaged row or page ends the
        iteration and counts in `lost`, as in `ticks`."""
        seq = -1
        if since > -math.inf:
            try:
                first = self.db.execute(
                    "SELECT seq FROM ticks WHERE t >= ? ORDER BY t, seq LIMIT 1", (since,)
                ).fetchone()
            except sqlite3.Error:
                first = None
            if first is None:
                return
            seq = int(first[0]) - 1
        step = chunk
        while True:
            try:
                rows = self.db.execute(
                    "SELECT seq, t, history, payload FROM ticks WHERE seq > ? ORDER BY seq LIMIT ?",
                    (seq, step),
                ).fetchall()
            except sqlite3.Error:
                if step > 1:
                    step = 1  # a damaged page: read up to it a row at a time
                    continue
                self.lost += max(1, self._count_after(seq))
                return
            if not rows:
                self.lost += self._missing_after(seq)
                return
            for row in rows:
                seq = int(row[0])
                # SQLite keeps any type in any column: a row whose time is not a number or
                # whose payload is text is damaged, and lost like a payload that does not decode.
                t, payload = row[1], row[3]
                if (
                    not isinstance(t, int | float)
                    or not math.isfinite(t)
                    or not isinstance(payload, bytes)
                ):
                    self.lost += 1
                    continue
                yield RawTick(seq, float(t), bool(row[2]), payload)

    def _count_after(self, seq: int) -> int:
        """How many ticks after `seq` the file should hold: from the index when it can be
        read, else from the tick count the recorder keeps in `meta`."""
        try:
            row = self.db.execute("SELECT count(*) FROM ticks WHERE seq > ?", (seq,)).fetchone()
            return int(row[0])
        except sqlite3.Error:
            return self._missing_after(seq)

    def _missing_after(self, seq: int) -> int:
        try:
            recorded = int(self.meta.get("ticks", "0"))
        except ValueError:
            return 0
        return max(0, recorded - max(seq, 0))

    def span(self) -> tuple[float, float]:
        """(first, last) tick time of the live part (history excluded), quiet ticks (noted
        in `meta`, not stored) included; NaN when empty."""
        # By seq (the primary key), not a scan: history rows come first, live ticks in order.
        first = self.db.execute(
            "SELECT t FROM ticks WHERE history = 0 ORDER BY seq LIMIT 1"
        ).fetchone()
        last = self.db.execute(
            "SELECT t FROM ticks WHERE history = 0 ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        firsts = [float(first[0])] if first else []
        lasts = [float(last[0])] if last else []
        firsts += self._meta_time("first_tick_t")
        lasts += self._meta_time("last_tick_t")
        if not firsts or not lasts:
            return math.nan, math.nan
        return min(firsts), max(lasts)

    def _meta_time(self, key: str) -> list[float]:
        """A time noted in `meta`, as a list of it (empty when absent or unusable)."""
        try:
            t = float(self.meta.get(key, "nan"))
        except ValueError:
            return []
        return [t] if math.isfinite(t) else []

    def seek(self, t: float) -> int | None:
        """The seq of the last live tick at or before time `t` (None before the first)."""
        row = self.db.execute(
            "SELECT seq FROM ticks WHERE history = 0 AND t <= ? ORDER BY t DESC, seq DESC LIMIT 1",
            (t,),
        ).fetchone()
        return None if row is None else int(row[0])

    def data_span(self) -> tuple[float, float] | None:
        """The newest data time of the first and of the last live tick that has data: the
        times the header shows, which are the ticks' own only for a live source (a synthetic
        world, an old log or a replay of one runs on its own clock)."""
        first, last = self._with_data(), self._with_data(newest_first=True)
        return None if first is None or last is None else (first[2], last[2])

    def reaching(self, when: float) -> float | None:
        """The time of the first live tick whose data reaches `when` (data times grow tick
        by tick): a bisection over the ticks, each probe decoding a tick or a few."""
        try:
            low, high = self.db.execute(
                "SELECT min(seq), max(seq) FROM ticks WHERE history = 0"
            ).fetchone()
        except sqlite3.Error:
            return None
        found: float | None = None
        while low is not None and low <= high:
            middle = (low + high) // 2
            probe = self._with_data("seq >= ? AND seq <= ?", (middle, high))
            if probe is None:
                high = middle - 1
            elif probe[2] >= when:
                found, high = probe[1], middle - 1
            else:
                low = probe[0] + 1
        return found

    def _with_data(
        self, where: str = "1", params: tuple[int, ...] = (), *, newest_first: bool = False
    ) -> tuple[int, float, float] | None:
        """(seq, time, newest data time) of the first live tick (the last, `newest_first`)
        matching `where` whose batch has data, looking at `DATA_PROBE` ticks at most (a
        damaged one is skipped)."""
        order = "DESC" if newest_first else ""
        try:
            rows = self.db.execute(
                f"SELECT seq, t, payload FROM ticks WHERE history = 0 AND {where} "
                f"ORDER BY seq {order} LIMIT {DATA_PROBE}",
                params,
            ).fetchall()
        except sqlite3.Error:
            return None
        for seq, t, payload in rows:
            if not isinstance(payload, bytes) or not isinstance(t, int | float):
                continue
            try:
                newest = newest_time(self.decode(payload))
            except DECODE_ERRORS:
                continue
            if newest > 0:
                return int(seq), float(t), newest
        return None

    def close(self) -> None:
        self.db.close()


@dataclass
class _Salvage:
    """The rows of a recording read off its pages: by row number, as in its tables."""

    ticks: dict[int, tuple[float, int, bytes]] = field(default_factory=dict)
    strings: dict[int, str] = field(default_factory=dict)
    meta: dict[str, tuple[int, str]] = field(default_factory=dict)  # key → (row, value)

    def take(self, rowid: int, values: list[Any]) -> None:
        """One row, placed by its shape (the three tables' rows differ in it)."""
        match values:
            case [None, float() | int() as t, 0 | 1 as history, bytes() as payload]:
                self.ticks.setdefault(rowid, (float(t), history, payload))
            case [None, str() as text]:
                self.strings.setdefault(rowid, text)
            case [str() as key, str() as value] if rowid > self.meta.get(key, (-1, ""))[0]:
                self.meta[key] = (rowid, value)  # a key rewritten moves to a new row

    def meta_value(self, key: str) -> str:
        return self.meta.get(key, (0, ""))[1]


#: Files SQLite keeps beside a database it has not finished with: the write-ahead log of a
#: recording still being written, or whose writer was killed or stopped by a full disk (its
#: last ticks, or all of them, are there), and a rollback journal (a close cut short).
SIDE_FILES = ("-wal", "-journal")


#: Copies of the file and its log, as they lie, before a writer's busy log sends the copy
#: through SQLite's backup instead.
COPY_TRIES = 3


def _recovered_copy(path: Path) -> Path | None:
    """A private copy of `path` with its side files folded in, or None without side files.

    Opening the file itself would have SQLite fold them into it — a recording changed by
    reading it, and impossible on a read-only disk — and read without them, the ticks in the
    log were missing (a recording stopped by a full disk read as not one at all)."""
    path = path.resolve()  # SQLite keeps the side files beside the file a link points to
    sides = [s for s in SIDE_FILES if path.with_name(path.name + s).is_file()]
    if not sides:
        return None
    folder = Path(tempfile.mkdtemp(prefix="apm-tui-"))  # (0700: the copy is no one else's)
    copy = folder / "recording.apmrec"
    try:
        if not _copied_as_they_lie(path, copy, sides):
            _backed_up(path, copy)
        with contextlib.closing(sqlite3.connect(copy)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
        os.chmod(copy, 0o600)
        # One self-contained file now: it goes to the temporary folder, the rest is removed.
        fd, name = tempfile.mkstemp(prefix="apm-tui-", suffix=".apmrec")
        os.close(fd)
        os.replace(copy, name)
    except (sqlite3.Error, OSError) as exc:
        raise RecordingError(f"{path}: cannot be read with its {sides[0]} file: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Path(name)


def _copied_as_they_lie(path: Path, copy: Path, sides: list[str]) -> bool:
    """The file then its side files copied byte for byte, when no writer restarted its log
    meanwhile (checked by the log's header); False if one kept doing so.

    Four times faster than SQLite's backup (a 24-hour recording still being written: 30 ms
    against 127, measured 2026-12-07), which opening such a file would spend every time. A
    writer that checkpoints meanwhile writes into the file only pages its log still holds,
    and the log, copied after the file, has them all, until the writer restarts the log:
    then its header's salts change."""
    log = path.with_name(path.name + "-wal")
    for _ in range(COPY_TRIES):
        before = _log_header(log)
        shutil.copyfile(path, copy)
        for side in sides:
            with contextlib.suppress(FileNotFoundError):  # (the writer closed and removed it)
                shutil.copyfile(path.with_name(path.name + side), copy.with_name(copy.name + side))
        if _log_header(log) == before:
            return True
        for side in SIDE_FILES:
            copy.with_name(copy.name + side).unlink(missing_ok=True)
    return False


def _log_header(log: Path) -> bytes | None:
    """The write-ahead log's header: its checkpoint number and salts change when a writer
    starts the log over."""
    try:
        with log.open("rb") as f:
            return f.read(32)
    except FileNotFoundError:
        return None


def _backed_up(path: Path, copy: Path) -> None:
    """`path` copied through SQLite: a read snapshot, however busy the writer."""
    copy.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(copy)) as dst,
    ):
        src.backup(dst)


def _salvaged_copy(path: Path, *, shown: Path) -> tuple[Path, int] | None:
    """For a file cut short (a copy interrupted, a disk that filled): a new database of the
    rows still whole on it, read off its pages (`salvage`), and how many ticks are lost (from
    the tick count in `meta`, which lives on an early page); None when the file is whole.
    Messages name `shown` (`path` may be a copy of it)."""
    with path.open("rb") as f:
        header = f.read(100)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    if page_size < 512 or size >= pages * page_size:
        return None
    whole = size // page_size
    if whole < 1:
        raise RecordingError(f"{shown}: cut short before its first page; nothing to read")
    found = _Salvage()
    with (
        path.open("rb") as f,
        mmap.mmap(f.fileno(), whole * page_size, access=mmap.ACCESS_READ) as data,
    ):
        try:
            for rowid, values in Pages(data).rows():
                found.take(rowid, values)
        except Damaged as exc:
            raise RecordingError(f"{shown}: damaged beyond reading ({exc})") from None
    if found.meta_value("format") != FORMAT:
        raise RecordingError(f"{shown}: cut short, and no apm-tui recording can be read from it")
    if not found.ticks:
        raise RecordingError(f"{shown}: cut short before its first complete tick; nothing to read")
    last = max(found.ticks)
    recorded = found.meta_value("ticks")
    # A count no file of this size could hold is damage, not ticks (it said 10^20 were lost).
    count = int(recorded) if recorded.isdigit() and len(recorded) < 12 else 0
    lost = max(count if count <= pages * page_size // 8 else 0, last) - len(found.ticks)
    # The copy's count is its own: the lost ticks are counted once, here, so a replay can
    # say so before it starts.
    found.meta["ticks"] = (0, str(last))
    fd, name = tempfile.mkstemp(prefix="apm-tui-", suffix=".apmrec")
    os.close(fd)
    copy = Path(name)
    try:
        with contextlib.closing(sqlite3.connect(copy)) as db, db:
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [(k, v) for k, (_, v) in found.meta.items()]
            )
            db.executemany("INSERT INTO strings VALUES (?, ?)", found.strings.items())
            rows = sorted(found.ticks.items())
            db.executemany("INSERT INTO ticks VALUES (?, ?, ?, ?)", ((k, *v) for k, v in rows))
    except (sqlite3.Error, OSError) as exc:
        _remove(copy)
        raise RecordingError(f"{shown}: cut short, and cannot be read: {exc}") from None
    return copy, lost


def _check_meta(path: Path, meta: dict[str, str]) -> None:
    if meta.get("format") != FORMAT:
        raise RecordingError(f"{path}: a SQLite database, but not an apm-tui recording")
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise RecordingError(f"{path}: the recording's schema version is unreadable") from None
    if version > SCHEMA_VERSION:
        raise RecordingError(
            f"{path}: recorded by a newer apm-tui (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}): upgrade apm-tui to read it"
        )


def _remove(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
