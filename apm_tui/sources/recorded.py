"""A recording as a source: `apm-tui report --from FILE` reads it whole through this."""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

from apm_tui.inputs import DURATION_UNITS
from apm_tui.model import Batch, Table
from apm_tui.payload_block import Unsupported, decode_joined
from apm_tui.recording import DECODE_ERRORS, RawTick, Recording, RecordingError, Tick
from apm_tui.sources.base import SourceError


class RecordedSource:
    """Every tick of a recording (history first) as one backfill; nothing new when polled."""

    def __init__(self, path: str | Path) -> None:
        try:
            self.recording = Recording.open(path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
        self.name = f"recording {Path(path).name}"

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        ticks = list(self.recording.ticks())
        lost = self.recording.lost
        if lost and not ticks:
            raise SourceError(
                f"{self.recording.path}: none of its {lost} tick(s) could be read (a damaged "
                "file); nothing to analyse"
            )
        live = sum(not tick.history for tick in ticks)  # the history row is not a tick
        before = " with the history before them" if live < len(ticks) else ""
        notices = [
            f"{self.recording.path}: {lost} tick(s) could not be read (damaged or "
            f"truncated file); the {live} complete ones are used{before}"
        ]
        return _joined(ticks, notices if lost else [])

    def poll(self, now: float) -> Batch:
        return Batch()

    def close(self) -> None:
        self.recording.close()


class ReplaySource:
    """A recording played back through the live pipeline: its history as the backfill, then
    each recorded tick once the replay clock reaches it. `speed` is recorded seconds per wall
    second (1 = as recorded); `position` and `total` say where the replay is."""

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        try:
            self.recording = Recording.open(path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
        self.name = f"replay {Path(path).name}"
        self.speed = speed
        first, last = self.recording.span()
        self.first, self.last = first, last
        try:
            self.started = float(self.recording.meta.get("started_at", "nan"))
        except ValueError:
            self.started = math.nan
        # Undecoded: the ticks due at a poll are decoded together (`_decoded`).
        self._ticks = self.recording.raw_ticks()
        self._pending: list[RawTick] = []
        self._started: float | None = None  # wall time of the first poll
        self._played = 0.0  # recorded seconds played before the last speed change
        self._changed_at: float | None = None
        self.held = False  # paused: the replay clock stands still
        self.done = False
        self._data_span: tuple[float, float] | None = None
        self._polled: float | None = None  # the position the last poll played to

    @property
    def total(self) -> float:
        return max(0.0, self.last - self.first) if self.last == self.last else 0.0

    def position(self, now: float) -> float:
        """Recorded seconds played so far."""
        if self._changed_at is None:
            return 0.0
        if self.held:
            return min(self.total, self._played)
        return min(self.total, self._played + (now - self._changed_at) * self.speed)

    def data_span(self) -> tuple[float, float] | None:
        """The recording's first and last data time (read once: two ticks decoded)."""
        if self._data_span is None:
            self._data_span = self.recording.data_span() or (math.nan, math.nan)
        return None if math.isnan(self._data_span[0]) else self._data_span

    def locate(self, when: float) -> float | None:
        """The position at which the replayed data reaches time `when`."""
        t = self.recording.reaching(when)
        return None if t is None else max(0.0, t - self.first)

    def hold(self, held: bool, now: float) -> None:
        """Stop (True) or restart (False) the replay clock. Unlike a live source a file can
        wait, so a paused replay resumes where it was paused, not minutes later. It stops
        where the last poll played to — what the paused view shows — not where the clock has
        run to since (up to a tick more, which `end` then showed)."""
        if held != self.held:
            self._played = self.position(now)
            if held and self._polled is not None:
                self._played = min(self._played, self._polled)
            self._changed_at = now
            self.held = held

    def seek_forward(self, position: float, now: float) -> None:
        """Play on to `position` recorded seconds: the next poll releases every tick up to it.
        (Going back needs a fresh engine: the window already holds what was played.)"""
        self._played = min(self.total, max(self.position(now), position))
        self._changed_at = now
        if self._polled is not None:  # paused before the next poll, it pauses there, not back
            self._polled = max(self._polled, self._played)

    def set_speed(self, speed: float, now: float) -> None:
        self._played = self.position(now)
        self._changed_at = now
        self.speed = speed

    def open(self) -> None:
        pass

    def backfill(self) -> Batch:
        history: list[RawTick] = []
        for raw in self._ticks:
            if not raw.history:
                # The first live tick that decodes: damaged ones before it count as lost now.
                if self._readable(raw):
                    self._pending.append(raw)
                    break
                continue
            history.append(raw)
        batch = _decoded(self.recording, history)
        lost = self.recording.lost
        notices = [f"{lost} tick(s) of the recording could not be read"] if lost else []
        return _joined([Tick(0, 0.0, True, batch)], notices)

    def _readable(self, raw: RawTick) -> bool:
        try:
            self.recording.decode(raw.payload)
        except DECODE_ERRORS:
            self.recording.lost += 1
            return False
        return True

    def poll(self, now: float) -> Batch:
        if self._changed_at is None:
            self._changed_at = now
        self._polled = self.position(now)
        until = self.first + self._polled
        due: list[RawTick] = []
        while True:
            if not self._pending:
                nxt = next(self._ticks, None)
                if nxt is None:
                    self.done = True
                    break
                self._pending.append(nxt)
            if self._pending[0].t > until:
                break
            due.append(self._pending.pop(0))
        batch = _decoded(self.recording, due)
        status = dict(batch.status)
        status["replay"] = {
            "position": self.position(now),
            "total": self.total,
            "speed": self.speed,
            # (A quiet stretch at the end was not stored: the clock plays through it too.)
            "done": self.done and not self._pending and self._polled >= self.total,
            # The replay's clock in recorded time: the header's while the window is empty
            # (it showed this machine's clock, ticking, for a recording without data).
            "clock": self.first + self._polled if self.first == self.first else self.started,
            "sources": self.recording.sources,
        }
        return Batch(metrics=batch.metrics, spans=batch.spans, status=status)

    def close(self) -> None:
        self.recording.close()


def _decoded(recording: Recording, raws: list[RawTick]) -> Batch:
    """The ticks' batches as one, as `_joined` of each decoded: in one pass where the block
    decoder covers them (`payload_block`), else one by one, a tick that does not decode
    counting as lost."""
    if raws and recording.version >= 2:
        try:
            return decode_joined([r.payload for r in raws], recording.strings, recording.version)
        except (Unsupported, *DECODE_ERRORS):
            pass  # one by one finds the damaged tick, or reloads the strings
    ticks = []
    for raw in raws:
        try:
            ticks.append(Tick(raw.seq, raw.t, raw.history, recording.decode(raw.payload)))
        except DECODE_ERRORS:
            recording.lost += 1
    return _joined(ticks, [])


def _joined(ticks: list[Tick], notices: list[str]) -> Batch:
    """Recorded ticks as one batch: their rows in order, their status merged (later wins)."""
    status: dict[str, object] = {}
    for tick in ticks:
        status.update(tick.batch.status)
    if notices:
        status["notices"] = notices
    return Batch(
        metrics=Table.concat([t.batch.metrics for t in ticks]),
        spans=Table.concat([t.batch.spans for t in ticks]),
        status=status,
    )


_OFFSET = re.compile(r"([+-])\s*(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_CLOCK = re.compile(r"(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def replay_target(
    text: str,
    *,
    total: float,
    position: float,
    shown: float,
    data: tuple[float, float] | None,
    locate: Callable[[float], float | None],
) -> float:
    """Where `g` goes in a replay, as recorded seconds from its start (clamped to the
    recording). `text` is a UTC clock time as the header shows it (`14:05`, `14:05:30`,
    `2026-01-01 14:05`), an offset from the current position (`+10m`, `-90s`, `-1h`, `+1d`) or a
    share of the recording (`50%`). A clock time is on the data's clock, the header's: `shown`
    is the data time shown now, `data` the first and last data time of the recording, and
    `locate` the position where the data reaches a time. Without a date it is on the day shown,
    or the day before or after when only that is in the recording. `ValueError` says what is
    wrong with anything else."""
    text = text.strip()
    if m := _OFFSET.fullmatch(text):
        offset = float(m[2]) * DURATION_UNITS[m[3].lower()]
        target = position + (offset if m[1] == "+" else -offset)
    elif m := _PERCENT.fullmatch(text):
        if float(m[1]) > 100:  # (as -10% is refused: a share of the recording is 0–100 %)
            raise ValueError(f"{text}: a share of the recording is 0% to 100%")
        target = total * float(m[1]) / 100
    elif m := _CLOCK.fullmatch(text):
        hour, minute, second = int(m[2]), int(m[3]), int(m[4] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r} is not a time of day")
        day = m[1] or time.strftime("%Y-%m-%d", time.gmtime(shown))
        try:
            midnight = calendar.timegm(time.strptime(day, "%Y-%m-%d"))
        except ValueError:
            raise ValueError(f"{m[1]!r} is not a date (YYYY-MM-DD)") from None
        at = midnight + hour * 3600 + minute * 60 + second
        days = (at,) if m[1] else (at, at - 86_400, at + 86_400)
        inside = [t for t in days if data is not None and data[0] - 1 <= t <= data[1] + 1]
        found = locate(inside[0]) if inside else None
        if found is None:
            held = f"{_utc(data[0])} to {_utc(data[1])} UTC" if data else "no data"
            raise ValueError(f"{text} UTC is outside the recording ({held})")
        target = found
    else:
        raise ValueError(f"{text!r}: use a UTC time (14:05), an offset (+10m, -90s, -1d) or 50%")
    return min(max(target, 0.0), total)


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
