"""The `apm-tui report` command as a user runs it: in a subprocess, piped."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apm_tui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


SECTIONS = [
    "⚡ PERFORMANCE METRICS",
    "💻 RESOURCE UTILIZATION",
    "🔍 ANOMALIES & ERRORS",
    "🚧 PERFORMANCE BOTTLENECKS",
    "🏥 APPLICATION HEALTH",
    "💡 OPTIMIZATION RECOMMENDATIONS",
    "📊 SUMMARY:",
]
PROGRESS = [
    "✓ Generated 1,440 metric data points",
    "✓ Generated 1,000 transaction traces",
    "✓ Detected 72 performance anomalies",
    "✓ Identified 4 bottlenecks",
    "✓ Health Score:",
]


def test_report_has_every_section_in_the_seeds_order_and_is_plain_when_piped() -> None:
    done = run("report")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    positions = [out.index(s) for s in PROGRESS + SECTIONS]
    assert positions == sorted(positions)
    assert "\x1b[" not in out  # no ANSI codes in a pipe
    assert "Location: /api/orders/create" in out
    for label in (
        "Average Response Time:",
        "P95 Response Time:",
        "Average Apdex Score:",
        "Peak Memory Usage:",
        "Database Query Time (Avg):",
        "Overall Health Score:",
    ):
        assert label in out


def test_json_has_the_documented_keys_and_consistent_values() -> None:
    done = run("report", "--json", "--seed", "3")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc["counts"]) >= {"metrics", "traces", "spans"}
    assert doc["counts"]["metrics"] == 1440 and doc["counts"]["traces"] == 1000
    rt = doc["response_time_ms"]
    assert rt["p50"] <= rt["p95"] <= rt["p99"]
    assert 0 <= doc["apdex"]["score"] <= 1 and doc["apdex"]["t_ms"] == 100
    for key in ("throughput_rps", "db_query_ms"):
        assert isinstance(doc[key]["avg"], float)
    assert {"avg", "peak"} <= set(doc["cpu_pct"]) and {"avg", "peak"} <= set(doc["memory_pct"])
    assert isinstance(doc["error_rate_pct"], float)
    assert doc["anomalies"] and set(doc["anomalies"][0]) >= {
        "timestamp",
        "severity",
        "type",
        "score",
    }
    assert set(doc["bottlenecks"][0]) >= {
        "kind",
        "location",
        "severity",
        "avg_duration_ms",
        "recommendation",
    }
    h = doc["health"]
    assert 0 <= h["score"] <= 100 and h["status"] in {"EXCELLENT", "GOOD", "FAIR", "POOR"}
    assert abs(sum(f["points"] for f in h["breakdown"]) - h["score"]) < 1e-6
    assert set(doc["recommendations"][0]) == {"priority", "title", "action", "impact", "evidence"}
    assert set(doc["endpoints"][0]) >= {
        "name",
        "requests",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "apdex",
        "error_rate_pct",
    }
    assert set(doc["custom_metrics"]["orders_per_minute"]) >= {"avg", "peak", "trend"}


def test_options_change_the_analysis(tmp_path: Path) -> None:
    config = tmp_path / "apm.toml"
    config.write_text("[thresholds]\napdex_t_ms = 500\n")
    base = json.loads(run("report", "--json", "--hours", "2", "--traces", "200").stdout)
    loose = json.loads(
        run("report", "--json", "--hours", "2", "--traces", "200", "--config", str(config)).stdout
    )
    cli_wins = json.loads(
        run(
            "report",
            "--json",
            "--hours",
            "2",
            "--traces",
            "200",
            "--config",
            str(config),
            "--apdex-t",
            "50",
        ).stdout
    )
    assert base["counts"]["metrics"] == 120 and base["counts"]["traces"] == 200
    assert loose["apdex"]["t_ms"] == 500 and loose["apdex"]["score"] > base["apdex"]["score"]
    assert cli_wins["apdex"]["t_ms"] == 50
    more = json.loads(run("report", "--json", "--contamination", "0.1").stdout)
    assert len(more["anomalies"]) == 144


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["report", "--fail-under", "101"], "--fail-under: must be a health score from 0 to 100"),
        (["report", "--fail-under", "good"], "--fail-under: not a number"),
        (["export", "x.apmrec", "--csv", ""], "--csv needs a folder name (it was empty)"),
        (["report", "--hours", "0"], "--hours: must be a positive number"),
        (["report", "--hours", "-3"], "--hours: must be a positive number"),
        (["report", "--hours", "abc"], "--hours: not a number"),
        (["report", "--contamination", "0.7"], "--contamination: must be in (0, 0.5]"),
        (["report", "--config", "/nonexistent/apm.toml"], "config file not found"),
        (["report", "--config", ""], "the config file name is empty"),
        (["report", "--hours", "1e9"], "is 60,000,000,000 samples; the limit is"),
        (["report", "--interval", "1e-300"], "--interval 1e-300 is 8.64e+304 samples; the limit"),
        (["report", "--traces", "1" + "0" * 400], "--traces 1.00e+400 is over the limit of"),
        (["report", "--source", "nosuchsource"], "unknown source 'nosuchsource'"),
        (["report", "--source", "no_such_module:Thing"], "cannot import source module"),
        (
            ["report", "--source", "tests.unit.broken_import:Source"],
            "source module 'tests.unit.broken_import' failed to import: ZeroDivisionError",
        ),
        (["--source", "tests.unit.broken_import:Source"], "failed to import: ZeroDivisionError"),
        (
            ["report", "--json", "--source", "tests.unit.broken_sources:NoneHistory"],
            "source 'broken': backfill() returned None instead of a Batch",
        ),
        (
            ["report", "--json", "--source", "tests.unit.broken_sources:DictPoll"],
            "source 'broken': poll() returned a dict instead of a Batch",
        ),
        (
            ["report", "--json", "--source", "tests.unit.broken_sources:TextTimes"],
            "'timestamp' column is not numbers (e.g. '2026-01-01T00:00:00')",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--theme", "nope"], "unknown theme 'nope'"),
        (["--source", "bogus"], "unknown source 'bogus'"),
        # the dashboard builds its sources after the first frame; specs are checked before
        (["--source", "no_such_module:Thing"], "cannot import source module"),
        (["--source", "os:no_such_thing"], "has no callable 'no_such_thing'"),
        (["--listen", "nope:x"], "bad listen address 'nope:x'"),
        # argparse read "-5m" as an option: "expected one argument"
        (["--backlog", "-5m"], "argument --backlog: '-5m' is not a duration"),
        (["--window", "1e308"], "--window: must be from 0.01 to 168 hours, got 1e+308"),
        (["--interval", "1e-6"], "--interval: must be from 0.1 to 86400 seconds, got 1e-06"),
        (["record", "-o", "x", "--interval", "1e308"], "--interval: must be from 0.1 to 86400"),
        (["--speed", "1e308"], "--speed: must be from 0.01 to 3600"),
        (["--window", "168", "--interval", "0.1"], "is 6,048,000 ticks; the limit is 1,000,000"),
        (["--source", "synthetic", "--listen", "127.0.0.1:0"], "--listen is for --source otlp"),
        (["--source", "synthetic", "--log", "x.log"], "--log is for --source log"),
        (["--source", "log"], "--source log needs --log PATH"),
        (["--log", "x.log", "--backlog", "5q"], "'5q' is not a duration"),
        (["report", "--trace-file", "/nonexistent.json"], "/nonexistent.json"),
        (["report", "--log", "x.log", "--log-rule", "(=>y"], "bad regular expression"),
        (["report", "--log", "x.log", "--log-rule", "no-arrow"], "write a rule as REGEX=>ROUTE"),
        (
            ["report", "--log", "x.log", "--log-rule", r"(a)=>\2"],
            "bad route template: invalid group",
        ),
        (["--log", "x.log", "--log-rule", r"(a)=>\g<id>"], "bad route template: unknown group"),
        (
            ["report", "--log", "x.log", "--log-rule", r"a=>\q"],
            r"bad route template: bad escape \q",
        ),
        (["report", "--trace-file", str(SHARED / "data/traces/logs.json")], "not a trace file"),
        (["--record", ""], "--record needs a file name (it was empty)"),  # (was: not recording)
        (["record", "-o", "/nonexistent/x.apmrec"], "/nonexistent does not exist"),
        (["export", "/nonexistent.apmrec", "--csv", str(ROOT / "README.md")], "not a folder"),
        # Before a command, argparse would drop them in silence (the command's defaults win).
        (["--seed", "7", "report"], "--seed was given before the command 'report'"),
        (["--see", "7", "report", "--json"], "--seed was given before"),  # (a prefix)
        (["--log", "report", "report"], "--log was given before the command 'report'"),
        (["--theme", "nord", "replay", "x.apmrec"], "(apm-tui replay --theme …)"),
        (["--record", "r.apmrec", "export", "x.apmrec", "--csv", "d"], "--record was given before"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\nwhatever = 1\n", "unknown key thresholds.whatever"),
        ("not toml at all [", "not valid TOML"),
        ("[thresholds]\napdex_t_ms = nan\n", "apdex_t_ms must be a finite number, got nan"),
        ("[thresholds]\ncpu_high_pct = 500\n", "cpu_high_pct is a percentage: at most 100"),
        (
            "[thresholds]\nslow_endpoint_min_requests = 2.5\n",
            "slow_endpoint_min_requests must be a whole number, got 2.5",
        ),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    done = run("report", "--config", str(config))
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--config", "FIFO"], "cannot read config file FIFO: a named pipe"),
        (["report", "--log", "FIFO"], "cannot read log FIFO: a named pipe"),
        (["report", "--log", "/dev/zero"], "cannot read log /dev/zero: a character device"),
        (["report", "--trace-file", "FIFO"], "cannot read FIFO: a named pipe"),
        (["report", "--trace-file", "/dev/zero"], "cannot read /dev/zero: a character device"),
        (["record", "--log", "FIFO", "-o", "REC", "--duration", "1"], "cannot read log FIFO"),
        (["--log", "FIFO"], "cannot read log FIFO: a named pipe"),
        (["detect", "FIFO"], "FIFO: a named pipe, not a regular file"),
    ],
)
def test_a_pipe_or_device_is_refused_before_it_is_read(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """They used to wait forever for a writer (record ignoring SIGTERM meanwhile) or read
    /dev/zero without end."""
    fifo, recording = str(tmp_path / "pipe"), str(tmp_path / "r.apmrec")
    os.mkfifo(fifo)
    done = run(*(a.replace("FIFO", fifo).replace("REC", recording) for a in args))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"apm-tui: error: {message.replace('FIFO', fifo)}")
    assert len(done.stderr.splitlines()) == 1
    assert not os.path.exists(recording)


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("bogus", "unknown log format 'bogus'"),
        ("$foo", "log format '$foo' logs no request ($request or $uri)"),
        ("", "unknown log format ''"),
    ],
)
def test_the_dashboard_refuses_a_bad_log_format_before_the_screen_switches(
    tmp_path: Path, fmt: str, message: str
) -> None:
    """The format was compiled in the tick worker: a dashboard with an empty screen and a
    toast, running until killed. `report` and `record` said it in one line."""
    log = tmp_path / "access.log"
    log.write_text('1.2.3.4 - - [07/Feb/2020:11:48:51 +0000] "GET / HTTP/1.1" 200 5 "-" "c"\n')
    done = run("--log", str(log), "--log-format", fmt)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"apm-tui: error: {message}")
    assert len(done.stderr.splitlines()) == 1


def test_otlp_on_a_port_in_use_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("--source", "otlp", "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"apm-tui: error: cannot receive OTLP on 127.0.0.1:{port}: Address already in use; "
        "choose another with --listen HOST:PORT"
    )


def test_fail_under_is_exit_1_after_the_whole_report(tmp_path: Path) -> None:
    world = ("--hours", "2", "--traces", "200")
    done = run("report", "--json", *world, "--fail-under", "100")
    score = json.loads(done.stdout)["health"]["score"]  # the document is whole
    assert 0 < score < 100 and done.returncode == 1
    status = json.loads(done.stdout)["health"]["status"]
    assert done.stderr == f"apm-tui: health {score:.1f} ({status}) is under --fail-under 100\n"
    bar = f"{math.floor(score * 100) / 100:.2f}"  # at most the score: healthy
    text = run("report", *world, "--fail-under", bar)
    assert text.returncode == 0 and text.stderr == "" and "📊 SUMMARY:" in text.stdout
    assert run("report", *world, "--fail-under", f"{score + 0.01:.2f}").returncode == 1
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    none = run("report", "--log", str(empty), "--fail-under", "0")
    assert none.returncode == 1 and "📊 SUMMARY:" in none.stdout
    assert none.stderr.splitlines() == [
        f"{empty}: format not detected, 0 lines, 0 requests, 0 rejected",
        "apm-tui: no data to score the health (--fail-under)",
    ]


def test_report_on_a_log_with_a_route_rule() -> None:
    log = SHARED / "data" / "logs" / "apache_combined.log"
    rule = "^/presentations/[^/]+=>/presentations/{talk}"
    done = run("report", "--json", "--log", str(log), "--log-rule", rule)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    names = [e["name"] for e in doc["endpoints"]]
    assert any(n.startswith("/presentations/{talk}/") for n in names)
    assert not any(n.startswith("/presentations/logstash") for n in names)  # the talks' names
    counts = doc["log"]
    assert counts["lines"] == counts["parsed"] + counts["messages"] + counts["rejected"]
    assert doc["counts"]["requests"] == doc["log"]["parsed"]
    assert done.stderr.startswith(f"{log}: combined, ")


def test_report_on_a_log_counts_its_last_minute() -> None:
    """A log is read once: its last minute was never complete, so its requests were left out
    of the samples (haproxy.log: 10 of its 13 requests, throughput 0.05 req/s)."""
    done = run("report", "--json", "--log", str(SHARED / "data" / "logs" / "haproxy.log"))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["counts"]["requests"] == 13 and doc["counts"]["metrics"] == 2
    # From the first minute's sample (16:19) to the last request (16:20:14.317).
    assert doc["window"]["start"] == 1_551_111_540.0
    assert doc["window"]["end"] == 1_551_111_614.317
    assert doc["throughput_rps"]["avg"] == pytest.approx(13 / 120)


def test_text_report_names_each_endpoint_whole_or_marks_the_cut(tmp_path: Path) -> None:
    """Regression: names were cut bare at 27 characters (`/media/core/jquery/jquery-u`),
    which read as other paths."""
    done = run("report", "--log", str(SHARED / "data" / "logs" / "haproxy.log"))
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("/media/")]
    assert "/media/core/jquery/jquery-ui-1.12.1.js" in names and len(names) == 5

    long = "/" + "a" * 80
    log = tmp_path / "access.log"
    log.write_text(
        f'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET {long} HTTP/1.0" 200 2326 "-" "x"\n'
    )
    done = run("report", "--log", str(log))
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("/aaa"))
    assert row.split()[0] == long[:59] + "…"


def test_text_report_on_a_log_without_response_times_says_n_a_not_nan() -> None:
    done = run("report", "--log", str(SHARED / "data" / "logs" / "apache_combined.log"))
    assert done.returncode == 0, done.stderr
    assert "nan" not in done.stdout.lower().replace("nanosecond", "")
    row = next(line for line in done.stdout.splitlines() if line.startswith("/favicon.ico"))
    assert row.split()[1:6] == ["807", "n/a", "n/a", "n/a", "n/a"]
    assert row.split()[-1] == "n/a"  # its share of the time is unknown, not 0.0


def test_report_on_trace_files() -> None:
    traces = SHARED / "data" / "traces"
    done = run(
        "report", "--json", "--trace-file", str(traces / "zipkin_yelp.json"),
        "--trace-file", str(traces / "trace.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["counts"]["spans"] == 17 and doc["counts"]["traces"] == 2
    assert doc["source"] == "2 trace files"
    said = done.stderr.strip().splitlines()
    assert said == [
        f"{traces / 'zipkin_yelp.json'}: zipkin-v2, 16 spans in 1 trace",
        f"{traces / 'trace.json'}: otlp-json, 1 span in 1 trace",
    ]


def test_a_trace_in_two_trace_files_counts_once() -> None:
    """Regression: a file given twice (or a retry in the next rotated file) counted its
    requests once but its spans and DB calls twice."""
    yelp = str(SHARED / "data" / "traces" / "zipkin_yelp.json")
    once = json.loads(run("report", "--json", "--trace-file", yelp).stdout)
    done = run("report", "--json", "--trace-file", yelp, "--trace-file", yelp)
    assert done.returncode == 0, done.stderr
    twice = json.loads(done.stdout)
    assert twice["counts"] == once["counts"] and twice["counts"]["spans"] == 16
    assert twice["bottlenecks"] == once["bottlenecks"]
    assert done.stderr.strip().splitlines()[-1] == "16 spans also in an earlier file: counted once"


def test_report_refuses_a_log_and_trace_files_rather_than_leave_one_out() -> None:
    """`--log access.log --trace-file t.json` analysed the trace file and left the log out
    without a word (`--from` with either is refused already)."""
    traces, logs = SHARED / "data" / "traces", SHARED / "data" / "logs"
    done = run(
        "report", "--log", str(logs / "haproxy.log"), "--trace-file", str(traces / "trace.json")
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "apm-tui: error: --trace-file and --log: report reads one kind of input at a time; run "
        "it once for each\n"
    )


def test_a_trace_file_without_a_request_still_has_a_window() -> None:
    """Regression: its 4 spans were analysed but the window was null (only samples and
    requests counted; these spans have no server span to be a request)."""
    path = SHARED / "data" / "traces" / "otlp2jaeger-multi-in-combined.json"
    done = run("report", "--json", "--trace-file", str(path))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["counts"]["spans"] == 4 and doc["counts"]["requests"] == 0
    assert doc["window"] == {"start": 1_711_138_246.94, "end": pytest.approx(1_711_138_247.025)}
    text = run("report", "--trace-file", str(path)).stdout.splitlines()
    assert "No response-time data." in text  # was "Latency no response-time data; percentiles…"
    assert not [line for line in text if line.startswith("Latency")]


def test_a_source_of_ones_own(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "timestamp": 1767225600 + 60 * i,
                "response_time_ms": 80 + i % 5,
                "throughput_rps": 20,
                "error_rate_pct": 0.5,
                "queue_depth": i,
            }
        )
        for i in range(90)
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run(
        "report",
        "--json",
        "--source",
        "tests.unit.my_source:JsonLinesSource",
        env={"MY_METRICS_FILE": str(path)},
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["source"] == "jsonl" and doc["counts"]["metrics"] == 90
    assert doc["response_time_ms"]["basis"] == "samples"
    assert doc["custom_metrics"]["queue_depth"]["trend"] == "rising"
    assert doc["custom_metrics"]["queue_depth"]["peak"] == 89
    missing = run(
        "report",
        "--source",
        "tests.unit.my_source:JsonLinesSource",
        env={"MY_METRICS_FILE": str(tmp_path / "absent.jsonl")},
    )
    assert missing.returncode == 2 and "no metrics file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_readme_shows_the_example_source_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "tests" / "unit" / "my_source.py").read_text()
    assert example.split('"""', 2)[2].strip() in readme


def test_detect_command_scores_a_csv_and_bad_files_are_one_line(tmp_path: Path) -> None:
    series = tmp_path / "s.csv"
    rows = [f"2026-01-01 00:{i // 60:02d}:{i % 60:02d},{40 + (i % 7)}" for i in range(300)]
    series.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    out = tmp_path / "scores.csv"
    done = run("detect", str(series), "-o", str(out))
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,is_anomaly" and len(lines) == 301
    assert lines[-1].split(",")[2] != ""  # scored once warmed up
    for args, message in (
        (["detect", str(tmp_path / "none.csv")], "no such file"),
        (["detect", str(series), "--value-column", "cpu"], "no column named"),
        (["detect", str(series), "-o", "/dev/full"], "cannot write /dev/full"),
        (["detect", str(series), "-o", str(series)], "is the input file"),
    ):
        bad = run(*args)
        assert bad.returncode == 2 and message in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_replay_records_where_it_is_told(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Regression: `replay` had no --recordings-dir, so `r` in a replay always wrote to the
    default data folder."""
    from apm_tui import cli
    from apm_tui.commands import dashboard

    path = tmp_path / "r.apmrec"
    assert cli.main(["record", "-o", str(path), "--duration", "0.5", "--window", "0.1"]) == 0
    seen = {}
    monkeypatch.setattr(dashboard, "run_app", lambda opts, th, theme: seen.setdefault("o", opts))
    folder = str(tmp_path / "clips")
    assert cli.main(["replay", str(path), "--recordings-dir", folder]) is seen["o"]
    assert seen["o"].recordings_dir == folder and seen["o"].replay == str(path)


def test_a_logs_counts_on_stderr_say_one_line_not_one_lines() -> None:
    log = SHARED / "data" / "logs" / "combined_bad.log"
    done = run("report", "--log", str(log))
    assert done.returncode == 0
    assert done.stderr.splitlines()[0] == (
        f"{log}: combined, 3 lines, 2 requests, 1 rejected (does not match the format: 1 line)"
    )
