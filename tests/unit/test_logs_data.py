"""Every real log in the shared data folder: detected, fully accounted for, mostly parsed.

The reference counts come from simple per-line checks written here, independent of the parser's
regexes (csv for W3C's quoting), so the parser is compared with a second opinion.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from apm_tui.sources.logs import read_log
from tests.conftest import SHARED

LOGS = SHARED / "data" / "logs"
FILES = sorted(LOGS.glob("*.log")) if LOGS.is_dir() else []
needs_data = pytest.mark.skipif(not FILES, reason=f"no shared data at {LOGS}")

FORMAT = {
    "apache_combined.log": "combined",
    "combined_bad.log": "combined",
    "combined_small_0.log": "combined",
    "combined_small_1.log": "combined",
    "haproxy.log": "haproxy",
    "ingress_nginx.log": "ingress-nginx",
}
#: Files of good lines only (the others are there to be rejected in part).
KNOWN_GOOD = {
    "apache_combined.log",
    "combined_small_0.log",
    "combined_small_1.log",
    "ingress_nginx.log",
    "w3c_0.log",
    "w3c_1.log",
    "w3c_3.log",
    "w3c_4.log",
    "w3c_6.log",
}

_COMBINED = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" \d{3} (\d+|-) "[^"]*" "[^"]*"$')
_INGRESS = re.compile(
    r'^\S+ - \S+ \[[^\]]+\] "[^"]*" \d{3} \d+ "[^"]*" "[^"]*" \d+ [\d.]+ \[.*[0-9a-f]{32}$'
)
_HAPROXY = re.compile(
    r'\[\d\d/\w{3}/\d{4}:[\d:.]+\] \S+ \S+/\S+ [-+\d/]+ \d{3} \d+ .* "\w+ \S+ HTTP/[\d.]+"$'
)


def lines_of(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", "replace").splitlines()


def w3c_reference(path: Path) -> tuple[int, int]:
    """(data lines, lines a W3C reader should take): field count as #Fields says, a status."""
    fields: list[str] = []
    data = good = 0
    for line in lines_of(path):
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                fields = line.split(":", 1)[1].split()
            continue
        if not line.strip():
            continue
        data += 1
        values = next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
        if fields and len(values) == len(fields):
            row = dict(zip(fields, values, strict=True))
            # "-" or "" is a request whose server logged no status (w3c_4.log's Incapsula line)
            status = row.get("sc-status", "200")
            status_ok = bool(re.fullmatch(r"\d{3}|-|", status))
            # IIS logs FTP in this format too (w3c_2.log): `[2]USER` is not an HTTP method.
            method = row.get("cs-method", "GET")
            good += status_ok and (method == "-" or bool(re.fullmatch(r"[A-Z][A-Z-]*", method)))
    return data, good


def reference(path: Path) -> tuple[int, int]:
    """(lines, lines that should parse) for a file, by a simple check of each line."""
    if path.name.startswith("w3c"):
        return w3c_reference(path)
    lines = [ln for ln in lines_of(path) if ln.strip()]
    check = {"haproxy": _HAPROXY, "ingress-nginx": _INGRESS}.get(FORMAT[path.name], _COMBINED)
    good = sum(1 for ln in lines if check.search(ln) or (check is _COMBINED and '"-" 400' in ln))
    return len(lines), good


@needs_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_line_is_parsed_a_message_or_rejected(path: Path) -> None:
    table, stats = read_log(path)
    lines, good = reference(path)
    assert stats.parsed + stats.messages + stats.rejected == stats.lines == lines
    assert stats.parsed == good == len(table), stats.examples
    assert sum(stats.reasons.values()) == stats.rejected
    if path.name in KNOWN_GOOD:
        assert stats.parsed >= 0.9 * lines
    if len(table):
        assert np.isfinite(table["start"]).all()
        assert (table["start"] > 9e8).all() and (table["start"] < 1.8e9).all()


@needs_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_auto_detection_picks_the_format(path: Path) -> None:
    _, stats = read_log(path)
    assert stats.format == FORMAT.get(path.name, "w3c")


@needs_data
def test_known_values_from_the_real_files() -> None:
    table, _ = read_log(LOGS / "ingress_nginx.log")
    assert table["operation"][1] == "GET /products/{id}"
    assert table["duration_ms"][1] == 1.0
    assert int(table["error"].sum()) == 2  # the two 502s
    table, stats = read_log(LOGS / "haproxy.log")
    # three "Proxy … started" lines and an SSL handshake failure: HAProxy's own, not rejects
    assert (stats.parsed, stats.messages, stats.rejected) == (13, 4, 0)
    assert table["duration_ms"][0] == 1487.0
    table, _ = read_log(LOGS / "w3c_3.log")
    assert table["duration_ms"].tolist() == [109.0, 0.0, 359.0]
    assert table["attributes"][2]["http.response.status_code"] == 404
    _, stats = read_log(LOGS / "combined_bad.log")
    assert (stats.parsed, stats.rejected) == (2, 1)
