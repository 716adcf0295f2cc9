"""The empty frame painted before Textual loads is the frame Textual then draws."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apm_tui.ui import skeleton
from apm_tui.ui.app import make_app
from apm_tui.ui.widgets.panels import PANELS
from tests.ui.conftest import FakeClock, dashboard_options, screen_lines


def test_the_titles_are_the_panels_names() -> None:
    assert tuple(panel.NAME for panel in PANELS) == skeleton.TITLES


@pytest.mark.parametrize(
    "size", [(200, 60), (160, 50), (121, 37), (120, 40), (100, 30), (80, 24), (61, 19), (40, 12)]
)
async def test_the_skeleton_is_textuals_first_frame(size: tuple[int, int]) -> None:
    app = make_app(dashboard_options(window_hours=1.0), clock=FakeClock())
    app._cannot_start = True  # no tick: the frame before any data, as at launch
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        drawn = [line.rstrip() for line in screen_lines(app)]
    painted = skeleton.frame_lines(*size)
    assert painted is not None
    assert [line.rstrip() for line in painted] == drawn[:-1]  # all but the footer
    assert all(len(line) == size[0] for line in painted)


async def test_a_replays_skeleton_says_replay_as_its_first_frame_does() -> None:
    from apm_tui.commands.dashboard import DashboardOptions

    # The recording is never opened: no tick runs (see above).
    app = make_app(DashboardOptions(sources=(), replay="never-read.apmrec"), clock=FakeClock())
    app._cannot_start = True
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        drawn = [line.rstrip() for line in screen_lines(app)]
    painted = skeleton.frame_lines(120, 40, "REPLAY")
    assert painted is not None and painted[0].startswith(" REPLAY  apm-tui starting…")
    assert [line.rstrip() for line in painted] == drawn[:-1]


def test_no_skeleton_below_the_minimum_size() -> None:
    assert skeleton.frame_lines(39, 30) is None
    assert skeleton.frame_lines(120, 11) is None
    out = io.StringIO()
    assert skeleton.paint(out, 30, 10) is False
    assert out.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1  # its size comes from the patched os.get_terminal_size


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """A 100×30 terminal the skeleton paints into."""
    monkeypatch.setattr(skeleton, "wanted", lambda stream: True)
    monkeypatch.setattr(
        skeleton.os, "get_terminal_size", lambda fd: skeleton.os.terminal_size((100, 30))
    )
    return Terminal()


def test_an_error_before_textual_starts_leaves_the_alternate_screen(terminal: Terminal) -> None:
    with pytest.raises(ValueError), skeleton.shown(terminal) as frame:
        assert frame.painted
        raise ValueError("unknown theme")
    text = terminal.getvalue()
    assert text.startswith(skeleton.ENTER) and "Duration by endpoint" in text
    assert text.endswith(skeleton.LEAVE)


def test_after_the_hand_over_textual_restores_the_terminal(terminal: Terminal) -> None:
    with pytest.raises(RuntimeError), skeleton.shown(terminal) as frame:
        frame.hand_over()
        raise RuntimeError("the app failed")  # Textual's own teardown left the screen
    text = terminal.getvalue()
    assert text.startswith(skeleton.ENTER) and not text.endswith(skeleton.LEAVE)


def test_nothing_is_painted_when_output_is_not_a_terminal() -> None:
    out = io.StringIO()
    with skeleton.shown(out) as frame:
        assert not frame.painted
    assert out.getvalue() == ""


def test_a_bad_theme_prints_on_the_normal_screen() -> None:
    # A real pty: the skeleton paints, the theme is refused after Textual loads, and the
    # error line comes after the sequence that leaves the alternate screen.
    code = textwrap.dedent(
        """
        import fcntl, json, os, pty, struct, sys, termios
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            os.environ["TERM"] = "xterm-256color"
            sys.argv = ["apm-tui", "--theme", "no-such-theme"]
            from apm_tui.cli import main
            sys.exit(main())
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        json.dump([os.waitstatus_to_exitcode(status), out.decode()], sys.stdout)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    status, text = json.loads(done.stdout)
    assert status == 2
    assert "\x1b[?1049h" in text and "Health" in text
    leave = text.index(skeleton.LEAVE)
    assert text.index("unknown theme") > leave


def test_a_terminal_of_unknown_size_gets_no_skeleton(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_size(fd: int) -> os.terminal_size:
        raise OSError("Inappropriate ioctl for device")

    out = Terminal()
    monkeypatch.setattr(skeleton, "wanted", lambda stream: True)
    monkeypatch.setattr(skeleton.os, "get_terminal_size", no_size)
    with skeleton.shown(out) as frame:
        assert not frame.painted
    assert out.getvalue() == ""


def test_the_skeleton_is_painted_before_textual_or_numpy_load() -> None:
    code = textwrap.dedent(
        """
        import sys
        import apm_tui.cli, apm_tui.commands.dashboard, apm_tui.ui.skeleton
        print(",".join(m for m in ("textual", "rich", "numpy") if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_the_dashboard_takes_the_terminals_size_over_exported_columns_and_lines(
    tmp_path: Path,
) -> None:
    """COLUMNS=80 LINES=24 exported (pytest itself does, without a terminal): Textual would
    lay out at 80×24 whatever the terminal's size; the dashboard uses the terminal's."""
    seen = tmp_path / "size"
    code = textwrap.dedent(
        f"""
        import fcntl, os, pty, struct, sys, termios
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            os.environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
            from apm_tui.ui.app import ApmApp

            def on_mount(self):
                with open({str(seen)!r}, "w") as f:
                    f.write(f"{{self.size.width}}x{{self.size.height}}")
                self.exit()

            ApmApp.on_mount = on_mount
            sys.argv = ["apm-tui", "--source", "system"]
            from apm_tui.cli import main
            sys.exit(main())
        while True:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        os.waitpid(pid, 0)
        """
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert seen.read_text() == "100x30"
