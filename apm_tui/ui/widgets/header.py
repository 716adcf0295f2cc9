"""The one-line header: product, sources, the data clock, health and the mode badge."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.containers import Lines
from rich.text import Text

from apm_tui.ui.widgets.panel import Line
from apm_tui.words import counted

if TYPE_CHECKING:
    from apm_tui.engine import Snapshot

STATUS_STYLE = {
    "EXCELLENT": "bold green",
    "GOOD": "bold yellow",
    "FAIR": "bold dark_orange",
    "POOR": "bold red",
    "UNKNOWN": "dim",
}
MODE_STYLE = {
    "LIVE": "bold black on green",
    "PAUSED": "bold black on yellow",
    "REPLAY": "bold black on cyan",
    "REPORT": "bold black on magenta",
}


#: Which parts of the header go first when it is wider than the terminal (highest first):
#: the product name, the sources, the date; then the health and the anomaly count are said
#: shortly (`94 EXCELLENT`, `anom 3`), then the anomaly count goes, then the health. The
#: mode, the recording badge, the clock, a replay's position and input warnings always stay.
DROP_PRODUCT, DROP_SOURCES, DROP_DATE, DROP_ANOMALIES, DROP_HEALTH, KEEP = 5, 4, 3, 2, 1, 0

#: A part of the header: its drop rank, its text and, for some, a shorter text said first.
Part = tuple[int, Text, Text | None]


class StatusHeader(Line):
    """One line, repainted every tick without a layout pass and from cached Strips (`Line`).

    `text` is the whole line; what is drawn is fitted to the width (`fit`), so at 80 columns
    a replay still shows its position and the health rather than the product's name."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; dock: top; background: $panel; }
    """

    def __init__(self) -> None:
        super().__init__(id="status-header")
        self.mode = "LIVE"
        self._parts: list[Part] = []

    def wrapped(self, console: Console, width: int) -> Lines:
        line = fit(self._parts, width)
        line.truncate(width, overflow="ellipsis")  # (a Strip is cut at the width, without …)
        return Lines([line])

    def show(
        self, snap: Snapshot | None, mode: str = "LIVE", behind: float = 0.0, now: float = math.nan
    ) -> None:
        """The header for `snap`; `behind` (paused): how far the newest data is past it;
        `now` (live): this machine's time, to say how long an input has been quiet."""
        replay = snap.status.get("replay") if snap is not None else None
        if replay and mode == "LIVE":
            mode = "REPLAY"
        if snap is not None and snap.status.get("report") and mode == "LIVE":
            mode = "REPORT"  # `report --png`: a finished analysis, not a live view
        self.mode = mode
        # NO_COLOR draws every named colour alike (apm_tui.ui.colours): black on green became
        # one grey on the same grey, and the badge a blank block. Reverse video needs no colour.
        plain = self.app.no_color
        badge = "bold reverse" if plain else MODE_STYLE.get(mode, "reverse")
        parts: list[Part] = [(KEEP, Text(f" {mode} ", badge), None)]
        if snap is not None and snap.recording:
            parts.append(
                (KEEP, Text(" ● REC ", "bold reverse" if plain else "bold white on red"), None)
            )
        parts.append((DROP_PRODUCT, Text(" apm-tui ", "bold"), None))
        if snap is None:
            parts.append((KEEP, Text("starting…", "dim"), None))
        else:
            parts += snapshot_parts(snap, replay, mode, behind, now)
        self._parts = parts
        self.text = Text("").join(part for _, part, _ in parts)


def snapshot_parts(
    snap: Snapshot, replay: dict[str, Any] | None, mode: str, behind: float, now: float
) -> list[Part]:
    sources = Text(" │ " + " + ".join(snap.sources or ("no source",)))
    date, clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(snap.live.newest)).split()
    parts: list[Part] = [(DROP_SOURCES, sources, None), (KEEP, Text(" │ "), None)]
    parts += [date_part(snap.live.newest, date, behind), (KEEP, Text(f"{clock} UTC"), None)]
    if replay:
        where = f"{duration(replay['position'])} / {duration(replay['total'])}"
        state = "end" if replay.get("done") else f"×{replay['speed']:g}"
        # Played to its end, the replay has stopped: "▶ … end" read as still playing.
        mark = "‖" if mode == "PAUSED" else "■" if replay.get("done") else "▶"
        parts.append((KEEP, Text(f" │ {mark} {where} {state}", "bold"), None))
    elif mode == "PAUSED" and behind > 0:
        parts.append((KEEP, Text(f" │ ‖ {duration(behind)} behind live", "bold"), None))
    if snap.analysis is not None and math.isfinite(snap.analysis.health.score):
        h = snap.analysis.health
        score = Text(f"{h.score:.0f} {h.status}", STATUS_STYLE[h.status])
        parts.append((DROP_HEALTH, Text(" │ health ") + score, Text(" │ ") + score))
    # How long the inputs have been quiet is news only while the view is live.
    live = now if mode == "LIVE" and not replay and math.isfinite(now) else None
    parts.append(
        (KEEP, input_counts(snap.status, now=live), input_counts(snap.status, now=live, short=True))
    )
    count, status = len(snap.live.anomalies), snap.live.detector_status
    anomalies, short = Text(f" │ anomalies {count}"), Text(f" │ anom {count}")
    if status != "ok":
        anomalies.append(f" ({status})", "dim")
        short.append(f" ({gist(status)})", "dim")
    parts.append((DROP_ANOMALIES, anomalies, short))
    return parts


def date_part(shown: float, date: str, behind: float) -> Part:
    """The date goes early, unless a pause looks at an earlier day than the newest data's:
    then it stays, said shortly (`12-05`), or `home` at 80 columns reads as a moment later
    than `end` (00:06 against 00:05)."""
    if behind > 0 and time.gmtime(shown)[:3] != time.gmtime(shown + behind)[:3]:
        return (KEEP, Text(f"{date} "), Text(f"{date[5:]} "))
    return (DROP_DATE, Text(f"{date} "), None)


def gist(status: str) -> str:
    """A detector status without its figures or advice: `warming up`, `fitting`, …"""
    return status.split(" (")[0].split(":")[0].split(" on ")[0]


def fit(parts: list[Part], width: int) -> Text:
    """The parts in order, less the most droppable ones (and said shortly, where they can be,
    before the anomaly count goes) until the rest fit in `width`; then the date and the sources
    come back where they still fit (a short header had lost its date on the way to saying the
    health shortly); what still does not fit ends in an ellipsis."""
    # (position, rank, text): the position keeps a part that comes back in its place.
    kept = [(i, rank, text) for i, (rank, text, _) in enumerate(parts)]
    dropped: list[tuple[int, int, Text]] = []
    for rank in range(DROP_PRODUCT, KEEP, -1):
        if width <= 0 or cells(kept) <= width:
            break
        if rank == DROP_ANOMALIES:
            kept = [(i, r, p) for i, (r, p, _) in enumerate(shorter(parts)) if r <= rank]
            if cells(kept) <= width:
                break
        dropped += [k for k in kept if k[1] == rank]
        kept = [k for k in kept if k[1] != rank]
    # Not once the health or the anomaly count is gone (they matter more than the date), nor
    # the product's name (it says nothing new).
    again = () if any(d[1] <= DROP_ANOMALIES for d in dropped) else (DROP_DATE, DROP_SOURCES)
    for rank in again if dropped else ():
        back = sorted(kept + [d for d in dropped if d[1] == rank], key=lambda k: k[0])
        if len(back) > len(kept) and cells(back) <= width:
            kept = back
    return Text("", no_wrap=True, overflow="ellipsis").join(p for _, _, p in kept)


def cells(parts: list[tuple[int, int, Text]]) -> int:
    return sum(p.cell_len for _, _, p in parts)


def shorter(parts: list[Part]) -> list[Part]:
    return [(rank, short or text, None) for rank, text, short in parts]


def input_counts(status: dict[str, Any], *, now: float | None = None, short: bool = False) -> Text:
    """What a log or OTLP source could not use, so it is never silently dropped: lines that
    did not parse, spans rejected or dropped; the address OTLP listens on (`short`: not
    the address, and "3 refused" for "3 requests refused", for 80 columns); and, given `now`
    (live), how long the input has been quiet once it is a minute or more."""
    out = Text()
    log = status.get("log")
    if isinstance(log, dict):
        news = []
        if log.get("rejected"):
            news.append(f"{log['rejected']:,} of {log.get('lines', 0):,} lines rejected")
        if quiet := quiet_for(log.get("last_line_at"), now):
            news.append(f"no new lines for {quiet}")
        if news:
            out.append(f" │ log: {', '.join(news)}", "yellow")
    otlp = status.get("otlp")
    if isinstance(otlp, dict):
        where = "" if short else f" {otlp.get('listen', '')}"
        out.append(f" │ otlp{where}: {counted(otlp.get('received', 0), 'span')}")
        if quiet := quiet_for(otlp.get("last_span_at"), now):
            out.append(f" (none for {quiet})", "yellow")
        lost = [(otlp.get(k) or 0, k) for k in ("rejected", "dropped")]
        said = ", ".join(f"{n:,} {k}" for n, k in lost if n)
        refused = otlp.get("refused_requests") or 0
        if refused:
            what = "refused" if short else "requests refused"
            said += (", " if said else "") + f"{refused:,} {what}"
        if said:
            out.append(f" ({said})", "yellow")
    return out


#: An input quiet this long is said in the header: traffic is counted a minute at a time, and
#: when it stops the charts only flatten as each quiet minute closes, and the clock (the newest
#: data's) stands still.
QUIET_S = 60.0


def quiet_for(last: object, now: float | None) -> str:
    """`M:SS` since `last` (Unix s) when it is `QUIET_S` or more before `now`, else ""."""
    if now is None or not isinstance(last, int | float) or now - last < QUIET_S:
        return ""
    return duration(now - last)


def duration(seconds: float) -> str:
    """H:MM:SS (or M:SS under an hour) of recorded time."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
