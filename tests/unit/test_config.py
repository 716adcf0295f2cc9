from __future__ import annotations

from pathlib import Path

import pytest

from apm_tui.config import THRESHOLD_KEYS, ConfigError, Thresholds, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "apm.toml"
    path.write_text(text)
    return path


def test_loads_thresholds(tmp_path: Path) -> None:
    th = load_config(write(tmp_path, "[thresholds]\napdex_t_ms = 250\ncpu_high_pct = 70.5\n"))
    assert th.apdex_t_ms == 250 and th.cpu_high_pct == 70.5
    assert th.memory_high_pct == Thresholds().memory_high_pct


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\napdex_tms = 1\n", "unknown key thresholds.apdex_tms"),
        ("[limits]\nx = 1\n", "unknown table or key 'limits'"),
        ("[thresholds\n", "not valid TOML"),
        ("[thresholds]\ncontamination = 0.7\n", "contamination must be in (0, 0.5]"),
        ('[thresholds]\napdex_t_ms = "fast"\n', "apdex_t_ms must be a number"),
        ("[thresholds]\ncpu_high_pct = -5\n", "must not be negative"),
        ("thresholds = 3\n", "'thresholds' must be a table"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)


@pytest.mark.parametrize("key", sorted(THRESHOLD_KEYS))
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_threshold_must_be_finite(tmp_path: Path, key: str, value: str) -> None:
    # TOML allows these; a NaN threshold passed every comparison and broke the analysis.
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"[thresholds]\n{key} = {value}\n"))
    assert str(err.value) == (
        f"config file {tmp_path / 'apm.toml'}: {key} must be a finite number, got {float(value)}"
    )


def test_an_empty_file_name_is_not_the_current_folder() -> None:
    with pytest.raises(ConfigError, match="the config file name is empty"):
        load_config("")


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    binary = tmp_path / "junk.toml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)


def test_with_ignores_none_and_validates() -> None:
    th = Thresholds().with_(apdex_t_ms=None, contamination=0.1)
    assert th.apdex_t_ms == 100 and th.contamination == 0.1
    with pytest.raises(ConfigError):
        Thresholds().with_(apdex_t_ms=0)
