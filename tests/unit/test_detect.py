"""`apm-tui detect`: one scored output row per input row, causal scores, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apm_tui.analysis.streaming import DetectorSettings
from apm_tui.commands.detect import MAX_VALUE, DetectError, run
from tests.conftest import SHARED

NAB_DIR = SHARED / "data" / "nab" / "realAWSCloudwatch"
NAB_FILE = NAB_DIR / "ec2_cpu_utilization_24ae8d.csv"
#: Has one duplicated timestamp.
NAB_DUPLICATE = NAB_DIR / "ec2_disk_write_bytes_1ef3de.csv"


def write_series(path: Path, values: np.ndarray, start: str = "2024-01-01") -> Path:
    stamps = pd.date_range(start, periods=len(values), freq="5min")
    lines = ["timestamp,value"]
    lines += [f"{t:%Y-%m-%d %H:%M:%S},{v}" for t, v in zip(stamps, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def noise(n: int) -> np.ndarray:
    return np.round(40 + np.random.default_rng(7).normal(0, 2, n), 3)


def detect(tmp_path: Path, source: Path, **options: str) -> pd.DataFrame:
    out = tmp_path / f"{source.stem}.out.csv"
    assert run(str(source), output=str(out), **options) == 0
    return pd.read_csv(out, keep_default_na=True)


WARMUP = DetectorSettings().warmup_rows  # rows before the first score: 32 + 128 + 100


def test_a_spike_is_flagged_and_the_output_round_trips(tmp_path: Path) -> None:
    values = noise(400)
    values[300:303] = 95.0  # three samples: a short incident (one odd sample alone is noise)
    result = detect(tmp_path, write_series(tmp_path / "spike.csv", values))
    assert list(result.columns) == ["timestamp", "value", "anomaly_score", "is_anomaly"]
    assert len(result) == 400
    assert np.allclose(result["value"], values)
    assert result["timestamp"].iloc[0] == "2024-01-01 00:00:00"
    assert result["anomaly_score"].iloc[:WARMUP].isna().all()  # warming up
    scores = result["anomaly_score"].iloc[WARMUP:]
    assert scores.notna().all() and scores.between(0, 1).all()
    # One alarm, raised at the spike or within the few rows its likelihood averages over.
    flagged = list(np.flatnonzero(result["is_anomaly"].to_numpy()))
    assert len(flagged) == 1 and 300 <= flagged[0] <= 307
    assert result["anomaly_score"].iloc[flagged[0]] >= 0.99
    assert set(result["is_anomaly"]) <= {0, 1}


def test_one_odd_sample_alone_is_not_an_alarm(tmp_path: Path) -> None:
    """The alarm averages a few scores (like HTM's likelihood): a lone outlier is noise."""
    values = noise(400)
    values[300] = 95.0
    result = detect(tmp_path, write_series(tmp_path / "blip.csv", values))
    assert result["is_anomaly"].sum() == 0
    # ... though its score rises well above the usual
    assert result["anomaly_score"].iloc[300] > 2 * result["anomaly_score"].iloc[WARMUP:300].median()


def test_appending_future_rows_never_changes_earlier_scores(tmp_path: Path) -> None:
    values = noise(700)
    values[650:] += 30
    short = detect(tmp_path, write_series(tmp_path / "short.csv", values[:500]))
    long = detect(tmp_path, write_series(tmp_path / "long.csv", values))
    pd.testing.assert_frame_equal(short, long.iloc[:500])


def test_one_output_row_per_input_row_with_duplicates_gaps_and_missing_values(
    tmp_path: Path,
) -> None:
    source = tmp_path / "messy.csv"
    rows = [f"2024-01-01T00:{m:02d}:00,{40 + (m % 7)}" for m in range(0, 60)]
    rows += [f"2024-01-01T01:{m:02d}:00,{40 + (m % 5)}" for m in range(0, 60)]
    rows[80] = "2024-01-01T01:20:00,n/a"  # non-numeric
    rows[81] = "2024-01-01T01:21:00,"  # empty
    rows.append("2024-01-01T00:10:00,99")  # duplicate timestamp, out of order
    source.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    result = detect(tmp_path, source)
    assert len(result) == 121
    stamps = pd.to_datetime(result["timestamp"])
    assert stamps.is_monotonic_increasing
    dup = result[result["timestamp"] == "2024-01-01T00:10:00"]
    assert list(dup["value"]) == [40 + 10 % 7, 99]  # file order kept for equal timestamps
    missing = result[result["timestamp"].isin(["2024-01-01T01:20:00", "2024-01-01T01:21:00"])]
    assert len(missing) == 2 and missing["value"].isna().all()
    # scored as missing: no score, no alarm, and still one output row each
    assert missing["anomaly_score"].isna().all() and (missing["is_anomaly"] == 0).all()


def test_named_columns(tmp_path: Path) -> None:
    source = tmp_path / "named.csv"
    rows = [f"2024-01-01 00:{m:02d}:00,{m % 3},x" for m in range(60)]
    source.write_text("time,cpu,host\n" + "\n".join(rows) + "\n")
    result = detect(tmp_path, source, timestamp_column="time", value_column="cpu")
    assert len(result) == 60


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "the file is empty"),
        ("timestamp,value\n", "header but no rows"),
        ("time,value\n2024-01-01,1\n", "no column named 'timestamp'"),
        ("timestamp,metric\n2024-01-01,1\n", "no column named 'value'"),
        ("timestamp,value\n2024-01-01,a\n2024-01-02,\n", "'value' has no numeric values"),
        ("timestamp,value\nyesterday,1\n", "row 1 has a timestamp that is not an ISO date"),
        # outside pandas' nanosecond range: an overflow deep in pandas, or NaT, by its version
        ("timestamp,value\n0001-01-01,1\n", "not an ISO date from 1678 to 2261: '0001-01-01'"),
        ("timestamp,value\n2024-01-01,1\n1500-01-01,2\n", "row 2 .* '1500-01-01'"),
        ("timestamp,value\n2024-01-01,1\n9999-12-31,2\n", "row 2 .* '9999-12-31'"),
        ("timestamp,value\n2024-01-01,1\n2024-01-02,-1e308\n", "row 2 has a value beyond"),
    ],
)
def test_bad_input_raises_one_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    source = tmp_path / "bad.csv"
    if content is not None:
        source.write_text(content)
    with pytest.raises(DetectError, match=message) as caught:
        run(str(source), output=str(tmp_path / "out.csv"))
    assert "\n" not in str(caught.value)
    assert str(source) in str(caught.value)


def test_writes_to_stdout_without_an_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(str(write_series(tmp_path / "s.csv", noise(70))))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,is_anomaly" and len(lines) == 71


@pytest.mark.parametrize("path", [NAB_FILE, NAB_DUPLICATE], ids=lambda p: p.stem)
def test_a_real_nab_series(tmp_path: Path, path: Path) -> None:
    source = pd.read_csv(path)
    result = detect(tmp_path, path)
    assert len(result) == len(source)
    assert list(result["timestamp"]) == list(source["timestamp"])
    assert np.allclose(result["value"], source["value"])
    scored = result["anomaly_score"].notna().to_numpy()
    first = int(np.argmax(scored))
    assert first >= WARMUP and scored[first:].all()
    assert result["anomaly_score"].iloc[first:].between(0, 1).all()
    # Rare alarms: NAB's labelled incidents, not a share of every day (≤ 0.5 % of rows).
    assert 0 < result["is_anomaly"].sum() <= 0.005 * len(result)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("/proc/x", "cannot write /proc/x: No such file or directory"),
        ("/nonexistent/dir/f", "cannot write /nonexistent/dir/f: No such file or directory"),
        (".", "cannot write .: Is a directory"),
        ("/dev/full", "cannot write /dev/full: No space left on device"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_clear_error(
    tmp_path: Path, output: str, message: str
) -> None:
    source = write_series(tmp_path / "s.csv", noise(70))
    with pytest.raises(DetectError) as caught:
        run(str(source), output=output)
    assert str(caught.value) == message


def test_the_input_is_never_the_output(tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    source.write_text("timestamp,value,host\n2024-01-01,1,a\n2024-01-02,2,b\n")
    before = source.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    for output in (source, tmp_path / "." / "s.csv", link):
        with pytest.raises(DetectError, match="is the input file"):
            run(str(source), output=str(output))
    assert source.read_bytes() == before  # its other columns are still there


@pytest.mark.filterwarnings("error")  # numpy's overflow warnings flooded stderr
def test_values_up_to_the_limit_score_without_overflow(tmp_path: Path) -> None:
    values = noise(400)
    values[300:303] = MAX_VALUE
    values[350] = -MAX_VALUE
    result = detect(tmp_path, write_series(tmp_path / "huge.csv", values))
    assert result["anomaly_score"].iloc[WARMUP:].notna().all()
    assert result["is_anomaly"].iloc[300:308].sum() == 1
