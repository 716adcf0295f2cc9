"""Access-log timestamps as Unix seconds, one parser per timestamp layout.

Each parser takes the raw bytes a format's regex captured and returns seconds, or NaN when the
text is not a real time (a month called "Foo", the 31st of February); the caller then rejects the
line. Timestamps repeat (every line of a second shares one), so callers cache by the raw bytes
and these functions only run once per distinct value: plain arithmetic, no strptime.

Times without a zone (HAProxy's accept date, W3C's date and time) are taken as UTC: W3C says
its times are GMT, and HAProxy logs the host's local time, which the log does not name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

NAN = float("nan")

_MONTH_NAMES = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
                b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")  # fmt: skip
MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _valid(y: int, mo: int, d: int, hh: int, mm: int, ss: float) -> bool:
    if not (1 <= mo <= 12 and 1 <= d <= _DAYS_IN_MONTH[mo - 1]):
        return False
    if mo == 2 and d == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        return False
    return 0 <= hh < 24 and 0 <= mm < 60 and 0 <= ss < 61  # 60: a leap second


def _seconds(y: int, mo: int, d: int, hh: int, mm: int, ss: float) -> float:
    if not _valid(y, mo, d, hh, mm, ss):
        return NAN
    return float(days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60) + ss


def _zone(z: bytes) -> int:
    """Seconds east of UTC of "+0100", "-05:30" or "Z"."""
    if z in (b"Z", b"z", b""):
        return 0
    sign = -1 if z[:1] == b"-" else 1
    digits = z[1:].replace(b":", b"")
    if len(digits) != 4 or not digits.isdigit():
        raise ValueError(z)
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:  # the world's zones run from -12:00 to +14:00
        raise ValueError(z)
    return sign * (hours * 3600 + minutes * 60)


def clf(s: bytes) -> float:
    """Common Log Format: `10/Oct/2000:13:55:36 -0700` (also HAProxy's `…:36.143`, no zone)."""
    try:
        day, mon, rest = s.split(b"/", 2)
        year, hh, mm, tail = rest.split(b":", 3)
        sec, _, zone = tail.partition(b" ")
        t = _seconds(int(year), MONTHS[mon], int(day), int(hh), int(mm), float(sec))
        return t - _zone(zone)
    except (ValueError, KeyError, IndexError):
        return NAN


def w3c(s: bytes) -> float:
    """W3C extended: `2002-05-02 17:42:15` (fraction allowed), in UTC."""
    try:
        date, _, clock = s.strip().partition(b" ")
        y, mo, d = date.split(b"-")
        hh, mm, ss = clock.split(b":")
        return _seconds(int(y), int(mo), int(d), int(hh), int(mm), float(ss))
    except ValueError:
        return NAN


def iso8601(s: bytes) -> float:
    """nginx's `$time_iso8601`: `2026-01-01T00:00:01+00:00` (a missing zone is UTC)."""
    try:
        when = datetime.fromisoformat(s.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return NAN
    if when.tzinfo is None:
        return _seconds(
            when.year, when.month, when.day, when.hour, when.minute,
            when.second + when.microsecond / 1e6,
        )  # fmt: skip
    return when.timestamp()


def epoch(s: bytes) -> float:
    """nginx's `$msec`: seconds since the epoch with a fraction."""
    try:
        value = float(s)
    except ValueError:
        return NAN
    return value if math.isfinite(value) and value >= 0 else NAN


PARSERS: dict[str, Callable[[bytes], float]] = {
    "clf": clf,
    "w3c": w3c,
    "iso8601": iso8601,
    "epoch": epoch,
}
