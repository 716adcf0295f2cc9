"""Any bytes into the log parser: never an exception, never a lost line, never slow."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from apm_tui.sources.logs import LogParser, get_format
from apm_tui.sources.logs.lines import LineAssembler

COMBINED = b'10.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET /a/1 HTTP/1.1" 200 5 "-" "u"'
GOOD = {
    "combined-rt": COMBINED + b" 0.010",
    "combined": COMBINED,
    "ingress-nginx": b'1.2.3.4 - - [07/Feb/2020:11:48:51 +0000] "POST /p HTTP/1.1" 200 59 "-" '
    b'"c" 89 0.001 [d] [] 172.17.0.5:8080 59 0.000 200 529a007902362a5f51385a5fa7049884',
    "haproxy": b"1.2.3.4:5 [25/Feb/2019:16:19:48.143] f b/s 0/0/7/1457/1487 200 11394 - - ---- "
    b'2/1/0/0/0 0/0 {x} {} "GET /a HTTP/1.1"',
    "w3c": b"2024-03-01 10:00:01 GET /orders/7 200 15",
}
W3C_FIELDS = b"#Fields: date time cs-method cs-uri-stem sc-status time-taken"

# Lines: real ones, real ones damaged (cut, bytes flipped), and anything at all.
junk = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))


def damaged(fmt: str) -> st.SearchStrategy[bytes]:
    good = GOOD[fmt]
    return st.one_of(
        st.just(good),
        st.integers(0, len(good)).map(lambda i: good[:i]),
        st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)).map(
            lambda p: (good[: p[0]] + bytes([p[1]]) + good[p[0] + 1 :]).replace(b"\n", b"")
        ),
        junk,
    )


def accounted(parser: LogParser, lines: list[bytes]) -> None:
    s = parser.stats
    assert s.parsed + s.messages + s.rejected == s.lines
    assert s.lines + s.skipped == len(lines)
    assert sum(s.reasons.values()) == s.rejected
    assert len(parser.take()) == s.parsed


@settings(max_examples=150, deadline=2000)
@given(
    fmt=st.sampled_from(sorted(GOOD)),
    data=st.data(),
)
def test_any_lines_are_parsed_or_rejected(fmt: str, data: st.DataObject) -> None:
    lines = data.draw(st.lists(damaged(fmt), max_size=80))
    if fmt == "w3c":  # junk that starts with "#" is a directive: skipped, still accounted
        lines = [W3C_FIELDS, *lines]
    parser = LogParser(get_format(fmt))
    parser.feed(b"".join(ln.replace(b"\n", b"") + b"\n" for ln in lines), 0.0)
    accounted(parser, lines)
    table = parser.table(parser.take())
    assert len(table) == 0 or set(table["kind"].tolist()) == {"server"}


@settings(max_examples=100, deadline=2000)
@given(blob=st.binary(max_size=4000), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_any_bytes_in_any_pieces(blob: bytes, cuts: list[int]) -> None:
    """Raw bytes, newlines anywhere, fed in pieces as a followed file delivers them."""
    blob = GOOD["combined-rt"] + b"\n" + blob
    parser = LogParser(get_format("combined-rt"))
    lines = LineAssembler()
    bounds = sorted({0, len(blob), *(c for c in cuts if c < len(blob))})
    for a, b in itertools.pairwise(bounds):
        for buf, start, end in lines.spans(blob[a:b]):
            parser.feed(buf, 0.0, start, end)
    parser.feed(lines.flush(), 0.0)
    expected = blob.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    accounted(parser, expected)
    assert parser.stats.parsed >= 1
