"""What a recording carries beyond its data: the thresholds it was recorded with, a log read
whole by `record`, and `report --from` refusing another source's options."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from apm_tui.cli import main
from apm_tui.config import Thresholds
from apm_tui.recording import Recorder, Recording
from apm_tui.sources.synthetic import SyntheticSource, WorldSettings
from tests.conftest import SHARED, WORLD_START

ROOT = Path(__file__).resolve().parents[2]
LOG = SHARED / "data" / "logs" / "apache_combined.log"


def recording(path: Path, thresholds: object) -> Path:
    batch = SyntheticSource(WorldSettings(hours=2, traces=80, start=WORLD_START)).backfill()
    rec = Recorder(path, sources=["synthetic"], settings={"thresholds": thresholds}, interval_s=1)
    rec.append(0.0, batch, history=True)
    rec.close()
    return path


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["report", "--json", *args]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_a_recording_is_judged_by_the_thresholds_it_was_recorded_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = asdict(Thresholds(apdex_t_ms=500.0, slow_query_ms=50.0))
    recorded["a_newer_versions_key"] = 1.0  # left out, not an error
    path = str(recording(tmp_path / "t500.apmrec", recorded))
    doc = report_json(capsys, "--from", path)
    assert doc["thresholds"] == asdict(Thresholds(apdex_t_ms=500.0, slow_query_ms=50.0))
    # An option given now wins over the recorded value; a --config file replaces them all.
    doc = report_json(capsys, "--from", path, "--apdex-t", "200")
    assert doc["thresholds"]["apdex_t_ms"] == 200.0  # type: ignore[index]
    assert doc["thresholds"]["slow_query_ms"] == 50.0  # type: ignore[index]
    config = tmp_path / "apm.toml"
    config.write_text("[thresholds]\nslow_query_ms = 70\n")
    doc = report_json(capsys, "--from", path, "--config", str(config))
    assert doc["thresholds"] == asdict(Thresholds(slow_query_ms=70.0))
    # A recording without thresholds in its settings is judged by the defaults.
    doc = report_json(capsys, "--from", str(recording(tmp_path / "old.apmrec", None)))
    assert doc["thresholds"] == asdict(Thresholds())


def test_unusable_recorded_thresholds_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = recording(tmp_path / "bad.apmrec", {"apdex_t_ms": -3})
    assert Recording.open(path).settings()["thresholds"] == {"apdex_t_ms": -3}
    assert main(["report", "--from", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "recorded thresholds are unusable" in err
    assert "apdex_t_ms must not be negative, got -3" in err and "give --config" in err
    assert main(["report", "--from", str(path), "--config", str(write_config(tmp_path))]) == 0


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "ok.toml"
    config.write_text("[thresholds]\napdex_t_ms = 150\n")
    return config


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--log", "x.log"], "--log is for other sources; leave it out"),
        (["--seed", "7", "--hours", "2"], "--hours and --seed are for other sources"),
        (["--see", "7"], "--seed is for other sources"),  # (argparse takes a prefix)
        (["--trace-file", "t.json"], "--trace-file is for other sources"),
        (["--source", "system"], "--source is for other sources"),
        (["--from", "b.apmrec"], "--from takes one recording"),
        # Given, even at their defaults: they would still be ignored.
        (
            ["--seed", "42", "--hours", "24", "--log-format", "auto"],
            "--log-format, --hours and --seed are for other sources; leave them out",
        ),
    ],
)
def test_report_from_refuses_another_sources_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    path = str(recording(tmp_path / "a.apmrec", None))
    assert main(["report", "--from", path, *extra]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_a_replay_takes_the_recorded_thresholds(tmp_path: Path) -> None:
    from apm_tui.cli import build_parser, thresholds_from

    path = str(recording(tmp_path / "r.apmrec", asdict(Thresholds(apdex_t_ms=400.0))))
    recorded = Recording.open(path)
    args = build_parser().parse_args(["replay", path])
    assert thresholds_from(args, recorded).apdex_t_ms == 400.0
    args = build_parser().parse_args(["replay", path, "--apdex-t", "90"])
    assert thresholds_from(args, recorded).apdex_t_ms == 90.0


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ('{"thresholds": {"apdex_t_ms": 1' + "0" * 400 + "}}", "got one too large"),
        ('{"thresholds": {"apdex_t_ms": "fast"}}', "must be a number, got 'fast'"),
    ],
)
def test_hostile_recorded_thresholds_are_one_line_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str, said: str
) -> None:
    path = recording(tmp_path / "h.apmrec", None)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (settings,))
    db.close()
    assert main(["report", "--from", str(path)]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_unreadable_settings_are_no_settings(tmp_path: Path) -> None:
    path = recording(tmp_path / "n.apmrec", None)
    for settings in ("[" * 100_000, "not json", "[1, 2]"):  # nested too deep, damaged, a list
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (settings,))
        db.close()
        opened = Recording.open(path)
        assert opened.settings() == {} and opened.thresholds() is None
        opened.close()


def test_record_reads_a_log_whole_and_says_what_its_sources_say(tmp_path: Path) -> None:
    out = tmp_path / "log.apmrec"
    done = subprocess.run(
        [sys.executable, "-m", "apm_tui", "record", "-o", str(out), "--duration", "0.4",
         "--interval", "0.2", "--log", str(LOG), "--log", str(tmp_path / "typo.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The whole log (9,999 requests over six days), not the dashboard's last 15 minutes.
    spans = sum(len(t.batch.spans) for t in Recording.open(out).ticks())
    assert spans == 9_999
    assert f"{tmp_path / 'typo.log'} does not exist yet; waiting for it" in done.stderr
