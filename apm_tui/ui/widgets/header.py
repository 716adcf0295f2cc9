"""The one-line header: product, sources, the data clock, health and the mode badge."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

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


class StatusHeader(Widget):
    """One line, repainted every tick without a layout pass (unlike `Static.update`)."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; dock: top; background: $panel; }
    """
    text: reactive[Text] = reactive(Text(""), layout=False)

    def __init__(self) -> None:
        super().__init__(id="status-header")
        self.mode = "LIVE"

    def render(self) -> Text:
        return self.text

    def update(self, text: Text) -> None:
        self.text = text

    def show(self, snap: Snapshot | None, mode: str = "LIVE") -> None:
        replay = snap.status.get("replay") if snap is not None else None
        if replay and mode == "LIVE":
            mode = "REPLAY"
        if snap is not None and snap.status.get("report") and mode == "LIVE":
            mode = "REPORT"  # `report --png`: a finished analysis, not a live view
        self.mode = mode
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {mode} ", MODE_STYLE.get(mode, "reverse"))
        if snap is not None and snap.recording:
            text.append(" ● REC ", "bold white on red")
        text.append(" apm-tui ", "bold")
        if snap is None:
            text.append("starting…", "dim")
            self.update(text)
            return
        text.append(" │ " + " + ".join(snap.sources or ("no source",)))
        clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(snap.live.newest))
        text.append(f" │ {clock} UTC")
        if replay:
            where = f"{duration(replay['position'])} / {duration(replay['total'])}"
            state = "end" if replay.get("done") else f"×{replay['speed']:g}"
            text.append(f" │ ▶ {where} {state}", "bold")
        if snap.analysis is not None and math.isfinite(snap.analysis.health.score):
            h = snap.analysis.health
            text.append(" │ health ")
            text.append(f"{h.score:.0f} {h.status}", STATUS_STYLE[h.status])
        text.append_text(input_counts(snap.status))
        anomalies = len(snap.live.anomalies)
        text.append(f" │ anomalies {anomalies}")
        if snap.live.detector_status != "ok":
            text.append(f" ({snap.live.detector_status})", "dim")
        self.update(text)


def input_counts(status: dict[str, Any]) -> Text:
    """What a log or OTLP source could not use, so it is never silently dropped: lines that
    did not parse, spans rejected or dropped; and the address OTLP listens on."""
    out = Text()
    log = status.get("log")
    if isinstance(log, dict) and log.get("rejected"):
        rejected = f"{log['rejected']:,} of {log.get('lines', 0):,} lines rejected"
        out.append(f" │ log: {rejected}", "yellow")
    otlp = status.get("otlp")
    if isinstance(otlp, dict):
        out.append(f" │ otlp {otlp.get('listen', '')}: {otlp.get('received', 0):,} spans")
        lost = [(otlp.get(k) or 0, k) for k in ("rejected", "dropped")]
        said = ", ".join(f"{n:,} {k}" for n, k in lost if n)
        if said:
            out.append(f" ({said})", "yellow")
    return out


def duration(seconds: float) -> str:
    """H:MM:SS (or M:SS under an hour) of recorded time."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
