"""Access logs → requests: each format on hand-written lines, detection, routes, bad input."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from apm_tui.analysis.requests import extract_requests
from apm_tui.sources.base import SourceError
from apm_tui.sources.clock import OUT_OF_RANGE
from apm_tui.sources.logs import (
    LogParser,
    RouteNormaliser,
    compile_nginx,
    detect,
    get_format,
    normalise,
    read_log,
)
from apm_tui.sources.logs.parser import decimal_column
from apm_tui.sources.logs.source import service_name
from apm_tui.sources.logs.stats import (
    BAD_TIME,
    FIELD_COUNT,
    NO_FIELDS,
    NO_MATCH,
    NOT_HTTP,
    TOO_LONG,
)


def utc(*args: int, ms: int = 0, tz: timezone = UTC) -> float:
    return (datetime(*args, tzinfo=tz) + timedelta(milliseconds=ms)).timestamp()  # type: ignore[misc]


def write(tmp_path: Path, text: str | bytes, name: str = "access.log") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def one(tmp_path: Path, line: str, fmt: str = "auto") -> dict[str, object]:
    """The single request a one-line log gives, as plain values."""
    table, stats = read_log(write(tmp_path, line + "\n"), fmt)
    assert (len(table), stats.parsed, stats.rejected) == (1, 1, 0), stats.examples
    attrs = table["attributes"][0]
    return {
        "format": stats.format,
        "start": float(table["start"][0]),
        "duration_ms": float(table["duration_ms"][0]),
        "operation": table["operation"][0],
        "route": attrs["http.route"],
        "method": attrs["http.request.method"],
        "status": attrs["http.response.status_code"],
        "bytes": float(table["bytes"][0]),
        "error": bool(table["error"][0]),
    }


# -- each format, exact values ---------------------------------------------------------------
def test_combined_apache_example(tmp_path: Path) -> None:
    # The example line of Apache's log documentation.
    got = one(
        tmp_path,
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
    )
    assert got["format"] == "combined"
    assert got["start"] == utc(2000, 10, 10, 20, 55, 36)
    assert np.isnan(got["duration_ms"])  # type: ignore[arg-type]
    assert (got["method"], got["route"], got["status"], got["bytes"]) == (
        "GET",
        "/apache_pb.gif",
        200,
        2326.0,
    )
    assert got["operation"] == "GET /apache_pb.gif" and got["error"] is False


def test_common_log_format(tmp_path: Path) -> None:
    got = one(tmp_path, '10.0.0.1 - - [01/Jan/2026:00:00:05 +0000] "POST /login HTTP/1.1" 503 -')
    assert got["format"] == "common"
    assert got["start"] == utc(2026, 1, 1, 0, 0, 5)
    assert (got["method"], got["route"], got["status"]) == ("POST", "/login", 503)
    assert np.isnan(got["bytes"]) and got["error"] is True  # type: ignore[arg-type]


def test_combined_with_request_time_starts_before_it_was_logged(tmp_path: Path) -> None:
    got = one(
        tmp_path,
        '10.0.0.1 - - [01/Jan/2026:12:00:00 +0100] "GET /api/users/42?tab=1 HTTP/1.1" 200 512 '
        '"-" "curl/8.5.0" 0.250',
    )
    assert got["format"] == "combined-rt"
    # nginx logs when the response is sent: the request started 250 ms earlier.
    assert got["start"] == utc(2026, 1, 1, 11, 0, 0) - 0.25
    assert got["duration_ms"] == 250.0
    assert (got["method"], got["route"], got["operation"]) == (
        "GET",
        "/api/users/{id}",
        "GET /api/users/{id}",
    )


def test_ingress_nginx_line_with_two_upstreams(tmp_path: Path) -> None:
    got = one(
        tmp_path,
        '192.168.64.14 - - [07/Feb/2020:12:02:42 +0000] "GET /v2/some HTTP/1.1" 200 61 "-" '
        '"Mozilla/5.0" 348 0.101 [default-web2-8080] [] 172.17.0.6:8080, 172.17.0.7:8080 61, 100 '
        "0.100, 0.004 200, 203 835136ae24486dbb4156dcbe21f5d402",
    )
    assert got["format"] == "ingress-nginx"
    assert got["duration_ms"] == 101.0
    assert got["start"] == utc(2020, 2, 7, 12, 2, 42) - 0.101
    assert (got["route"], got["status"], got["bytes"]) == ("/v2/some", 200, 61.0)


def test_haproxy_http_log_times_from_the_accept_date(tmp_path: Path) -> None:
    got = one(
        tmp_path,
        "Feb 25 16:19:49 192.168.4.2 haproxy[7]: 141.35.244.171:53332 [25/Feb/2019:16:19:48.143] "
        "prod_http_in~ bk_admin/nginx_sonst 0/0/7/1457/1487 502 11394 - - ---- 2/1/0/0/0 0/0 "
        '{Mozilla/5.0} {} "GET /admin/colt/administration?survey=130 HTTP/1.1"',
    )
    assert got["format"] == "haproxy"
    assert got["start"] == utc(2019, 2, 25, 16, 19, 48, ms=143)  # the accept date is the start
    assert got["duration_ms"] == 1487.0  # Ta, the last timer
    assert (got["route"], got["status"], got["error"]) == ("/admin/colt/administration", 502, True)


def test_haproxy_without_syslog_header_and_aborted_timer(tmp_path: Path) -> None:
    got = one(
        tmp_path,
        "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/-1/+40 200 2750 "
        '- - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"',
        "haproxy",
    )
    assert got["duration_ms"] == 40.0  # "+40": logged early (option logasap), still the total
    assert got["start"] == utc(2009, 2, 6, 12, 14, 14, ms=655)


def test_haproxy_own_lines_are_messages_not_rejects(tmp_path: Path) -> None:
    """HAProxy's notices, a failed TLS handshake and a TCP frontend's record are counted as the
    server's messages; a cut HTTP line and a stranger's line are still rejected."""
    tag = "Feb 25 16:19:38 192.168.4.2 haproxy[7]: "
    client = "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] "
    http = (
        client + "http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "
        '"GET /index.html HTTP/1.1"'
    )
    lines = [
        tag + "Proxy prod_http_in started.",
        tag + "Server bk_app/app1 is DOWN, reason: Layer4 timeout.",
        "[WARNING]  (8) : Server bk/s1 is DOWN, reason: Layer4 connection problem",
        tag + client + "prod_http_in/sktst2: SSL handshake failure",
        tag + client + "ssh_frnt bk_git/git1 0/0/5007 212 -- 0/0/0/0/3 0/0",
        tag + http,
        http,
        tag + http[:90],  # an HTTP line cut short
        "not a log line at all",
    ]
    table, stats = read_log(write(tmp_path, "\n".join(lines) + "\n"), "haproxy")
    assert (len(table), stats.parsed, stats.messages, stats.rejected) == (2, 2, 5, 2)
    assert stats.lines == len(lines)
    assert stats.reasons == {NO_MATCH: 2}


W3C = """#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2024-03-01 00:00:00
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip sc-status sc-bytes time-taken
2024-03-01 10:00:01 10.0.0.1 GET /orders/7 - 443 1.2.3.4 200 1234 15
2024-03-01 10:00:02 10.0.0.1 POST /orders - 443 1.2.3.4 500 99 1200
#Fields: time cs-method cs-uri-stem sc-status
10:00:03 GET /health 200
"""


def test_w3c_fields_time_taken_and_a_new_fields_header(tmp_path: Path) -> None:
    table, stats = read_log(write(tmp_path, W3C))
    assert stats.format == "w3c"
    assert (stats.parsed, stats.rejected, stats.skipped) == (3, 0, 5)
    assert table["operation"].tolist() == ["GET /orders/{id}", "POST /orders", "GET /health"]
    # W3C logs when the transaction completed: start = time - time-taken (ms).
    assert table["start"][0] == utc(2024, 3, 1, 10, 0, 1) - 0.015
    assert table["start"][1] == utc(2024, 3, 1, 10, 0, 2) - 1.2
    assert table["duration_ms"][:2].tolist() == [15.0, 1200.0]
    assert table["bytes"][:2].tolist() == [1234.0, 99.0]
    assert table["error"].tolist() == [False, True, False]
    # The second #Fields has no date: the #Date directive's date is used; no duration.
    assert table["start"][2] == utc(2024, 3, 1, 10, 0, 3)
    assert np.isnan(table["duration_ms"][2]) and not stats.times_missing


def test_w3c_without_any_time_uses_the_read_time_and_says_so(tmp_path: Path) -> None:
    log = "#Fields: cs-method cs-uri-stem sc-status\nGET /a 200\nGET /b 404\nGET /a 500\n"
    table, stats = read_log(write(tmp_path, log), now=1_700_000_000.0)
    assert stats.times_missing
    assert table["start"].tolist() == [1_700_000_000.0] * 3
    assert table["error"].tolist() == [False, False, True]  # status mix and errors still work
    assert stats.as_status()["times_missing"] is True


def test_w3c_rejects_count_their_reasons(tmp_path: Path) -> None:
    log = "GET /x 200\n#Fields: cs-method cs-uri-stem sc-status\nGET /a 200 extra\nGET /b 200\n"
    _, stats = read_log(write(tmp_path, log), "w3c")
    assert (stats.parsed, stats.rejected, stats.skipped) == (1, 2, 1)
    assert stats.reasons == {NO_FIELDS: 1, FIELD_COUNT: 1}


def test_w3c_lines_whose_method_is_not_http_are_rejected(tmp_path: Path) -> None:
    """IIS writes its FTP log in W3C format too: `[2]USER anonymous` became a request to the
    endpoint `anonymous`, and `PASS user@domain.com` (a password's field) another."""
    log = (
        "#Fields: cs-method cs-uri-stem sc-status\n"
        "[2]USER anonymous 331\n[3]PASS user@domain.com 230\n[3]sent /user/test.c 226\n"
        "GET /a 200\nPROPFIND /dav 207\nM-SEARCH * 200\n- /b 400\n"
    )
    table, stats = read_log(write(tmp_path, log), "w3c", now=1_700_000_000.0)
    assert (stats.parsed, stats.rejected) == (4, 3)
    assert stats.reasons == {NOT_HTTP: 3}
    assert stats.examples[0] == f"{NOT_HTTP}: [2]USER | anonymous | 331"
    methods = [a["http.request.method"] for a in table["attributes"]]
    assert methods == ["GET", "PROPFIND", "M-SEARCH", "-"]


def test_bare_w3c_times_go_on_to_the_next_day_past_midnight(tmp_path: Path) -> None:
    """Regression: with `time` and no `date`, every line took the `#Date:` day, so the lines
    written after midnight were dated almost a day before the ones just before them."""
    log = (
        "#Date: 2000-10-09 23:59:00\n#Fields: time cs-method cs-uri-stem sc-status\n"
        "23:59:58 GET /a 200\n23:59:57 GET /a 200\n00:00:01 GET /a 200\n"
        "bad GET /a 200\n13:00:00 GET /a 200\n00:00:03 GET /a 200\n"
        "#Date: 2000-10-20 08:00:00\n08:00:01 GET /a 200\n"
    )
    table, stats = read_log(write(tmp_path, log), "w3c")
    assert stats.rejected == 1  # the bad time, which neither counts as a day nor stops one
    day = datetime(2000, 10, 9, tzinfo=UTC).timestamp()
    assert (table["start"] - day).tolist() == [
        86_398, 86_397, 86_401, 86_400 + 46_800, 2 * 86_400 + 3, 11 * 86_400 + 8 * 3_600 + 1,
    ]  # fmt: skip
    # A file started just before midnight whose first line is just after: the next day.
    log = "#Date: 2000-10-09 23:59:58\n#Fields: time cs-method cs-uri-stem sc-status\n"
    table, _ = read_log(write(tmp_path, log + "00:00:01 GET /a 200\n", "b.log"), "w3c")
    assert (table["start"] - day).tolist() == [86_401]


def test_rows_rejected_for_their_values_give_up_to_five_examples(tmp_path: Path) -> None:
    """Regression: a block's rows with bad times (or methods, or out of range) gave one
    example between them, where the stats keep the first five rejected lines."""
    log = "".join(
        f'1.2.3.4 - - [{day}/Jan/2024:00:00:00 +0000] "GET /bad{day} HTTP/1.1" 200 10\n'
        for day in range(32, 41)
    )
    _, stats = read_log(write(tmp_path, log), "common")
    assert stats.rejected == stats.reasons[BAD_TIME] == 9
    assert [e.split(" | ")[1] for e in stats.examples] == [f"GET /bad{d}" for d in range(32, 37)]


def test_a_custom_nginx_log_format(tmp_path: Path) -> None:
    fmt = (  # the brief's example, as it would be written in nginx.conf
        '\'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        "$request_time'"
    )
    got = one(
        tmp_path,
        '10.1.1.1 - bob [01/Jan/2026:00:00:10 +0000] "DELETE /items/550e8400-e29b-41d4-a716-'
        '446655440000 HTTP/2.0" 204 0 1.500',
        fmt,
    )
    assert got["format"] == "custom"
    assert got["start"] == utc(2026, 1, 1, 0, 0, 10) - 1.5
    assert (got["method"], got["route"], got["status"], got["duration_ms"]) == (
        "DELETE",
        "/items/{uuid}",
        204,
        1500.0,
    )


def test_custom_format_with_iso_time_method_and_uri(tmp_path: Path) -> None:
    fmt = "$time_iso8601 $request_method $request_uri $status $request_time $upstream_addr"
    got = one(
        tmp_path,
        "2026-01-01T10:00:00+02:00 PUT /carts/9?add=1 201 0.004 10.0.0.5:80, 10.0.0.6:80",
        fmt,
    )
    assert got["start"] == utc(2026, 1, 1, 8, 0, 0) - 0.004
    assert (got["operation"], got["status"]) == ("PUT /carts/{id}", 201)


def test_custom_format_with_msec(tmp_path: Path) -> None:
    got = one(tmp_path, '1767225600.125 "GET / HTTP/1.1" 200', '$msec "$request" $status')
    assert got["start"] == 1767225600.125 and got["route"] == "/"


def test_bad_log_formats_are_source_errors() -> None:
    with pytest.raises(SourceError, match="unknown log format"):
        get_format("apache2")
    with pytest.raises(SourceError, match="no request"):
        compile_nginx("$remote_addr $status")
    assert get_format("nginx") is get_format("combined")  # aliases


# -- the spans table -------------------------------------------------------------------------
LINES = [
    '1.1.1.1 - - [01/Jan/2026:00:00:01 +0000] "GET /u/1 HTTP/1.1" 200 5 "-" "a" 0.010',
    '1.1.1.1 - - [01/Jan/2026:00:00:02 +0000] "GET /u/2 HTTP/1.1" 200 5 "-" "a" 0.020',
    '1.1.1.1 - - [01/Jan/2026:00:00:03 +0000] "GET /u/3 HTTP/1.1" 500 5 "-" "a" 0.030',
    # the clock stepped back: kept, in file order
    '1.1.1.1 - - [01/Jan/2026:00:00:00 +0000] "POST /u HTTP/1.1" 201 5 "-" "a" 0.040',
]


def test_requests_are_server_root_spans_with_shared_attributes(tmp_path: Path) -> None:
    table, _ = read_log(write(tmp_path, "\n".join(LINES) + "\n", "shop.access.log"))
    assert len(set(table["trace_id"].tolist())) == 4 == len(set(table["span_id"].tolist()))
    assert set(table["parent_id"].tolist()) == {""}
    assert set(table["kind"].tolist()) == {"server"}
    assert set(table["service"].tolist()) == {"shop.access"}
    attrs = table["attributes"]
    assert attrs[0] is attrs[1]  # one dict per (route, method, status)
    assert attrs[0] is not attrs[2] and attrs[2]["http.response.status_code"] == 500
    assert table["start"].tolist() == [
        utc(2026, 1, 1, 0, 0, 1) - 0.01,
        utc(2026, 1, 1, 0, 0, 2) - 0.02,
        utc(2026, 1, 1, 0, 0, 3) - 0.03,
        utc(2026, 1, 1, 0, 0, 0) - 0.04,
    ]
    requests = extract_requests(table)  # what the analysis sees
    assert len(requests) == 4
    assert requests.endpoint.tolist() == ["/u/{id}", "/u/{id}", "/u/{id}", "/u"]
    assert requests.error.tolist() == [False, False, True, False]


def test_two_parsers_never_share_an_id(tmp_path: Path) -> None:
    a, _ = read_log(write(tmp_path, LINES[0] + "\n", "a.log"))
    b, _ = read_log(write(tmp_path, LINES[0] + "\n", "b.log"))
    assert a["trace_id"][0] != b["trace_id"][0]


def test_one_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """`--log a.log --log a.log` (or a link to it) counted every request twice."""
    from apm_tui.sources.logs.source import LogSource

    log = write(tmp_path, "\n".join(LINES[:3]) + "\n")
    (tmp_path / "link.log").symlink_to(log)
    source = LogSource([log, str(log), tmp_path / "link.log"], "combined-rt", follow=False)
    assert source.paths == [str(log)] and source.name == "log access.log"  # not "+2"
    source.open()
    try:
        assert len(source.backfill().spans) == 3
    finally:
        source.close()


def test_gzip_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log.2.gz"
    path.write_bytes(gzip.compress(("\n".join(LINES) + "\n").encode()))
    table, stats = read_log(path)
    assert len(table) == 4 and stats.format == "combined-rt"
    assert service_name(path) == "access"
    with pytest.raises(SourceError, match="not found"):
        read_log(tmp_path / "nope.log")


def test_an_empty_log_is_an_empty_table(tmp_path: Path) -> None:
    table, stats = read_log(write(tmp_path, ""), "combined")
    assert len(table) == 0 and stats.lines == 0


def test_nothing_recognisable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no known log format"):
        read_log(write(tmp_path, "hello\nworld\n"))
    # A binary file: its first line quoted shortly (it was ≈ 300 characters of escapes).
    with pytest.raises(SourceError, match="no known log format") as caught:
        read_log(write(tmp_path, b"\x7fELF" + bytes(range(1, 10)) * 40 + b"\n", "bin.log"))
    assert len(str(caught.value)) < 240 and "…" in str(caught.value)
    assert "matches its only line" in str(caught.value)


# -- bad input -------------------------------------------------------------------------------
def test_junk_is_counted_never_fatal(tmp_path: Path) -> None:
    good = LINES[0].encode()
    junk = [
        b"\x00\x01\x02\xff\xfe binary",
        b"\xc3\x28 invalid utf-8 " + good,  # broken UTF-8 before an otherwise good line
        good[:40],  # a line cut short
        b"x" * 70_000,  # too long, arriving whole
        good.replace(b"Jan", b"Foo"),  # a month that does not exist
        good.replace(b"/u/1", b"/caf\xe9/1"),  # Latin-1 in the path: still a request
        b"",
        b"   ",
    ]
    data = b"\n".join([good, *junk, good]) + b"\n"
    table, stats = read_log(write(tmp_path, data), "combined-rt")
    assert stats.parsed == 3 and stats.rejected == 5 and stats.skipped == 2
    assert stats.lines == len(junk) + 2 - stats.skipped
    assert stats.reasons[TOO_LONG] == 1 and stats.reasons[BAD_TIME] == 1
    assert stats.reasons[NO_MATCH] >= 1
    assert "/caf\ufffd/{id}" in table["attributes"][1]["http.route"]
    assert len(stats.examples) == 5 and all(len(e) < 300 for e in stats.examples)
    json.dumps(stats.as_status())  # JSON-able, for Batch.status


def test_impossible_times_are_rejected_not_let_into_the_window(tmp_path: Path) -> None:
    """One line dated 9999 would have dropped every real request from a live window (it keeps
    the 24 h up to its newest time); one dated year 1 stretched a report over 2,000 years."""
    good = LINES[0]
    stamp = good[good.index("[") + 1 : good.index("]")]
    day, zone = stamp.split(" ")
    lines = [
        good,
        good.replace(day[7:11], "9999", 1),  # the year
        good.replace(day[7:11], "0001", 1),
        good.replace(day[7:11], "1989", 1),  # the year before the earliest
        good.replace(zone, "+9999", 1),  # no zone is 99 hours east
        good.replace(zone, "-1500", 1),
        good.replace(day[7:11], "1990", 1),  # the earliest year: kept
    ]
    table, stats = read_log(write(tmp_path, "\n".join(lines) + "\n"), "combined-rt")
    assert stats.parsed == 2 and stats.rejected == 5
    assert stats.reasons == {OUT_OF_RANGE: 3, BAD_TIME: 2}
    years = sorted(datetime.fromtimestamp(t, UTC).year for t in table["start"])
    assert years == [1990, int(day[7:11])]
    soon = datetime.now(UTC) + timedelta(minutes=4)  # a clock a little ahead is not wrong
    line = good.replace(day, soon.strftime("%d/%b/%Y:%H:%M:%S"), 1).replace(zone, "+0000")
    assert one(tmp_path, line)["start"] == pytest.approx(soon.timestamp(), abs=1.5)
    # 20 h ahead became the live dashboard's "now": its traffic a dot at a chart's edge.
    later = datetime.now(UTC) + timedelta(hours=20)
    line = good.replace(day, later.strftime("%d/%b/%Y:%H:%M:%S"), 1).replace(zone, "+0000")
    _, stats = read_log(write(tmp_path, line + "\n"), "combined-rt")
    assert stats.reasons == {OUT_OF_RANGE: 1}


def test_a_megabyte_line_with_no_newline_is_cut(tmp_path: Path) -> None:
    data = (LINES[0] + "\n").encode() + b"y" * 1_000_000
    table, stats = read_log(write(tmp_path, data), "combined-rt")
    assert len(table) == 1 and stats.reasons == {TOO_LONG: 1}


def test_crlf_line_endings(tmp_path: Path) -> None:
    table, _ = read_log(write(tmp_path, "\r\n".join(LINES) + "\r\n"))
    assert len(table) == 4 and table["duration_ms"][3] == 40.0


def test_a_request_line_that_is_not_one(tmp_path: Path) -> None:
    got = one(tmp_path, '10.0.0.1 - - [15/Feb/2013:06:00:31 +0000] "-" 400 0 "-" "-"')
    assert (got["method"], got["route"], got["status"]) == ("-", "(invalid request)", 400)
    got = one(
        tmp_path,
        '10.0.0.1 - - [15/Feb/2013:06:00:31 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"',
    )
    assert got["route"] == "(invalid request)"
    got = one(
        tmp_path, '10.0.0.1 - - [15/Feb/2013:06:00:31 +0000] "geti /x/1 HTTP/1.1" 400 1 "-" "-"'
    )
    assert got["operation"] == "geti /x/{id}"


def test_escaped_quotes_in_an_apache_user_agent(tmp_path: Path) -> None:
    got = one(
        tmp_path,
        '10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /q HTTP/1.1" 200 1 "-" "say \\"hi\\" ok"',
    )
    assert got["route"] == "/q"


# -- routes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/users/123", "/api/users/{id}"),
        ("/api/users/456", "/api/users/{id}"),
        ("/api/users/123/orders/9?sort=asc", "/api/users/{id}/orders/{id}"),
        ("/files/550e8400-e29b-41d4-a716-446655440000/raw", "/files/{uuid}/raw"),
        (
            "/blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "/blobs/{hash}",
        ),
        ("/static/app.3f9c2b1a0d4e5f67.js", "/static/app.{hash}.js"),
        ("/about/deadbeefcafebabedeadbeef", "/about/deadbeefcafebabedeadbeef"),  # no digit: a word
        ("/v1/items", "/v1/items"),
        ("/2024-03-01/report", "/2024-03-01/report"),
        ("/x#top", "/x"),
        ("http://example.com:8080/users/7", "/users/{id}"),
        ("www.example.com/page.php", "/page.php"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_normalisation(path: str, route: str) -> None:
    assert normalise(path) == route


def test_user_rules_run_first_and_results_are_cached() -> None:
    norm = RouteNormaliser([(r"^/u/[^/]+", "/u/{user}"), (r"/v\d+/", "/")])
    assert norm("/u/alice/posts/3") == "/u/{user}/posts/{id}"
    assert norm("/v2/orders/5") == "/orders/{id}"
    assert norm.many(["/a/1", "/a/2", "/a/1"]) == ["/a/{id}"] * 3
    assert len(norm._cache) == 4
    with pytest.raises(ValueError, match="bad endpoint rule"):
        RouteNormaliser([("(", "x")])


def test_rules_reach_read_log(tmp_path: Path) -> None:
    table, _ = read_log(write(tmp_path, LINES[0] + "\n"), rules=[(r"^/u/\d+", "/user")])
    assert table["operation"][0] == "GET /user"


# -- pieces ----------------------------------------------------------------------------------
def test_decimal_column_is_exactly_float() -> None:
    values = [b"0.018", b"1234", b"-", b"0", b"12.5", b"999999999.999999", b"-1"]
    got = decimal_column(values)
    expected = [0.018, 1234.0, np.nan, 0.0, 12.5, 999999999.999999, np.nan]
    assert np.array_equal(got, np.array(expected), equal_nan=True)


def test_detection_needs_only_the_first_lines() -> None:
    assert detect(("\n".join(LINES) + "\n").encode()).name == "combined-rt"
    assert detect(W3C.encode()).name == "w3c"
    with pytest.raises(SourceError):
        detect(b"\n\n")


def test_parser_feeds_in_any_pieces_give_the_same_rows() -> None:
    data = ("\n".join(LINES * 50) + "\n").encode()
    whole = LogParser(get_format("combined-rt"))
    whole.feed(data, 0.0)
    pieces = LogParser(get_format("combined-rt"))
    lines = data.split(b"\n")
    for i in range(0, len(lines) - 1, 7):
        pieces.feed(b"".join(ln + b"\n" for ln in lines[i : i + 7]), 0.0)
    a, b = whole.take(), pieces.take()
    assert np.array_equal(a.start, b.start) and np.array_equal(a.status, b.status)
    assert whole.stats.parsed == pieces.stats.parsed == 200


def test_two_processes_read_what_one_does(tmp_path: Path) -> None:
    body = []
    for i in range(20_000):  # 97 paths × 3 statuses
        t = datetime.fromtimestamp(1_767_225_600 + i // 7, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        status = 200 + (i % 3) * 150
        body.append(f'1.1.1.1 - - [{t}] "GET /p{i % 97} HTTP/1.1" {status} 5 "-" "a" 0.0{i % 10}')
        if i % 5000 == 1234:
            body.append("junk that no format matches")
    path = write(tmp_path, "\n".join(body) + "\n" + body[0][:30])  # and a cut last line
    one_table, one_stats = read_log(path, workers=1)
    two_table, two_stats = read_log(path, workers=2)
    assert (one_stats.parsed, one_stats.rejected) == (two_stats.parsed, two_stats.rejected)
    assert (two_stats.parsed, two_stats.rejected) == (20_000, 5)
    assert two_stats.reasons == one_stats.reasons
    for name in ("start", "duration_ms", "error", "bytes", "operation"):
        assert np.array_equal(one_table[name], two_table[name]), name
    assert [a["http.response.status_code"] for a in two_table["attributes"][:3]] == [200, 350, 500]
    assert len({id(a) for a in two_table["attributes"]}) == 97 * 3  # still shared after merging


def test_a_w3c_request_without_a_status_is_kept(tmp_path: Path) -> None:
    """A W3C line whose server logged no status ("-", or "" quoted: Incapsula's line for a
    connection the server closed) was rejected as not matching: a request lost."""
    log = (
        "#Fields: date time cs-method cs-uri-stem sc-status time-taken\n"
        "2024-01-01 00:00:01 GET /a 200 5\n"
        '2024-01-01 00:00:02 GET /b "" 7\n'
        "2024-01-01 00:00:03 GET /c - 9\n"
    )
    table, stats = read_log(write(tmp_path, log), "w3c")
    assert (stats.parsed, stats.rejected) == (3, 0)
    codes = [a["http.response.status_code"] for a in table["attributes"]]
    assert codes == [200, 0, 0] and not table["error"].any()
    from apm_tui.analysis.requests import status_of

    assert [status_of(a) for a in table["attributes"][:1]] == [200.0]
    assert all(math.isnan(status_of(a)) for a in table["attributes"][1:])  # not 1xx
    assert math.isnan(status_of({"http.response.status_code": -1}))  # HAProxy: aborted
