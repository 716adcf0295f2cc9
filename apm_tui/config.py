"""Every threshold in one frozen dataclass, and its TOML loading.

A config file holds one `[thresholds]` table whose keys are the field names below. Unknown
tables or keys are errors: a typo must not silently leave a default in force.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from apm_tui.inputs import not_regular


class ConfigError(ValueError):
    """A config file or option that cannot be used; the message names the problem."""


#: Thresholds that are a share of a whole (a CPU, the requests), so above 100 never fire.
SHARES_PCT = frozenset(
    ("cpu_high_pct", "memory_high_pct", "error_rate_threshold_pct", "error_endpoint_pct")
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    # Apdex: satisfied <= T, tolerating <= 4T, frustrated above (errors are frustrated).
    apdex_t_ms: float = 100.0
    apdex_target: float = 0.9
    # IsolationForest's expected share of anomalies.
    contamination: float = 0.05
    # A flagged sample is HIGH when its leading feature is this many robust sigmas out.
    anomaly_high_z: float = 4.0
    # A feature "explains" an anomaly when it is at least this many robust sigmas out.
    anomaly_cause_z: float = 2.5
    # Health rules (seed): avg response time over this costs `health_response_penalty`.
    response_time_slo_ms: float = 500.0
    health_response_penalty: float = 30.0
    health_error_penalty_per_pct: float = 5.0
    cpu_high_pct: float = 85.0
    health_cpu_penalty: float = 20.0
    memory_high_pct: float = 85.0
    health_memory_penalty: float = 15.0
    health_anomaly_penalty_max: float = 15.0
    health_apdex_bonus_max: float = 20.0
    # Apdex at or below this (the seed's "poor" band) earns no bonus; the bonus grows
    # linearly to its max at 1.0.
    health_apdex_bonus_floor: float = 0.7
    # Error-rate chart line and the "errors" finding.
    error_rate_threshold_pct: float = 1.0
    # Bottlenecks.
    slow_endpoint_p95_ms: float = 400.0
    slow_endpoint_min_requests: int = 5
    slow_query_ms: float = 100.0
    slow_query_min_calls: int = 3
    error_endpoint_pct: float = 5.0
    leak_min_slope_pct_per_hour: float = 0.5
    leak_min_trend: float = 0.6

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{f.name} must be a number, got {value!r}")
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an integer too large for a float (a damaged recording's)
                raise ConfigError(f"{f.name} must be a finite number, got one too large") from None
            if not finite:  # TOML has nan and inf; no threshold means either
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
            if value < 0:
                raise ConfigError(f"{f.name} must not be negative, got {value}")
            if f.type == "int" and value != int(value):  # a count of requests or calls
                raise ConfigError(f"{f.name} must be a whole number, got {value}")
            if f.name in SHARES_PCT and value > 100:
                raise ConfigError(f"{f.name} is a percentage: at most 100, got {value}")
        if self.apdex_t_ms <= 0:
            raise ConfigError(f"apdex_t_ms must be positive, got {self.apdex_t_ms}")
        if not 0 < self.contamination <= 0.5:
            raise ConfigError(f"contamination must be in (0, 0.5], got {self.contamination}")
        if not 0 < self.apdex_target <= 1:
            raise ConfigError(f"apdex_target must be in (0, 1], got {self.apdex_target}")
        if not 0 <= self.health_apdex_bonus_floor < 1:
            raise ConfigError("health_apdex_bonus_floor must be in [0, 1)")
        if not 0 <= self.leak_min_trend <= 1:
            raise ConfigError("leak_min_trend must be in [0, 1]")

    def with_(self, **changes: Any) -> Thresholds:
        """A copy with some fields changed (None values are ignored), validated again."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


THRESHOLD_KEYS = frozenset(f.name for f in fields(Thresholds))


def load_config(path: str | Path) -> Thresholds:
    """Read a TOML file; every problem becomes a ConfigError naming the file and the key."""
    if not str(path).strip():  # Path("") is the current folder
        raise ConfigError("the config file name is empty")
    path = Path(path)
    why = not_regular(path)
    if why:
        raise ConfigError(f"cannot read config file {path}: {why}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown_tables = set(doc) - {"thresholds"}
    if unknown_tables:
        raise ConfigError(
            f"config file {path}: unknown table or key {sorted(unknown_tables)[0]!r} "
            "(expected [thresholds])"
        )
    table = doc.get("thresholds", {})
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: 'thresholds' must be a table")
    unknown = set(table) - THRESHOLD_KEYS
    if unknown:
        raise ConfigError(f"config file {path}: unknown key thresholds.{sorted(unknown)[0]}")
    try:
        return Thresholds(**table)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
