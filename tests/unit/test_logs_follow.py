"""LogSource: the backlog, then new lines like `tail -F` — appends, rotation, truncation,
deletion, half-written and overlong lines — on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from apm_tui.model import Batch
from apm_tui.sources.base import Source, SourceError
from apm_tui.sources.logs import LogSource
from apm_tui.sources.logs import follow as follow_module
from apm_tui.sources.logs.stats import TOO_LONG

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def line(t: float, path: str = "/api/items/1", status: int = 200, rt: float = 0.1) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
    return f'10.0.0.1 - - [{stamp}] "GET {path} HTTP/1.1" {status} 10 "-" "ua" {rt:.3f}\n'


def append(path: Path, text: str | bytes) -> None:
    with path.open("ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


def ops(batch: Batch) -> list[str]:
    return batch.spans["operation"].tolist() if len(batch.spans) else []


def opened(path: Path, **kwargs: object) -> tuple[LogSource, Batch]:
    source = LogSource(path, **kwargs)  # type: ignore[arg-type]
    source.open()
    return source, source.backfill()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text("".join(line(T0 + i) for i in range(3600)))  # one request a second
    return path


def test_it_is_a_source(log: Path) -> None:
    source = LogSource(log)
    assert isinstance(source, Source) and source.name == "log access.log"


def test_backfill_is_the_backlog_and_poll_the_new_lines(log: Path) -> None:
    source, first = opened(log, backlog_s=900.0)
    starts = first.spans["start"]
    newest = T0 + 3599 - 0.1
    assert len(first.spans) == 901 and starts.max() == newest and starts.min() == newest - 900
    status = first.status["log"]
    assert status["lines"] == 3600 and status["files"][0]["before_backlog"] == 2699
    json.dumps(first.status)  # recorded with the batch: JSON-able
    assert not source.poll(time.time())  # nothing new: an empty batch, no status
    append(log, line(T0 + 3600, "/new/7"))
    batch = source.poll(time.time())
    assert ops(batch) == ["GET /new/{id}"] and batch.status["log"]["parsed"] == 3601
    source.close()
    source.close()  # twice is fine


def test_the_time_lines_last_came_is_in_the_status(log: Path) -> None:
    """The header says how long a followed log has had no new lines, once a minute: the
    file's mtime at first, then the tick that read lines."""
    from apm_tui.ui.widgets.header import input_counts

    os.utime(log, (T0 + 3600, T0 + 3600))
    source, first = opened(log)
    assert first.status["log"]["last_line_at"] == T0 + 3600
    assert "no new lines for 1:40" in input_counts(first.status, now=T0 + 3700).plain
    append(log, line(T0 + 3600))
    status = source.poll(T0 + 3800.0).status
    assert status["log"]["last_line_at"] == T0 + 3800
    assert "no new lines" not in input_counts(status, now=T0 + 3859).plain
    assert "log: no new lines for 1:00" in input_counts(status, now=T0 + 3860).plain
    source.close()


def test_no_backlog_is_none_of_the_past(tmp_path: Path) -> None:
    """Regression: `--backlog 0` still read the lines of the newest line's second (3 old 500s
    made a health of 0 POOR)."""
    path = tmp_path / "access.log"
    path.write_text(line(T0 - 5) + line(T0, status=500) * 3)
    source, first = opened(path, backlog_s=0.0)
    assert len(first.spans) == 0
    assert first.status["log"]["files"][0]["before_backlog"] == 4
    append(path, line(T0 + 1, "/new/7"))
    assert ops(source.poll(time.time())) == ["GET /new/{id}"]
    source.close()


def test_the_backlog_of_a_big_file_reads_only_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.log"
    path.write_text("".join(line(T0 + i / 20) for i in range(200_000)))  # 20 rps for 10,000 s
    read = []
    original = follow_module.FileTail.pread

    def counting(self: follow_module.FileTail, length: int, offset: int) -> bytes:
        data = original(self, length, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(follow_module.FileTail, "pread", counting)
    _, batch = opened(path, backlog_s=60.0)
    assert len(batch.spans) == 61 * 20  # whole seconds: 60 s back from the newest, both ends
    assert sum(read) < path.stat().st_size / 4  # the backlog came from the end of the file
    _, whole = opened(path, backlog_s=None)  # None: the whole file
    assert len(whole.spans) == 200_000


def test_a_half_written_line_waits_for_its_newline(log: Path) -> None:
    source, _ = opened(log)
    text = line(T0 + 3600, "/half")
    append(log, text[:25])
    assert not ops(source.poll(0.0))
    append(log, text[25:])
    assert ops(source.poll(0.0)) == ["GET /half"]


def test_a_half_written_line_at_open_is_read_when_finished(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    text = line(T0, "/a") + line(T0 + 1, "/b")
    path.write_text(text[:-20])
    source, batch = opened(path)
    assert ops(batch) == ["GET /a"]
    append(path, text[-20:])
    assert ops(source.poll(0.0)) == ["GET /b"]


def test_logrotate_rename_finishes_the_old_file_first(log: Path) -> None:
    source, _ = opened(log)
    rotated = log.with_name("access.log.1")
    os.rename(log, rotated)
    append(rotated, line(T0 + 3600, "/old"))  # written before the server reopened its log
    log.write_text(line(T0 + 3601, "/new"))
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /old", "GET /new"]
    assert any("rotated" in n for n in batch.status["notices"])
    append(log, line(T0 + 3602, "/next"))
    assert ops(source.poll(0.0)) == ["GET /next"]


def test_lines_written_to_the_rotated_file_before_the_reopen_still_count(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the old file was read once and closed at the rename, so what nginx wrote
    to it until `reopen` (a second or two of lines) was lost."""
    clock = [1000.0]
    monkeypatch.setattr(follow_module.time, "monotonic", lambda: clock[0])
    source, _ = opened(log)
    rotated = log.with_name("access.log.1")
    os.rename(log, rotated)
    log.write_text("")
    assert ops(source.poll(0.0)) == []  # the rename is seen; nothing new yet
    append(rotated, line(T0 + 3600, "/late"))  # the server has not reopened its log yet
    append(rotated, '10.0.0.1 - - [01/Jan/2026:01:00:01 +0000] "GET /cut HTTP/1.1" 200')
    append(log, line(T0 + 3602, "/new"))
    assert ops(source.poll(0.0)) == ["GET /late", "GET /new"]
    clock[0] += follow_module.ROTATE_WAIT_S
    append(rotated, ' 10 "-" "ua" 0.100\n')  # its last line, finished late
    assert ops(source.poll(0.0)) == ["GET /cut"]  # then the old file is closed
    append(rotated, line(T0 + 3603, "/too-late"))
    assert ops(source.poll(0.0)) == []
    source.close()


def test_a_truncated_file_written_past_the_old_end_is_read_from_its_start(log: Path) -> None:
    """Regression: copytruncate then more bytes than were read before, between two looks:
    the size never looked smaller, so the new file's first lines were skipped."""
    source, _ = opened(log, backlog_s=0.0)
    size = log.stat().st_size
    with log.open("r+") as f:
        f.truncate(0)
    append(log, "".join(line(T0 + 4000 + i, f"/again/{i}") for i in range(4000)))
    assert log.stat().st_size > size
    batch = source.poll(0.0)
    assert len(batch.spans) == 4000
    assert any("truncated" in n for n in batch.status["notices"])
    append(log, line(T0 + 9000, "/next"))
    assert ops(source.poll(0.0)) == ["GET /next"]  # appends are appends again
    source.close()


def test_copytruncate_starts_again_from_zero(log: Path) -> None:
    source, _ = opened(log)
    with log.open("r+") as f:
        f.truncate(0)
    append(log, line(T0 + 3600, "/after"))
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /after"]
    assert any("truncated" in n for n in batch.status["notices"])


def test_a_deleted_file_is_waited_for_and_read_when_it_returns(log: Path) -> None:
    source, _ = opened(log)
    append(log, line(T0 + 3600, "/last"))
    log.unlink()
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /last"]  # what it held before it went
    assert any("deleted" in n for n in batch.status["notices"])
    assert not source.poll(0.0)  # said once, not every tick
    log.write_text(line(T0 + 3601, "/back"))
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /back"]
    assert any("back" in n for n in batch.status["notices"])


def test_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    source, batch = opened(path)
    assert len(batch.spans) == 0 and "waiting" in batch.status["notices"][0]
    path.write_text(line(T0, "/first"))
    assert ops(source.poll(0.0)) == ["GET /first"]
    with pytest.raises(SourceError, match="not found"):
        opened(path.with_name("never.log"), follow=False)


def test_an_overlong_line_is_cut_and_the_next_one_read(log: Path) -> None:
    source, _ = opened(log)
    append(log, b"z" * 100_000)  # no newline yet: held up to 64 KiB, then cut
    batch = source.poll(0.0)
    assert not ops(batch) and batch.status["log"]["rejected_by_reason"] == {TOO_LONG: 1}
    append(log, b"z" * 1_000_000 + b"\n" + line(T0 + 3600, "/after").encode())
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /after"]
    assert source.stats[0].rejected == 1 and source.stats[0].lines == 3600 + 2


def test_follow_false_reads_whole_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text(line(T0, "/a") + line(T0 + 7200, "/a"))
    b.write_text(line(T0, "/b"))
    source, batch = opened([a, b], follow=False)  # type: ignore[arg-type]
    assert sorted(ops(batch)) == ["GET /a", "GET /a", "GET /b"]
    assert set(batch.spans["service"].tolist()) == {"a", "b"}
    assert [f["lines"] for f in batch.status["log"]["files"]] == [2, 1]
    append(a, line(T0 + 7201, "/later"))
    assert not source.poll(0.0)
    assert source.name == "log a.log +1"


def test_a_log_without_times_has_no_backlog_but_follows(tmp_path: Path) -> None:
    path = tmp_path / "w3c.log"
    path.write_text("#Fields: cs-method cs-uri-stem sc-status\nGET /old 200\n")
    source, batch = opened(path, fmt="w3c")
    assert batch.status["log"]["times_missing"] and len(batch.spans) == 0
    append(path, "GET /new 500\n")
    batch = source.poll(1234.0)
    assert ops(batch)[-1] == "GET /new" and batch.spans["start"][-1] == 1234.0
    assert bool(batch.spans["error"][-1])


def test_timestamps_going_backwards_are_kept_in_file_order(log: Path) -> None:
    source, _ = opened(log)
    append(log, line(T0 + 3600, "/a") + line(T0 + 10, "/b") + line(T0 + 3601, "/c"))
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /a", "GET /b", "GET /c"]
    assert np.diff(batch.spans["start"]).tolist() == [-3590.0, 3591.0]


def test_a_bad_format_fails_before_open(log: Path) -> None:
    with pytest.raises(SourceError):
        LogSource(log, fmt="no-such-format")
    with pytest.raises(SourceError):
        LogSource([])


def test_a_log_empty_at_open_is_detected_once_lines_come(tmp_path: Path) -> None:
    path = tmp_path / "new.log"
    path.write_text("")
    source, batch = opened(path)
    assert len(batch.spans) == 0
    append(path, "not a request\n")  # one line tells nothing yet: it waits
    assert not ops(source.poll(0.0))
    append(path, line(T0, "/a") + line(T0 + 1, "/b"))
    batch = source.poll(0.0)
    assert ops(batch) == ["GET /a", "GET /b"]
    assert batch.status["log"]["rejected"] == 1 and batch.status["log"]["files"][0]["format"] == (
        "combined-rt"
    )
    append(path, "".join(f"junk {i}\n" for i in range(300)))
    batch = source.poll(0.0)  # once known, junk is just rejected
    assert batch.status["log"]["rejected"] == 301


def test_a_log_nothing_recognises_fails_after_enough_lines(tmp_path: Path) -> None:
    path = tmp_path / "other.log"
    path.write_text("")
    source, _ = opened(path)
    append(path, "hello\n")
    assert not source.poll(0.0)
    append(path, "".join(f"hello {i}\n" for i in range(300)))
    with pytest.raises(SourceError, match="no known log format"):
        source.poll(0.0)


def test_a_log_that_cannot_be_read_is_refused_before_it_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard dropped it in its worker at start: "no source" for good, though the
    user had given `--log`; `report` said it in one line. (As root every file can be read,
    so the refusal is made as the kernel makes it.)"""
    from apm_tui.sources.logs.follow import check_log

    log = tmp_path / "access.log"
    log.write_text("")
    check_log(log)  # readable: nothing to say
    check_log(tmp_path / "not-yet.log")  # not there yet: awaited, not refused

    def denied(path: object, flags: int, *args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("apm_tui.sources.logs.follow.os.open", denied)
    with pytest.raises(SourceError, match=rf"^cannot read log {log}: Permission denied$"):
        check_log(log)
