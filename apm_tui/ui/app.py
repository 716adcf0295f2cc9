"""The dashboard app: bindings, layout, and THE tick.

One `set_interval` drives the tick; each tick runs `Engine.step` in one exclusive thread worker,
which posts one `Ticked` message; the panels only render the snapshot it carries. A tick that is
still running when the next is due makes that one skip, so the engine never runs twice at once.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import App, ComposeResult, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.filter import LineFilter, Monochrome, NoColor
from textual.notifications import Notify
from textual.screen import Screen
from textual.theme import BUILTIN_THEMES
from textual.widgets import Static

from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import ConfigError, Thresholds
from apm_tui.ui.colours import BASIC_THEME, one_colour_theme
from apm_tui.ui.messages import Ticked, TickFailed
from apm_tui.ui.screens.endpoint import EndpointScreen
from apm_tui.ui.screens.goto import GoToScreen
from apm_tui.ui.screens.help import HelpScreen
from apm_tui.ui.screens.traces import TracesScreen
from apm_tui.ui.skeleton import MIN_SIZE
from apm_tui.ui.widgets.chart import Chart
from apm_tui.ui.widgets.footer import FittedFooter
from apm_tui.ui.widgets.header import StatusHeader, duration
from apm_tui.ui.widgets.panels import PANELS, EndpointsPanel, Panel
from apm_tui.ui.widgets.text_panels import BottlenecksPanel

if TYPE_CHECKING:
    from apm_tui.engine import Engine, Snapshot
    from apm_tui.export.png import Screen as PngScreen
    from apm_tui.model import Table
    from apm_tui.sources.recorded import ReplaySource

#: How many charts may be rebuilt in one tick (a rebuild and its repaint cost ≈ 4 ms).
CHARTS_PER_TICK = 1
#: A chart whose data changed waits this many ticks: the tick a bucket completes and the next
#: one are the engine's busiest (the series, then the endpoint table and histogram).
CHART_DELAY_TICKS = 2
#: From this size up the panels draw charts; below it they show numbers and sparklines.
FULL_SIZE = (120, 36)


def layout_class(width: int, height: int) -> str:
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return "-tiny"
    if width < FULL_SIZE[0] or height < FULL_SIZE[1]:
        return "-compact"
    return "-full"


# Grouped in the footer ("[] ∓1 min", "+- Speed"): a replay's keys take less room.
MINUTE = Binding.Group("∓1 min", compact=True)
SPEED = Binding.Group("Speed", compact=True)
STEP = Binding.Group("Step", compact=True)  # shown while paused (`check_action`)


def homed(text: str) -> str:
    """`text` with the home folder said as `~`: a path in a toast at 80 columns fits on one
    line more often (a shell reads `~/…` as the same path)."""
    try:
        home = str(Path.home())
    except RuntimeError:  # no HOME and no passwd entry: the path as it is
        return text
    return text.replace(home + os.sep, "~" + os.sep) if len(home) > 1 else text


class ApmApp(App[None]):
    # Our `escape` binding restores a maximised panel and updates the footer; Textual's own
    # escape-to-minimise did neither of the latter (the footer kept offering "esc Restore").
    ESCAPE_TO_MINIMIZE: ClassVar[bool] = False
    CSS_PATH = Path(__file__).with_name("apm.tcss")
    # A maximised panel keeps the header (mode, clock, health) and the footer in view.
    ALLOW_IN_MAXIMIZED_VIEW = "StatusHeader, Footer"
    TITLE = "apm-tui"
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        Binding("r", "toggle_record", "Record"),
        Binding("s", "save_png", "Save PNG"),
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),  # the same key: one of the two shows (`check_action`)
        Binding("left", "step(-1)", "Back", key_display="←", group=STEP),
        Binding("right", "step(1)", "Forward", key_display="→", group=STEP),
        Binding("home", "jump(-1)", "Start", show=False),
        Binding("end", "jump(1)", "End", show=False),
        Binding("left_square_bracket", "replay_seek(-60)", "-1 min", key_display="[", group=MINUTE),
        Binding("right_square_bracket", "replay_seek(60)", "+1 min", key_display="]", group=MINUTE),
        Binding("g", "replay_goto", "Go to"),
        Binding("plus", "replay_speed(2)", "Faster", key_display="+", group=SPEED),
        Binding("minus", "replay_speed(0.5)", "Slower", key_display="-", group=SPEED),
        Binding("t", "traces", "Traces"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("enter", "maximize_panel", "Maximise"),
        Binding("escape", "restore", "Restore"),
        Binding("tab", "focus_next", "Next panel", show=False),
        Binding("shift+tab", "focus_previous", "Previous panel", show=False),
    ]

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        *,
        interval: float = 1.0,
        thresholds: Thresholds | None = None,
        theme: str | None = None,
        clock: Callable[[], float] = time.time,
        recordings_dir: Path | None = None,
        screenshots_dir: Path | None = None,
        replay: bool = False,
    ) -> None:
        super().__init__()
        self.replay = replay  # a recording replayed: the header says REPLAY from the first frame
        self.recordings_dir = recordings_dir or default_recordings_dir()
        self.screenshots_dir = screenshots_dir  # None: the current folder when `s` is pressed
        # An engine, or how to build one: `make_app` passes the latter, so the sources, their
        # history and numpy load in the first tick's worker, after the first frame is drawn.
        self._engine: Engine | None = None if callable(engine) else engine
        self._make_engine = engine if callable(engine) else None
        self._engine_lock = threading.Lock()
        self.interval = interval
        self.thresholds = thresholds or Thresholds()
        self.clock = clock
        self.snapshot: Snapshot | None = None
        self.ticks_shown = 0
        self._ticking = False
        self._cannot_start = False
        self._initial_theme = theme
        self.paused: float | None = None  # the data time shown while paused
        #: A replay moved back (`[`, `g`): the next tick starts it afresh and plays it to here.
        self._replay_from: float | None = None
        self.tick_times: deque[float] = deque(maxlen=200_000)  # newest data time of each tick
        self.latest: Snapshot | None = None  # the newest tick's snapshot, while paused
        self._follow_seek = False  # a replay was moved: a paused view shows where it lands
        self._rebuilding = False  # a replay moved back: its fresh engine's first tick runs
        self._no_color_filters = {True: NoColor(), False: Monochrome()}  # by native ANSI colour
        self.basic_colours = False  # drawn for a 16-colour terminal (`on_mount`)
        self._focus_after_tiny: Panel | None = None

    def terminal_colours(self) -> str | None:
        """The terminal's colour system ("standard" is 16 colours); None off-screen, where
        `report --png` draws in full colour whatever terminal it was started from."""
        return None if self.is_headless else self.console.color_system

    @property
    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                assert self._make_engine is not None
                self._engine = self._make_engine()
            return self._engine

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, with NO_COLOR's filter suited to the current theme.

        Textual chooses NO_COLOR's filter once, for the theme at start: `Monochrome` (every
        colour greyed) for a colour theme, `NoColor` (the terminal's own colours) for an ANSI
        theme. Switching to `ansi-light` or `ansi-dark` kept `Monochrome`, which greys their
        "default" foreground and background alike: black on black.
        """
        filters = super().get_line_filters()
        if not self.no_color:
            return filters
        wanted = self._no_color_filters[self.native_ansi_color]
        return [wanted if isinstance(each, NoColor | Monochrome) else each for each in filters]

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The layout class before the panels mount: set after, it restyles every widget once
        # more before the first frame (175 style applications at start instead of 122).
        self.screen.add_class(layout_class(self.size.width, self.size.height))
        yield StatusHeader()
        with Container(id="grid"):
            for panel in PANELS:
                yield panel()
        yield Static("", id="too-small")
        # Compact (one space between keys, not two), less the keys that do not fit.
        yield FittedFooter()

    def on_mount(self) -> None:
        if self._initial_theme:
            self.theme = self._initial_theme
        if self.no_color:  # see apm_tui.ui.colours
            self.ansi_theme_dark = one_colour_theme((224, 224, 224))
            self.ansi_theme_light = one_colour_theme((30, 30, 30))
        elif self.terminal_colours() == "standard":
            self.basic_colours = True
            self.ansi_theme_dark = self.ansi_theme_light = BASIC_THEME
            self.add_class("-basic")
        self.header = self.query_one(StatusHeader)  # queried once, like the panels below
        self.header.show(None, mode="REPLAY" if self.replay else "LIVE")
        self.apply_layout(self.size.width, self.size.height)
        # Queried once: matching selectors over the widget tree every tick costs milliseconds.
        self.panels = list(self.query(Panel))
        self.charts = list(self.query(Chart))
        self.panels[0].focus()
        self.set_interval(self.interval, self.request_tick)

    def on_ready(self) -> None:
        # Textual posts Ready once the first frame is composed and on its way to the terminal;
        # the first tick (building the sources, loading numpy) holds the GIL for a while, and
        # started sooner it would hold up that frame.
        self.call_after_refresh(self.request_tick)

    def on_notify(self, event: Notify) -> None:
        """(Textual shows the toast itself.) Textual sometimes left an expired toast's last
        frame on the terminal when nothing else was drawn — paused, or a replay at its end:
        `REP▌ replay speed ×2` over the header for minutes, until a resize (seen in tmux,
        under load; the app's own picture of the screen was right). So the screen is painted
        once more just after each toast has gone."""
        timeout = event.notification.timeout
        if math.isfinite(timeout):
            self.set_timer(timeout + 0.5, self._repaint_after_toast)

    def _repaint_after_toast(self) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # the app is closing (quit while a toast still showed)
            return
        screen.refresh()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: App's own handler stores the new size after this one runs.
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        screen = self.screen_stack[0]  # the dashboard, whatever modal is on top of it
        cls = layout_class(width, height)
        changed = not screen.has_class(cls)
        was_tiny = screen.has_class("-tiny")
        if cls == "-tiny" and isinstance(self.focused, Panel):
            self._focus_after_tiny = self.focused  # hidden, it loses the focus
        for name in ("-tiny", "-compact", "-full"):
            screen.set_class(name == cls, name)
        if was_tiny and cls != "-tiny":
            # Back from "too small": the panel that had the focus has it again (the footer
            # offered "⏎ Maximise" for a panel no longer focused, and enter did nothing).
            panel = self._focus_after_tiny or self.query_one(Panel)
            self.call_after_refresh(panel.focus)
        if changed and self.snapshot is not None:
            self.show_snapshot(self.snapshot, again=True)
        self.query_one("#too-small", Static).update(
            f"Terminal too small: {width}×{height}.\n"
            f"apm-tui needs at least {MIN_SIZE[0]}×{MIN_SIZE[1]} (80×24 or more is best)."
        )

    # -- the tick --------------------------------------------------------------------------
    def request_tick(self) -> None:
        if self._ticking or self._cannot_start:
            return
        self._ticking = True
        self.run_tick()

    @work(thread=True, exclusive=True, group="tick")
    def run_tick(self) -> None:
        if self._replay_from is not None and self._make_engine is not None:
            # Until the fresh engine's first step has read the history, a paused view cannot
            # be moved: `view_at` would wait for that step with the screen frozen.
            self._rebuilding = True
            self._restart_replay()
        try:
            engine = self.engine
        except Exception as exc:  # sources that cannot start: say so once, stop ticking
            self._cannot_start = True
            self._ticking = False
            self.post_message(TickFailed(f"the sources could not start: {exc}"))
            return
        try:
            snapshot = engine.step(self.clock())
        except Exception as exc:  # a failing tick is shown, and the next tick tries again
            self.post_message(TickFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(Ticked(snapshot))
        finally:
            self._ticking = self._rebuilding = False

    def _restart_replay(self) -> None:
        """A fresh engine on the same recording, played up to where the replay was sent back
        to (on the tick's thread, so the old engine is never stepped while it is replaced) —
        sent again while the file was opened, the newest place. Its source is set — place,
        speed, pause — before it takes the old one's place, so a key pressed from then on
        acts on a source that is where it should be. A clip being recorded stops, and says so
        (its ticks would go back in time). A recording that cannot be opened again (moved,
        deleted) is a notification and the replay goes on where it was."""
        from apm_tui.sources.recorded import ReplaySource

        assert self._make_engine is not None
        try:
            fresh = self._make_engine()
        except Exception as exc:
            self._replay_from = None
            self.post_message(TickFailed(f"cannot move back in the replay: {exc}"))
            return
        old, now, target = self._engine, self.clock(), self._replay_from
        assert target is not None
        before = [s for s in old.sources if isinstance(s, ReplaySource)] if old else []
        for source in fresh.sources:
            if isinstance(source, ReplaySource):
                source.speed = before[0].speed if before else source.speed
                source.seek_forward(target, now)
                source.hold(self.paused is not None, now)
        with self._engine_lock:
            self._engine = fresh
        if self._replay_from == target:  # (not if sent elsewhere since: the next tick goes)
            self._replay_from = None
        if old is not None:
            # `r` pressed while the fresh engine was built went to the old one: each press
            # toggles, and the move back has stopped a clip already, so the fresh engine
            # records if the presses leave recording on.
            presses = old.take_recording_requests()
            if presses and (old.recorder is not None) != (len(presses) % 2 == 1):
                fresh.toggle_recording(*presses[-1])
            if old.recorder is not None:
                path = getattr(old.recorder, "path", "the recording")
                self.notify(f"recording stopped: {homed(str(path))} (the replay moved back)")
            old.close()

    def on_ticked(self, message: Ticked) -> None:
        # A tick that finishes while the app is shutting down finds its widgets gone.
        if not self.header.is_attached:
            return
        self.show_snapshot(message.snapshot)

    # -- pause and step ----------------------------------------------------------------------
    def shown_time(self) -> float:
        """The data time the header shows (the paused one, else the newest snapshot's)."""
        if self.paused is not None:
            return self.paused
        return self.snapshot.live.newest if self.snapshot is not None else self.clock()

    def action_pause(self) -> None:
        if self.snapshot is None:
            return
        if self.paused is None:
            self.paused = self.snapshot.live.newest
            self.latest = self.snapshot
            self.show_view(self.snapshot)
        else:
            self.paused = None
            if self.latest is not None:
                self.show_snapshot(self.latest, again=True)
        source = self.replay_source()
        if source is not None:
            source.hold(self.paused is not None, self.clock())
        if self._engine is not None:
            self._engine.hold(self.paused)
        self.refresh_bindings()  # the step keys work (and show) only while paused

    def action_resume(self) -> None:
        if self.paused is not None:
            self.action_pause()

    def action_step(self, ticks: int) -> None:
        """Paused: one step back or forward through the window — to the time of the previous
        or next tick shown live, or of a sample of the history before them."""
        if self.paused is None or self._engine is None or self._still_rebuilding():
            return
        import numpy as np

        window = self._engine.window
        ends = [window.oldest(), window.newest()]  # `home` and `end` go there
        shown = np.array(self.tick_times)
        shown = shown[np.isfinite(shown)]  # (a tick of an empty window has no time)
        samples = window.metrics.column("timestamp")
        if shown.size:  # (a sample between two ticks is not a step: one press, one tick)
            samples = samples[samples < shown.min()]
        stops = np.union1d(samples, np.concatenate([shown, ends]))
        stops = stops[(stops >= ends[0]) & (stops <= ends[1])]
        if not stops.size:
            return
        here = int(np.searchsorted(stops, self.paused, side="right")) - 1
        self.move_to(float(stops[min(max(here + ticks, 0), stops.size - 1)]))

    def action_jump(self, end: int) -> None:
        """Paused: to the start (-1) or the end (1) of the window."""
        if self.paused is None or self._engine is None or self._still_rebuilding():
            return
        window = self._engine.window
        self.move_to(window.newest() if end > 0 else window.oldest())

    def _still_rebuilding(self) -> bool:
        if self._rebuilding:
            self.notify("Moving back in the replay: the arrows work once it is there.", timeout=3)
        return self._rebuilding

    def move_to(self, t: float) -> None:
        assert self._engine is not None
        window = self._engine.window
        oldest, newest = window.oldest(), window.newest()
        if not (math.isfinite(oldest) and math.isfinite(newest)):
            return
        self.paused = min(max(t, oldest), newest)
        self._follow_seek = False  # a step of the user's own: the view stays where it went
        self.show_view(self._engine.view_at(self.paused))

    def show_view(self, snap: Snapshot) -> None:
        """A snapshot shown while paused: every panel, the PAUSED badge, no notices."""
        self.snapshot = snap
        self.show_paused_header()
        for panel in self.panels:
            panel.update_view(snap)
        self.redraw_stale_charts(limit=len(PANELS))

    def show_snapshot(self, snap: Snapshot, *, again: bool = False) -> None:
        if not again:
            self.ticks_shown += 1
            if snap.tick == 1:  # a replay moved back: the fresh engine's ticks, not the old's
                self.tick_times.clear()
            self.tick_times.append(snap.live.newest)
            if self.ticks_shown == 1:
                self.refresh_bindings()  # the replay keys appear once the engine exists
            if self.paused is not None:
                # Paused: the sources keep being sampled into the window, the view stays put
                # (its header says how far behind the newest data it now is) — unless a paused
                # replay was moved (`[`, `]`, `g`): then the view goes with it, still paused.
                self.latest = snap
                if self._follow_seek:
                    # Followed until its analysis is in: a replay moved back starts a new
                    # engine, whose first ticks say "Analysing the window…".
                    self._follow_seek = snap.analysis is None or self._replay_from is not None
                    self.paused = snap.live.newest
                    self.show_view(snap)
                else:
                    self.show_paused_header()
                self.say_notices(snap.notices)
                return
        elif self.paused is not None:  # a resize while paused keeps the paused view
            self.show_view(snap)
            return
        self.snapshot = snap
        if not again and self._replay_from is None and snap.analysis is not None:
            self._follow_seek = False  # the last seek has landed: a pause from now stays put
        self.header.show(snap, now=self.clock())
        for panel in self.panels:
            panel.update_view(snap)
        if again:
            self.redraw_stale_charts(limit=len(PANELS))
        else:
            self.redraw_stale_charts(CHARTS_PER_TICK, before=snap.tick - CHART_DELAY_TICKS + 1)
            self.say_notices(snap.notices)

    def say_notices(self, notices: Iterable[str]) -> None:
        """What the sources said this tick, each a warning (the home folder as `~`)."""
        for notice in notices:
            self.notify(homed(notice), severity="warning", timeout=8, markup=False)

    def show_paused_header(self) -> None:
        if self.snapshot is None:
            return
        newest = self.latest.live.newest if self.latest is not None else math.nan
        behind = newest - self.snapshot.live.newest
        self.header.show(self.snapshot, mode="PAUSED", behind=behind if behind > 0 else 0.0)

    def redraw_stale_charts(self, limit: int, before: float = math.inf) -> None:
        """Redraw up to `limit` charts whose data went stale before tick `before`, oldest
        first; charts that have never been drawn are drawn at once, so the first data shows."""
        stale = sorted((c for c in self.charts if c.stale_since), key=lambda c: c.stale_since)
        new = [c for c in stale if not c.builds]
        due = [c for c in stale if c.builds and c.stale_since < before][:limit]
        for chart in new + due:
            chart.redraw()

    def on_tick_failed(self, message: TickFailed) -> None:
        self.notify(f"tick failed: {message.error}", severity="error", timeout=8, markup=False)

    # -- actions ---------------------------------------------------------------------------
    def key_descriptions(self) -> list[tuple[str, str]]:
        """Every key, by where it works; ("", title) starts a section."""

        def rows(bindings: Iterable[object], leave: tuple[str, ...] = ()) -> list[tuple[str, str]]:
            return [
                ((b.key_display or b.key).replace(",", " / "), b.description + only(b.action))
                for b in bindings
                if isinstance(b, Binding) and b.key not in leave
            ]

        def only(action: str) -> str:
            """Where a key works, for those that do not work everywhere."""
            if action.startswith(("step(", "jump(")):
                return " (while paused)"
            return " (in a replay)" if action.startswith("replay_") else ""

        shown = [b for b in self.BINDINGS if isinstance(b, Binding) and b.action != "resume"]
        keys = rows(shown, leave=("tab", "shift+tab"))
        said = {"q": ("q / ctrl+q", "Quit"), "?": ("? / f1", "Help"),
                "space": ("space", "Pause (Resume while paused)")}  # fmt: skip
        keys = [said.get(key, (key, text)) for key, text in keys]
        keys += [
            ("tab / shift+tab", "move between panels"),
            (
                "ctrl+p",
                "command palette: the main actions by name, themes, PNG and SVG screenshots",
            ),
            ("", "In the endpoint panel"),
            *rows(EndpointsPanel.BINDINGS),
            ("", "In the bottlenecks panel"),
            *rows(BottlenecksPanel.BINDINGS),
            ("", "On the trace screen (t)"),
            *rows(TracesScreen.BINDINGS, leave=("tab",)),
            (
                "up / down, enter",
                "pick a trace; enter moves into its waterfall, up / down pick a span",
            ),
        ]
        return keys

    def action_traces(self) -> None:
        """The trace screen, on the window as it is shown: now, or at the paused time."""
        engine = self._engine
        if engine is None:
            self.notify("Still starting: press t again in a moment.", timeout=4)
            return
        paused = self.paused
        if paused is None:
            self.push_screen(TracesScreen(engine.spans))
            return

        def load() -> Table:
            from apm_tui.analysis.traces import finished_by

            return finished_by(engine.spans(), paused, paused - engine.window.max_age_s)

        self.push_screen(TracesScreen(load))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_descriptions()))

    def action_maximize_panel(self) -> None:
        focused = self.focused
        if isinstance(focused, EndpointsPanel) and focused.is_maximized:
            focused.action_details()
        elif focused is not None:
            self.screen.maximize(focused)
        self.refresh_bindings()

    def action_restore(self) -> None:
        self.screen.minimize()
        self.refresh_bindings()

    def replay_source(self) -> ReplaySource | None:
        if self._engine is None:  # (and before the first frame: no numpy import here)
            return None
        from apm_tui.sources.recorded import ReplaySource

        return next((s for s in self._engine.sources if isinstance(s, ReplaySource)), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The speed keys exist only in a replay (hidden from the footer otherwise).
        if action in ("replay_speed", "replay_seek", "replay_goto"):
            return self.replay_source() is not None
        if action in ("step", "jump", "resume"):
            return self.paused is not None
        if action == "pause":
            return self.paused is None
        # One of the two at a time, so the footer fits in 80 columns.
        maximized = self.screen.maximized is not None
        if action == "restore":
            return maximized
        if action == "maximize_panel":
            return not maximized or isinstance(self.focused, EndpointsPanel)
        return True

    def action_replay_seek(self, seconds: float) -> None:
        """A minute on or back in a replay."""
        source = self.replay_source()
        if source is not None:
            target = min(source.total, max(0.0, self.replay_position(source) + seconds))
            self.replay_to(source, target)

    def replay_position(self, source: ReplaySource) -> float:
        """Where the replay is, or is going: a seek back still waiting for its fresh engine
        counts (`[` pressed twice before the next tick goes two minutes back)."""
        pending = self._replay_from
        return source.position(self.clock()) if pending is None else pending

    def replay_to(self, source: ReplaySource, target: float) -> None:
        """On: the next tick plays up to `target`. Back, or while a move back is waiting: the
        next tick rebuilds the engine from the recording and plays up to there."""
        now = self.clock()
        if self._replay_from is None and target >= source.position(now):
            source.seek_forward(target, now)
        else:
            self._replay_from = target
        self._follow_seek = True  # paused now or before it lands: the view goes there
        self.notify(f"replay at {duration(target)}", timeout=2)

    def action_replay_goto(self) -> None:
        """Ask for a time (UTC clock, offset or share) and go there."""
        source = self.replay_source()
        if source is None:
            return
        from apm_tui.sources.recorded import replay_target

        where = f"{duration(self.replay_position(source))} / {duration(source.total)}"

        def go(text: str | None) -> None:
            # The source now: a move back while the question was open replaced the engine.
            source = self.replay_source()
            if not text or source is None:
                return
            try:
                target = replay_target(
                    text,
                    total=source.total,
                    position=self.replay_position(source),
                    shown=self.shown_time(),
                    data=source.data_span(),
                    locate=source.locate,
                )
            except ValueError as exc:
                self.notify(str(exc), severity="error", timeout=6, markup=False)
                return
            self.replay_to(source, target)

        self.push_screen(GoToScreen(where), go)

    def action_replay_speed(self, factor: float) -> None:
        source = self.replay_source()
        if source is None:
            return
        speed = min(64.0, max(0.25, source.speed * factor))
        source.set_speed(speed, self.clock())
        self.notify(f"replay speed ×{speed:g}", timeout=2)

    def action_toggle_record(self) -> None:
        """Start or stop recording to a timestamped file in the recordings folder; the next
        tick applies it and a notification names the file."""
        if self._engine is None:  # building it here would block the screen: not yet
            self.notify("Still starting: press r again in a moment.", timeout=4)
            return
        self._engine.toggle_recording(self.recordings_dir, self.interval)

    # -- screenshots -------------------------------------------------------------------------
    def action_save_png(self) -> None:
        """Save what the terminal shows as a PNG: the cells are grabbed now (≈ 10 ms), the
        picture is painted and written in a thread worker, and a notification names it."""
        from apm_tui.ui.screenshot import grab

        self.write_screenshot(grab(self), "png")

    def action_save_svg(self) -> None:
        """The same cells as Textual's SVG screenshot, named and placed like the PNGs."""
        from apm_tui.ui.screenshot import grab

        self.write_screenshot(grab(self), "svg")

    @work(thread=True, group="screenshot")
    def write_screenshot(self, screen: PngScreen, kind: str) -> None:
        from apm_tui.errors import ExportError
        from apm_tui.export.files import save_new

        try:
            if kind == "svg":
                from apm_tui.export.svg import render_svg

                data = render_svg(screen, self.title).encode("utf-8")
            else:
                from apm_tui.export.png import render_png

                data = render_png(screen)
            path = save_new(data, self.screenshots_dir or Path.cwd(), self.clock(), f".{kind}")
        except ExportError as exc:  # (notify is thread-safe)
            self.notify(f"Screenshot not saved: {exc}", severity="error", timeout=8, markup=False)
        else:
            self.notify(homed(f"Screenshot saved: {path}"), timeout=6, markup=False)

    def on_endpoints_panel_selected(self, message: EndpointsPanel.Selected) -> None:
        # A double click selects twice; one detail screen is enough.
        if self.snapshot is not None and not isinstance(self.screen, EndpointScreen):
            self.push_screen(EndpointScreen(self.snapshot, message.endpoint))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:  # type: ignore[type-arg]
        for command in super().get_system_commands(screen):
            # Textual's "Screenshot" saves an SVG to the downloads folder; ours (below) saves
            # it where `s` saves PNGs, under the same kind of name. Its "Maximize" and
            # "Minimize" skip the footer's update (it kept offering ⏎ Maximise); ours do it.
            if command.title not in ("Screenshot", "Maximize", "Minimize"):
                yield command
        # After a moment, as Textual's own does: the palette must close before the grab.
        yield SystemCommand(
            "Save PNG screenshot",
            "A PNG of the screen (the s key)",
            lambda: self.set_timer(0.1, self.action_save_png),
        )
        yield SystemCommand(
            "Save SVG screenshot",
            "Textual's SVG of the screen, beside the PNGs",
            lambda: self.set_timer(0.1, self.action_save_svg),
        )
        yield SystemCommand("Help", "Every key and what each panel means", self.action_help)
        # The main screen's keys: the palette offers what the footer may have no room for.
        if screen is self.screen_stack[0]:
            yield from self.main_commands()

    def main_commands(self) -> Iterable[SystemCommand]:
        if self.paused is None:
            yield SystemCommand("Pause", "Freeze the view; the sources keep filling the "
                                "window (space)", self.action_pause)  # fmt: skip
        else:
            yield SystemCommand("Resume", "Back to live: the view follows the sources again "
                                "(space)", self.action_pause)  # fmt: skip
        yield SystemCommand(
            "Stop recording" if self.snapshot is not None and self.snapshot.recording else "Record",
            "Record to a new file in the recordings folder (r)",
            self.action_toggle_record,
        )
        yield SystemCommand("Traces", "The window's slowest traces (t)", self.action_traces)
        yield SystemCommand(
            "Maximise panel", "Fill the screen with the focused panel", self.action_maximize_panel
        )
        yield SystemCommand("Restore layout", "Back to all nine panels", self.action_restore)
        if self.replay_source() is not None:
            yield SystemCommand("Go to", "A time, an offset or a share of the replay (g)",
                                self.action_replay_goto)  # fmt: skip
            yield SystemCommand("Faster", "Double the replay speed (+)",
                                lambda: self.action_replay_speed(2))  # fmt: skip
            yield SystemCommand("Slower", "Halve the replay speed (-)",
                                lambda: self.action_replay_speed(0.5))  # fmt: skip

    def on_unmount(self) -> None:
        if self._engine is not None:
            self._engine.close()


def default_recordings_dir() -> Path:
    """Where `r` records: $XDG_DATA_HOME/apm-tui/recordings (~/.local/share/… by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "apm-tui" / "recordings"


def make_app(
    opts: DashboardOptions | None = None,
    thresholds: Thresholds | None = None,
    *,
    theme: str | None = None,
    clock: Callable[[], float] = time.time,
) -> ApmApp:
    """The dashboard users run, built the same way for the CLI, the tests and the benchmarks."""
    opts = opts or DashboardOptions()
    th = thresholds or Thresholds()
    if theme is not None and theme not in BUILTIN_THEMES:
        # Checked here, before the terminal switches screens, so it is one line on stderr.
        raise ConfigError(
            f"unknown theme {theme!r}; choose one of {', '.join(sorted(BUILTIN_THEMES))}"
        )
    return ApmApp(
        lambda: make_engine(opts, th),
        interval=opts.interval,
        thresholds=th,
        theme=theme,
        clock=clock,
        recordings_dir=Path(opts.recordings_dir) if opts.recordings_dir else None,
        screenshots_dir=Path(opts.screenshots_dir) if opts.screenshots_dir else None,
        replay=bool(opts.replay),
    )
