"""The `apm-tui` command: parses options, then hands off.

Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn

from apm_tui import __version__
from apm_tui.commands.report_png import DEFAULT_SIZE as PNG_SIZE
from apm_tui.config import ConfigError, Thresholds, load_config
from apm_tui.errors import EXIT_USAGE, ExportError, RecordingError, UsageError
from apm_tui.inputs import DURATION_UNITS
from apm_tui.memory import fixed_mmap_threshold
from apm_tui.printable import printable
from apm_tui.sources.base import Source, SourceError
from apm_tui.words import counted

if TYPE_CHECKING:
    from apm_tui.recording import Recording  # (numpy: loaded only by the commands that read one)

# Beyond this a synthetic world would not fit comfortably in memory (≈ 100 bytes a sample).
MAX_SAMPLES = 10_000_000
MAX_TRACES = 5_000_000
#: The live window: a week (and see `commands.dashboard.MAX_WINDOW_TICKS`).
MAX_WINDOW_HOURS = 168


class Parser(argparse.ArgumentParser):
    #: The subcommands' parsers by name (set on the top-level parser by `build_parser`).
    commands: Mapping[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block; one line naming the problem is easier to read
        # in a cron mail, and `--help` is there for the rest.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_float(text: str) -> float:
    value = number(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text[:20]}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def contamination(text: str) -> float:
    value = number(text)
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(
            f"must be in (0, 0.5] (the expected share of anomalies), got {text}"
        )
    return value


def bounded(low: float, high: float, unit: str) -> Callable[[str], float]:
    """A positive number from `low` to `high`: what a tick, a window or a world speed can be
    (1e308 seconds between ticks overflowed the clock; 1e-6 spun a core)."""

    def parse(text: str) -> float:
        value = positive_float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be from {low:g} to {high:g} {unit}, got {value:g}"
            )
        return value

    return parse


def health_score(text: str) -> float:
    value = number(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a health score from 0 to 100, got {text}")
    return value


def replay_speed(text: str) -> float:
    value = positive_float(text)
    if not 0.25 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be from 0.25 to 64, got {text}")
    return value


#: `report --png --size`: the dashboard needs 40×12 cells to draw its panels (it says
#: "terminal too small" below that); 500×200 is a 5000×4000-pixel picture.
PNG_MIN, PNG_MAX = (40, 12), (500, 200)


def grid_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"must be COLSxROWS, e.g. 160x50, got {text!r}")
    cols, rows = int(match[1]), int(match[2])
    if not (PNG_MIN[0] <= cols <= PNG_MAX[0] and PNG_MIN[1] <= rows <= PNG_MAX[1]):
        raise argparse.ArgumentTypeError(
            f"must be from {PNG_MIN[0]}x{PNG_MIN[1]} to {PNG_MAX[0]}x{PNG_MAX[1]} cells, got {text}"
        )
    return cols, rows


def add_world_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="synthetic",
        metavar="SPEC",
        help="synthetic (default) or module:Class for a source of your own",
    )
    p.add_argument(
        "--hours", type=positive_float, default=24.0, help="hours of synthetic history (default 24)"
    )
    p.add_argument(
        "--interval",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between metric samples (default 60)",
    )
    p.add_argument(
        "--traces",
        type=non_negative_int,
        default=1000,
        help="synthetic transaction traces (default 1000)",
    )
    p.add_argument("--seed", type=non_negative_int, default=42, help="random seed (default 42)")


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--apdex-t", type=positive_float, metavar="MS", help="Apdex threshold T in ms (default 100)"
    )
    p.add_argument(
        "--contamination",
        type=contamination,
        help="expected share of anomalies for IsolationForest (default 0.05)",
    )
    p.add_argument("--config", metavar="FILE", help="TOML file with a [thresholds] table")


#: The dashboard's built-in sources (`--source NAME`); anything else is `module:Class`.
SOURCE_NAMES = ("synthetic", "system", "log", "otlp")


def source_spec(text: str) -> str:
    if text in SOURCE_NAMES or ":" in text:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown source {text!r}: use {', '.join(SOURCE_NAMES)} or module:Class"
    )


def listen_address(text: str) -> str:
    from apm_tui.sources.otlp.source import parse_listen

    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_request_source_options(
    p: argparse.ArgumentParser, *, backlog: bool = True, listen: bool = True
) -> None:
    """Where `--source log` and `--source otlp` get their requests."""
    p.add_argument(
        "--log",
        action="append",
        metavar="PATH",
        help="a web server's access log for --source log (repeat for several)",
    )
    p.add_argument(
        "--log-format",
        default="auto",
        metavar="FORMAT",
        help="auto (default), combined, common, combined-rt, ingress-nginx, w3c, haproxy, "
        "or an nginx log_format string",
    )
    p.add_argument(
        "--log-rule",
        action="append",
        type=log_rule,
        dest="log_rules",
        metavar="REGEX=>ROUTE",
        help="group paths into an endpoint before the built-in rules, e.g. "
        "'^/u/[^/]+=>/u/{user}' (repeatable, applied in order)",
    )
    if backlog:
        p.add_argument(
            "--backlog",
            type=duration_s,
            default=900.0,
            metavar="DURATION",
            help="how much of a log's recent past to read first, e.g. 15m (default), 2h, 0",
        )
    if listen:
        p.add_argument(
            "--listen",
            type=listen_address,
            metavar="HOST:PORT",
            help="where --source otlp receives OTLP/HTTP (default 127.0.0.1:4318)",
        )


def log_rule(text: str) -> tuple[str, str]:
    """`REGEX=>REPLACEMENT`, a route rule for access logs (a bad regex is a usage error)."""
    pattern, sep, replacement = text.partition("=>")
    shown = f"'{printable(text)}'"  # as typed: a repr doubles every backslash of a regex
    if not sep or not pattern:
        raise argparse.ArgumentTypeError(f"{shown}: write a rule as REGEX=>ROUTE")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"{shown}: bad regular expression: {exc}") from None
    try:
        # `sub` reads the whole template before it looks for a match, so a group the regex
        # lacks (\2, \g<name>) or a bad escape fails here, not on the first matching path.
        compiled.sub(replacement, "")
    except (re.error, IndexError) as exc:
        raise argparse.ArgumentTypeError(f"{shown}: bad route template: {exc}") from None
    return pattern, replacement


def duration_s(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d` → seconds."""
    number, unit = text.strip()[:-1], text.strip()[-1:]
    if unit.isdigit() or unit == ".":
        number, unit = text.strip(), ""
    bad = argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90s, 15m, 2h)")
    try:
        value = float(number) * DURATION_UNITS[unit.lower()]
    except (ValueError, KeyError):
        raise bad from None
    if not math.isfinite(value) or value < 0:
        raise bad
    return value


def add_dashboard_options(p: argparse.ArgumentParser, *, live: bool = True) -> None:
    p.add_argument(
        "--source",
        action="append",
        type=source_spec,
        metavar="SPEC",
        help="synthetic (default), system (this host via psutil), log (access logs), "
        "otlp (OpenTelemetry traces) or module:Class; repeat to combine",
    )
    p.add_argument("--pid", type=non_negative_int, help="also follow this process")
    p.add_argument(
        "--interval",
        type=bounded(0.1, 86_400, "seconds"),
        default=1.0,
        metavar="SECONDS",
        help="seconds between ticks, 0.1 to 86400 (default 1)",
    )
    p.add_argument("--seed", type=non_negative_int, default=42, help="synthetic seed")
    p.add_argument(
        "--speed",
        type=bounded(0.01, 3600, "simulated seconds a second"),
        default=60.0,
        help="synthetic time compression: simulated seconds per second, up to 3600 (default 60)",
    )
    p.add_argument(
        "--window",
        type=bounded(0.01, MAX_WINDOW_HOURS, "hours"),
        default=24.0,
        metavar="HOURS",
        help=f"hours of data the rolling window keeps, up to {MAX_WINDOW_HOURS} (default 24)",
    )
    # `record` reads a log whole, then follows it; the dashboard reads its recent past.
    add_request_source_options(p, backlog=live)
    if live:  # the live dashboard's own options (not `record`'s)
        p.add_argument("--theme", help="a Textual theme, e.g. nord or gruvbox")
        p.add_argument("--record", metavar="FILE", help="also record every tick to FILE")
        add_recordings_option(p)
        add_screenshots_option(p)


def add_recordings_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--recordings-dir",
        metavar="DIR",
        help="where the r key records (default $XDG_DATA_HOME/apm-tui/recordings, "
        "else ~/.local/share/apm-tui/recordings)",
    )


def add_screenshots_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--screenshots-dir",
        metavar="DIR",
        help="where the s key saves PNG screenshots (default: the current folder)",
    )


def build_parser() -> Parser:
    parser = Parser(
        prog="apm-tui",
        description="Application Performance Monitoring in the terminal. "
        "With no command: the live dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"apm-tui {__version__}")
    add_dashboard_options(parser)
    add_analysis_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    parser.commands = sub.choices
    report = sub.add_parser(
        "report",
        help="print the whole analysis (text, or --json)",
        description="Analyse a source's data and print the report.",
    )
    add_world_options(report)
    add_analysis_options(report)
    add_request_source_options(report, backlog=False, listen=False)
    report.add_argument(
        "--trace-file",
        action="append",
        dest="trace_files",
        metavar="FILE",
        help="analyse trace files (OTLP JSON or protobuf, Zipkin v2, Jaeger JSON); repeatable",
    )
    report.add_argument("--json", action="store_true", help="print one JSON document")
    report.add_argument(
        "--fail-under",
        type=health_score,
        metavar="SCORE",
        help="exit with status 1 (after the report) when the health score is under SCORE or "
        "there is no data to score: a check for cron and CI",
    )
    report.add_argument(
        "--png",
        metavar="FILE",
        help="also draw the dashboard over the report's data and save it as a PNG",
    )
    report.add_argument(
        "--size",
        type=grid_size,
        metavar="COLSxROWS",
        help=f"the --png picture's size in terminal cells (default {PNG_SIZE[0]}x{PNG_SIZE[1]})",
    )
    report.add_argument(
        "--from",
        dest="from_files",
        action="append",
        metavar="FILE",
        help="analyse a recording (apm-tui record / --record) instead of a source",
    )
    record = sub.add_parser(
        "record",
        help="record the sources to a file, with no UI (servers, cron, systemd)",
        description="Poll the sources every --interval and write each tick to a recording "
        "until --duration seconds pass, Ctrl-C or SIGTERM.",
    )
    add_dashboard_options(record, live=False)
    add_analysis_options(record)
    record.add_argument("-o", "--output", required=True, metavar="FILE", help="the new recording")
    record.set_defaults(backlog=math.inf)  # no --backlog: a log is read whole, then followed
    record.add_argument(
        "--duration", type=positive_float, metavar="SECONDS", help="stop after this long"
    )
    replay = sub.add_parser(
        "replay",
        help="replay a recording through the dashboard",
        description="Open the dashboard on a recording: the same panels and analysis, fed by "
        "the recorded ticks (+ / - change the speed).",
    )
    replay.add_argument("recording", metavar="FILE")
    replay.add_argument(
        "--speed",
        type=replay_speed,
        default=1.0,
        help="recorded seconds per second, 0.25 to 64 (default 1)",
    )
    replay.add_argument("--theme", help="a Textual theme, e.g. nord or gruvbox")
    add_recordings_option(replay)  # `r` records what the replay shows
    add_screenshots_option(replay)
    add_analysis_options(replay)
    export = sub.add_parser(
        "export",
        help="write a recording's samples and spans as CSV",
        description="Write FILE's metric samples to DIR/metrics.csv and its spans to "
        "DIR/spans.csv.",
    )
    export.add_argument("recording", metavar="FILE")
    export.add_argument("--csv", required=True, metavar="DIR", help="folder for the CSV files")
    detect = sub.add_parser(
        "detect",
        help="score a CSV time series with the dashboard's streaming detector",
        description="Score each row of a CSV time series causally (only from the rows before "
        "it) and write timestamp,value,anomaly_score,is_anomaly.",
    )
    detect.add_argument("series", metavar="SERIES.csv")
    detect.add_argument("--timestamp-column", default="timestamp")
    detect.add_argument("--value-column", default="value")
    detect.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    return parser


def thresholds_from(args: argparse.Namespace, recording: Recording | None = None) -> Thresholds:
    """A --config file's thresholds, else those `recording` was recorded with (so a replay or
    report judges its data as the live view did), else the defaults; then --apdex-t and
    --contamination over them."""
    if args.config is not None:
        th = load_config(args.config)
    else:
        th = (recording.thresholds() if recording is not None else None) or Thresholds()
    return th.with_(apdex_t_ms=args.apdex_t, contamination=args.contamination)


#: `report`'s options for the sources other than a recording, as (dest, flag).
OTHER_SOURCE_OPTIONS = (
    ("source", "--source"),
    ("log", "--log"),
    ("log_format", "--log-format"),
    ("log_rules", "--log-rule"),
    ("trace_files", "--trace-file"),
    ("hours", "--hours"),
    ("interval", "--interval"),
    ("traces", "--traces"),
    ("seed", "--seed"),
)


def marked(parser: argparse.ArgumentParser, dests: Sequence[str]) -> object:
    """Give these options of `parser` a fresh marker as their default, and return it: parsed
    again, an option still at the marker was not given (at its default value, it was). An
    option whose default is None — the repeatable ones — keeps it: unset while None."""
    unset = object()
    parser.set_defaults(**{d: unset for d in dests if parser.get_default(d) is not None})
    return unset


def check_from_alone(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """`report --from` analyses one recording as it was recorded: another source's options
    given beside it (or a second --from) would be ignored, so they are refused. Given, not
    different from their defaults: the command line is parsed again with a marker for them."""
    if not args.from_files:
        return
    if len(args.from_files) > 1:
        raise UsageError("--from takes one recording: report on each file in turn")
    if not args.from_files[0]:
        raise UsageError("--from needs a recording's file name (it was empty)")
    probe = build_parser()
    unset = marked(probe.commands["report"], [d for d, _ in OTHER_SOURCE_OPTIONS])
    again = vars(probe.parse_args(argv))
    given = [flag for dest, flag in OTHER_SOURCE_OPTIONS if again[dest] not in (unset, None)]
    if given:
        listed = given[0] if len(given) == 1 else f"{', '.join(given[:-1])} and {given[-1]}"
        raise UsageError(
            f"--from analyses a recording as it was recorded: {listed} "
            f"{'is' if len(given) == 1 else 'are'} for other sources; leave "
            f"{'it' if len(given) == 1 else 'them'} out"
        )


def check_nothing_before(command: str, argv: Sequence[str]) -> None:
    """`apm-tui --seed 7 report`: argparse gives a command its own defaults over the options
    before it, so those would be dropped in silence; they are refused. Found as
    `check_from_alone` finds options: the top-level options parsed again with a marker for
    each, the command and what follows it taken whole."""
    probe = Parser(prog="apm-tui", add_help=False)
    add_dashboard_options(probe)
    add_analysis_options(probe)
    unset = marked(probe, [a.dest for a in probe._actions])
    probe.add_argument("rest", nargs=argparse.REMAINDER)
    found, _ = probe.parse_known_args(argv)
    given = [
        a.option_strings[-1]
        for a in probe._actions
        if a.option_strings and getattr(found, a.dest) not in (unset, None)
    ]
    if given:
        raise UsageError(
            f"{given[0]} was given before the command {command!r}: a command's options go "
            f"after it (apm-tui {command} {given[0]} …)"
        )


def make_source(args: argparse.Namespace) -> Source:
    from apm_tui.sources import load_user_source
    from apm_tui.sources.synthetic import SyntheticSource, WorldSettings

    if args.trace_files and args.log:  # the trace files alone were read, the log left out
        raise UsageError(
            "--trace-file and --log: report reads one kind of input at a time; run it once for each"
        )
    if args.from_files:
        from apm_tui.sources.recorded import RecordedSource

        return RecordedSource(args.from_files[0])
    if args.trace_files:
        return trace_files_source(args.trace_files)
    if args.log and args.source in ("synthetic", "log"):  # `--log FILE` alone means the log
        from apm_tui.sources.logs import LogSource
        from apm_tui.sources.samples import RequestSamples

        log = LogSource(
            args.log, fmt=args.log_format, follow=False, rules=tuple(args.log_rules or ())
        )
        # Per-minute samples of the requests, so the anomaly detector has something to score.
        return RequestSamples(log)
    if args.source == "log":
        raise UsageError("--source log needs --log PATH (the access log to read)")
    if args.log:
        raise UsageError("--log is for --source log: add it, or leave --source out")
    if args.source in ("otlp", "system"):
        raise UsageError(
            f"report reads data already collected; --source {args.source} is live: record it "
            "with apm-tui record, then report --from FILE (or --trace-file for trace files)"
        )

    if args.source == "synthetic":
        samples = args.hours * 3600 / args.interval
        if samples > MAX_SAMPLES:
            raise UsageError(
                f"--hours {args.hours:g} at --interval {args.interval:g} is "
                f"{count(samples)} samples; the limit is {MAX_SAMPLES:,}"
            )
        if samples < 1:
            raise UsageError(f"--hours {args.hours:g} is shorter than one --interval")
        if args.traces > MAX_TRACES:
            raise UsageError(f"--traces {count(args.traces)} is over the limit of {MAX_TRACES:,}")
        return SyntheticSource(
            WorldSettings(
                seed=args.seed, hours=args.hours, interval_s=args.interval, traces=args.traces
            )
        )
    return load_user_source(args.source)


def count(n: float) -> str:
    """A count for an error line: digits grouped, or a short 8.64e+304 when the digits would
    fill the line (`--interval 1e-300` made a 600-character one)."""
    return f"{n:,.0f}" if n < 1e15 else f"{Decimal(n):.3g}"  # Decimal: an int past float's range


def trace_files_source(paths: list[str]) -> Source:
    """Trace files as one source: every file's spans, each file's reading said on stderr."""
    from apm_tui.model import Batch, Table
    from apm_tui.sources.batch import BatchSource
    from apm_tui.sources.otlp.files import once_each, read_trace_file

    tables = []
    for path in paths:
        table, stats = read_trace_file(path)  # a TraceFileError is a SourceError: one line
        rejected = f", {stats.rejected:,} rejected ({stats.reason})" if stats.rejected else ""
        print(
            f"{path}: {stats.format}, {counted(stats.spans, 'span')} in "
            f"{counted(stats.traces, 'trace')}{rejected}",
            file=sys.stderr,
        )
        tables.append(table)
    from apm_tui.sources.samples import RequestSamples

    spans, again = once_each(Table.concat(tables))
    if again:
        print(f"{counted(again, 'span')} also in an earlier file: counted once", file=sys.stderr)
    name = paths[0] if len(paths) == 1 else f"{len(paths)} trace files"
    return RequestSamples(BatchSource(Batch(spans=spans), name))


_NEGATIVE = re.compile(r"-\.?\d")


def glued(argv: Sequence[str]) -> list[str]:
    """`--backlog -5m` as `--backlog=-5m`. argparse reads a value that starts with "-" and is
    not a plain number as another option, and said "expected one argument"; glued, the
    option's own check says what is wrong ("'-5m' is not a duration")."""
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    fixed_mmap_threshold()
    parser = build_parser()
    argv = glued(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        if args.command:
            check_nothing_before(args.command, argv)
        if args.command == "detect":
            from apm_tui.commands import detect as detect_command

            try:
                return detect_command.run(
                    args.series, args.timestamp_column, args.value_column, args.output
                )
            except detect_command.DetectError as exc:
                raise UsageError(str(exc)) from None
        if args.command == "report":
            from apm_tui.commands import report

            if args.size and not args.png:
                raise UsageError("--size is the --png picture's size: give --png FILE too")
            check_from_alone(args, argv)
            source = make_source(args)
            from apm_tui.sources.recorded import RecordedSource

            recording = source.recording if isinstance(source, RecordedSource) else None
            return report.run(args, thresholds_from(args, recording), source)
        if args.command == "replay":
            from apm_tui.commands import dashboard

            return dashboard.replay(args, lambda recording: thresholds_from(args, recording))
        if args.command == "export":
            from apm_tui.commands import export

            return export.run(args.recording, args.csv)
        if args.command == "record":
            from apm_tui.commands import record

            return record.run(args, thresholds_from(args))
        from apm_tui.commands import dashboard

        return dashboard.run(args, thresholds_from(args))
    except (UsageError, ConfigError, SourceError, RecordingError, ExportError) as exc:
        print(f"apm-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`apm-tui detect x.csv | head`): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
