"""Text from outside never reaches the terminal as terminal codes (apm_tui.printable).

A span, a logged path or a process name is anyone's text: `\\x1b[2J` in a route cleared the
dashboard, and a newline in one started a row of its own in the endpoint table.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from apm_tui.model import Batch
from apm_tui.printable import json_may_hold_control, printable, printable_column
from apm_tui.report import ReportPrinter
from apm_tui.sources.logs import read_log
from apm_tui.sources.otlp import wire
from tests.unit.otlp_bodies import S, body_json, body_protobuf, span_id, trace_id

CLEAR, TITLE = "\x1b[2J", "\x1b]0;pwned\x07"


def no_control(text: str) -> bool:
    return not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text)


def test_printable_writes_control_characters_out() -> None:
    assert printable("/a/b {id} é ü 漢字") == "/a/b {id} é ü 漢字"  # untouched, same object
    assert printable(f"/x\nrow{CLEAR}\t\r\x9b\x7f") == "/x\\nrow\\x1b[2J\\t\\r\\x9b\\x7f"
    column = np.array(["a", "b"], dtype=object)
    assert printable_column(column) is column
    assert printable_column(np.array(["a", "\x1b"], dtype=object)).tolist() == ["a", "\\x1b"]


@pytest.mark.parametrize(
    ("body", "may"),
    [
        (b'{"a": "plain"}', False),
        (b'{"a": "\\u001b[2J"}', True),
        (b'{"a": "line\\nline"}', True),
        ('{"a": "\x7f \x85"}'.encode(), True),
        ('{"a": "é"}'.encode(), False),
    ],
)
def test_a_json_body_says_whether_its_strings_may_hold_control_characters(
    body: bytes, may: bool
) -> None:
    assert json_may_hold_control(body) is may


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_otlp_names_and_attributes_are_made_printable(encoding: str) -> None:
    spans = {
        f"edge{TITLE}": [
            S(
                trace_id(1),
                span_id(1),
                "",
                f"GET /x\nINJECTED ROW{CLEAR}",
                2,
                attrs={"http.route": f"/y{CLEAR}", f"k{CLEAR}": "v", "n": 3},
            ),
            S(trace_id(2), span_id(2), "", "GET /plain", 2, attrs={"http.route": "/plain"}),
        ]
    }
    if encoding == "json":
        decoded = wire.decode_body(body_json(spans), wire.JSON, None, 1 << 20)
    else:
        decoded = wire.decode_body(body_protobuf(spans), wire.PROTOBUF, None, 1 << 20)
    table = decoded.spans
    assert table["service"].tolist() == ["edge\\x1b]0;pwned\\x07"] * 2
    assert table["operation"].tolist() == ["GET /x\\nINJECTED ROW\\x1b[2J", "GET /plain"]
    first = table["attributes"][0]
    assert first == {"http.route": "/y\\x1b[2J", "k\\x1b[2J": "v", "n": 3}


def test_a_logged_path_and_a_rejected_lines_example_are_made_printable(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(
        b'1.2.3.4 - - [07/Feb/2020:11:48:51 +0000] "GET /raw\x1b[2JRAW HTTP/1.1" 200 1 "-" "-"\n'
        b"junk\x1b]0;pwned\x07\n"
    )
    table, stats = read_log(log)
    attrs = table["attributes"][0]
    assert attrs["http.route"] == "/raw\\x1b[2JRAW"
    assert table["operation"].tolist() == ["GET /raw\\x1b[2JRAW"]
    assert stats.rejected == 1 and stats.examples[0].endswith("junk\\x1b]0;pwned\\x07")


def test_a_recording_that_holds_control_characters_is_read_printable(tmp_path: Path) -> None:
    """A file made before this, or by anyone: its strings and attribute sets."""
    from apm_tui.recording import Recorder, Recording
    from tests.conftest import world

    spans = world(hours=0.05).backfill().spans
    service = spans["service"].copy()
    service[:] = f"svc{CLEAR}"
    attributes = np.empty(len(spans), dtype=object)
    attributes[:] = [{"http.route": f"/r{TITLE}"}] * len(spans)
    cols = spans.columns()
    cols["service"], cols["attributes"] = service, attributes
    from apm_tui.model import Table

    path = tmp_path / "r.apmrec"
    rec = Recorder(path, sources=["synthetic"], settings={}, interval_s=1.0)
    rec.append(100.0, Batch(spans=Table(cols)))
    rec.close()
    read = Recording.open(path)
    batch = next(iter(read.ticks())).batch
    read.close()
    assert set(batch.spans["service"].tolist()) == {"svc\\x1b[2J"}
    assert {a["http.route"] for a in batch.spans["attributes"]} == {"/r\\x1b]0;pwned\\x07"}


def test_the_report_printer_is_the_last_net() -> None:
    out = io.StringIO()
    printer = ReportPrinter(Console(file=out, width=120, color_system=None))
    printer.line(f"endpoint /a{CLEAR}\nnext line")
    assert out.getvalue() == "endpoint /a\\x1b[2J\nnext line\n"
    assert no_control(out.getvalue().replace("\n", ""))
