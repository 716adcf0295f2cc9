"""Web-server access logs as requests: one server root span per logged request.

`read_log(path)` reads a whole file; `LogSource(paths)` follows files live (`tail -F`: appends,
logrotate's rename and copytruncate, deletion) after a backlog of the last `backlog_s` seconds.
Formats (`fmt`): "auto" (detected from the first lines), "combined", "common", "combined-rt"
(nginx combined + `$request_time`), "ingress-nginx", "haproxy", "w3c" (IIS), or an nginx
`log_format` string. Paths become routes (`/users/42` → `/users/{id}`, see `routes`).

The spans Table has the usual span columns — `trace_id` and `span_id` (one unique string per
request), `parent_id` "", `service` (the file's name, or the one given), `operation`
("GET /users/{id}"), `kind` "server", `start` (Unix s: the logged time, minus the response time
where the format logs the end), `duration_ms` (NaN when the format has none), `error` (status
≥ 500), `attributes` (`http.route`, `http.request.method`, `http.response.status_code`: one dict
object per distinct combination, shared by its requests) — plus `bytes`, the response size
(NaN for "-"). Rows keep the file's order, so a clock that steps back stays as logged.

Nothing here imports Textual; parsing is pure (bytes in, columns out) and the I/O is confined to
`source.read_log`, `source.LogSource` and `follow.FileTail`.
"""

from __future__ import annotations

from apm_tui.sources.logs.formats import LogFormat, compile_nginx, detect, get_format
from apm_tui.sources.logs.parser import LogParser
from apm_tui.sources.logs.routes import RouteNormaliser, Rule, normalise
from apm_tui.sources.logs.source import LogSource, read_log
from apm_tui.sources.logs.stats import LogStats

__all__ = [
    "LogFormat",
    "LogParser",
    "LogSource",
    "LogStats",
    "RouteNormaliser",
    "Rule",
    "compile_nginx",
    "detect",
    "get_format",
    "normalise",
    "read_log",
]
