"""Access-log formats as compiled bytes regexes, an nginx `log_format` compiler, and detection.

A `LogFormat` is one multiline bytes regex (`strict`) that matches a whole well-formed line and
captures only what a request needs, in named groups:

    t        the time (parsed by `timeparse.PARSERS[time_kind]`); `date` too for W3C
    req      "METHOD /path" without the query, as one group (one bytes object per line)
    method, path   the same two when the format logs them apart (W3C, `$request_method $uri`)
    status   the HTTP status;  bytes  the response size;  dur  the response time
    sb       "status bytes" as one group, where the format logs them side by side (one
             object per line fewer; the parser splits it as a byte matrix)

The parser runs `strict` over whole chunks with `findall`, so every class excludes the newline
and every group is named (findall's tuples are then the groups in order). A line that `strict`
does not match is tried alone against `loose`, which accepts what real logs hold besides
well-formed requests — an empty or binary request (`"-"`, `"\\x16\\x03…"`), a lower-case or
unknown method, a backslash-escaped quote in a user agent — and captures the whole request as
`request`. What neither matches is rejected.

Formats: `combined` (Apache/nginx), `common`, `combined-rt` (combined plus nginx's
`$request_time`), `ingress-nginx` (its default `upstreaminfo`), `haproxy` (the HTTP log, with or
without a syslog header), `w3c` (IIS and other W3C extended logs: the regex is rebuilt from each
`#Fields:` directive), or any nginx `log_format` string (anything containing `$`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apm_tui.sources.base import SourceError
from apm_tui.sources.logs.lines import MAX_LINE

#: The groups a format's regex may capture (see the module docstring).
GROUPS = ("t", "date", "req", "method", "path", "request", "status", "bytes", "sb", "dur")


@dataclass(frozen=True)
class LogFormat:
    name: str
    strict: re.Pattern[bytes]
    loose: re.Pattern[bytes] | None = None
    #: Key of `timeparse.PARSERS`; "" when the log has no time (the read time is used).
    time_kind: str = ""
    #: The time is when the response was sent (nginx, W3C): the start is the time minus `dur`.
    time_is_end: bool = False
    #: Milliseconds per unit of `dur` (1000 for seconds); 0 when the format has no duration.
    dur_ms: float = 0.0
    #: W3C: `#` lines are directives, and `#Fields:` replaces the format.
    w3c: bool = False
    #: W3C: the date of the last `#Date:` directive, for lines that log a time but no date.
    header_date: bytes = b""
    #: The server's own lines, which are no request and no fault of the log (HAProxy's
    #: "Proxy … started.", a failed TLS handshake, a TCP connection's record).
    message: re.Pattern[bytes] | None = None

    @property
    def groups(self) -> tuple[str, ...]:
        names = sorted(self.strict.groupindex.items(), key=lambda kv: kv[1])
        return tuple(name for name, _ in names)


# -- pieces of regex -------------------------------------------------------------------------
# Speed: sre runs a one-character negated class (`[^"]`) much faster than a wider one
# (`[^"\n]`, `\S`), and possessive quantifiers never backtrack. The strict classes may cross a
# newline: a match that spans two lines makes findall's count fall short of the line count, and
# those lines then go one by one (see `parser`), so the fast path stays exact.
CLF_TIME = rb"\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d"
QUOTED = rb'[^"]*+'
QUOTED_ESCAPED = rb'(?:[^"\\\n]++|\\.)*+'
BRACKETED = rb"[^\]]*+"
REQ = rb'(?P<req>[A-Z]++ [^?" ]*+)[^"]*+'
#: Numbers are bounded so the parser can lay them out in a fixed-width byte matrix.
NUMBER = rb"\d{1,9}+(?:\.\d{1,6}+)?"
BYTES = rb"\d{1,15}+"
NUMBER_WIDTH = 24
#: An upstream list: "10.0.0.1:80, 10.0.0.2:80" (tries) or "a : b" (internal redirects).
UPSTREAM = rb'[^\s",]++(?:(?:, | : )[^\s",]++)*+'
#: Unbounded repeats in a strict pattern (not after a backslash: `\+` is a literal plus).
_REPEATS = re.compile(rb"(?<!\\)([*+])([+?])")


def _bounded(body: bytes) -> bytes:
    """Every repeat bounded so that no line longer than `MAX_LINE` can match: the bounds share
    the line's length. A long line then fails the strict regex and is rejected as too long on
    the line-by-line path, which checks the length first. (A lookahead guard would cost ~15 %.)"""
    count = len(_REPEATS.findall(body))
    bound = (MAX_LINE - 4096) // max(count, 1)
    return _REPEATS.sub(
        lambda m: b"{%d,%d}%s" % (0 if m.group(1) == b"*" else 1, bound, m.group(2)), body
    )


def _compile(body: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"^" + _bounded(body) + rb"\r?$", re.MULTILINE)


def _compile_loose(body: bytes) -> re.Pattern[bytes]:
    """Loose patterns run on one line at a time, after its length was checked."""
    return re.compile(rb"^" + body + rb"\r?$")


# -- nginx log_format ------------------------------------------------------------------------
_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_TIMES = {
    "time_local": (rb"(?P<t>" + CLF_TIME + rb" [+-]\d{4})", "clf"),  # `[$time_local]`: see below
    "time_iso8601": (
        rb"(?P<t>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d++)?(?:Z|[+-]\d\d:?\d\d)?)",
        "iso8601",
    ),
    "msec": (rb"(?P<t>\d++\.\d++)", "epoch"),
}


@dataclass
class _Compiled:
    strict: list[bytes]
    loose: list[bytes]
    time_kind: str = ""
    dur_ms: float = 0.0


def _generic(context: str, following: str) -> tuple[bytes, bytes]:
    if context == '"':
        return QUOTED, QUOTED_ESCAPED
    if context == "[":
        return BRACKETED, BRACKETED
    stop = re.escape(following[:1]).encode() if following[:1] not in ("", " ") else b""
    bare = rb"[^ " + stop + rb"]*+"
    return bare, bare


def _variable(name: str, context: str, following: str, out: _Compiled, used: set[str]) -> None:
    """Append the strict and loose patterns for one `$variable`."""
    strict: bytes | None = None
    loose: bytes | None = None
    if name in _TIMES and "t" not in used:
        strict, out.time_kind = _TIMES[name]
        if context == "[":  # the time parser validates it: the regex can be the fast one
            strict = rb"(?P<t>" + BRACKETED + rb")"
        used.add("t")
    elif name == "request" and "req" not in used and "path" not in used:
        if context == '"':
            strict, loose = REQ, rb"(?P<request>" + QUOTED_ESCAPED + rb")"
        else:
            strict = rb"(?P<req>[A-Z]++ [^?\s]*+)\S*+(?: HTTP/[\d.]++)?"
            loose = rb"(?P<request>\S++(?: \S++){0,2})"
        used.update(("req", "method", "path"))
    elif name == "request_method" and "method" not in used:
        strict, loose = rb"(?P<method>[A-Z]++)", rb'(?P<method>[^\s"]++)'
        used.add("method")
    elif name in ("request_uri", "uri", "document_uri") and "path" not in used:
        strict = rb'(?P<path>[^?\s"]*+)[^\s"]*+'
        used.add("path")
    elif name == "status" and "status" not in used:
        strict = rb"(?P<status>\d{3})"
        used.add("status")
    elif name == "status_bytes" and "status" not in used and "bytes" not in used:
        strict = rb"(?P<sb>\d{3} (?:" + BYTES + rb"|-))"
        used.update(("status", "bytes"))
    elif name in ("body_bytes_sent", "bytes_sent") and "bytes" not in used:
        strict = rb"(?P<bytes>" + BYTES + rb"|-)"
        used.add("bytes")
    elif name == "request_time" and "dur" not in used:
        strict, out.dur_ms = rb"(?P<dur>" + NUMBER + rb"|-)", 1000.0
        used.add("dur")
    elif name.startswith("upstream_") and context != '"':
        strict = UPSTREAM
    if strict is None:
        strict, loose = _generic(context, following)
    out.strict.append(strict)
    out.loose.append(strict if loose is None else loose)


def compile_nginx(log_format: str, name: str = "") -> LogFormat:
    """An nginx `log_format` string (as in nginx.conf, without the name) as a LogFormat.

    `$time_local`, `$time_iso8601` or `$msec` give the time (the request's end: nginx logs
    when it finishes), `$request` (or `$request_method` and `$uri`/`$request_uri`) the
    endpoint, `$status`, `$body_bytes_sent`/`$bytes_sent` and `$request_time` (seconds) the rest;
    any other variable is skipped over. `$ident` stands for a field that is usually "-".
    """
    text = log_format.strip().strip("'")
    if "$" not in text:
        raise SourceError(f"log format {log_format!r} has no $variables")
    # Side by side, status and size are captured as one group (see `GROUPS`).
    text = re.sub(r"\$\{?status\}? \$\{?(body_)?bytes_sent\b\}?", "$status_bytes", text, count=1)
    out = _Compiled([], [])
    used: set[str] = set()
    pos = 0
    for match in _VAR.finditer(text):
        literal = text[pos : match.start()]
        out.strict.append(re.escape(literal).encode())
        out.loose.append(out.strict[-1])
        var = match.group(1) or match.group(2)
        context = text[match.start() - 1 : match.start()]
        following = text[match.end() :]
        if context not in ('"', "["):
            context = ""
        _variable(var, context, following, out, used)
        pos = match.end()
    out.strict.append(re.escape(text[pos:]).encode())
    out.loose.append(out.strict[-1])
    if not ({"req", "path"} & used):
        raise SourceError(f"log format {log_format!r} logs no request ($request or $uri)")
    strict = b"".join(out.strict)
    loose = b"".join(out.loose)
    try:
        fmt = LogFormat(
            name=name or "custom",
            strict=_compile(strict),
            loose=_compile_loose(loose),
            time_kind=out.time_kind,
            time_is_end=True,
            dur_ms=out.dur_ms,
        )
    except re.error as exc:  # a variable name can not break the regex, but be sure
        raise SourceError(f"log format {log_format!r} does not compile: {exc}") from None
    return fmt


COMBINED = (
    '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
COMMON = '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent'
INGRESS_NGINX = (
    COMBINED + " $request_length $request_time [$proxy_upstream_name] "
    "[$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length "
    "$upstream_response_time $upstream_status $req_id"
)


# -- HAProxy ---------------------------------------------------------------------------------
_HAPROXY_HEAD = (
    rb"(?:[^\n]*?\]: )?"  # a syslog header and the "haproxy[pid]: " tag, when present
    rb"[^\s\[]++ \[(?P<t>" + CLF_TIME + rb"(?:\.\d++)?)\] \S++ \S++ "
    rb"(?:[+-]?\d{1,9}/){3,5}\+?(?P<dur>-?\d{1,9}) (?P<status>-1|\d{3}) \+?(?P<bytes>"
    + BYTES
    + rb") "
    rb"\S++ \S++ \S{4} [+\d/]++ \d++/\d++ (?:\{[^}\n]*+\} ){0,2}"
)


_HAPROXY_CLIENT = rb"[^\s\[]++ \[" + CLF_TIME + rb"(?:\.\d++)?\] "
#: HAProxy's lines besides its HTTP log: messages after the syslog tag that do not start with
#: a client ("Proxy web started.", "Server app/s1 is DOWN"), the same on stderr ("[WARNING]
#: (7) : …"), a connection error ("… [date] frontend/bind: SSL handshake failure") and a TCP
#: frontend's log (three timers, no HTTP status).
_HAPROXY_MESSAGE = (
    rb"(?:[^\n]*?\bhaproxy\[\d++\]: (?!" + _HAPROXY_CLIENT + rb")"
    rb"|\[[A-Z]++\] *+\(\d++\) : "
    rb"|(?:[^\n]*?\]: )?" + _HAPROXY_CLIENT + rb"(?:[^\s/]++/\S*?: "
    rb"|\S++ \S++ (?:[+-]?\d{1,9}/){2}\+?-?\d{1,9} \+?\d{1,15} \S\S \d))"
)


def _haproxy() -> LogFormat:
    return LogFormat(
        name="haproxy",
        strict=_compile(_HAPROXY_HEAD + rb'"' + REQ + rb'"'),
        loose=_compile_loose(_HAPROXY_HEAD + rb'"(?P<request>' + QUOTED + rb')"'),
        message=re.compile(_HAPROXY_MESSAGE),
        time_kind="clf",
        time_is_end=False,  # the accept date: when the request arrived
        dur_ms=1.0,
    )


# -- W3C extended ----------------------------------------------------------------------------
_W3C_TOKEN = rb'(?:"(?:[^"\n]|"")*+"|\S++)'
_W3C_FIELDS: dict[str, tuple[str, bytes]] = {
    "date": ("date", rb'"?(?P<date>\d{4}-\d\d-\d\d)"?'),
    "time": ("t", rb'"?(?P<t>\d\d:\d\d:\d\d(?:\.\d++)?)"?'),
    "cs-method": ("method", rb'"?(?P<method>[^\s"]++)"?'),
    "cs-uri-stem": ("path", rb'"?(?P<path>[^\s"?]*+)[^\s"]*+"?'),
    # "-" or "" where the server logged none (a connection closed before a response).
    "sc-status": ("status", rb'"?(?P<status>\d{3}|-|(?<=")(?="))"?'),
    "sc-bytes": ("bytes", rb'"?(?P<bytes>' + BYTES + rb'|-)"?'),
    "time-taken": ("dur", rb'"?(?P<dur>' + NUMBER + rb'|-)"?'),
}
_W3C_ALIASES = {
    "date-local": "date",
    "time-local": "time",
    "cs-uri": "cs-uri-stem",
    "bytes": "sc-bytes",
    "timetakenms": "time-taken",
}


def w3c_format(fields: list[str], header_date: bytes = b"") -> LogFormat:
    """The format a `#Fields:` directive describes (IIS's time-taken is milliseconds)."""
    parts: list[bytes] = []
    used: set[str] = set()
    for field in fields:
        key = field.lower()
        key = _W3C_ALIASES.get(key, key)
        group, pattern = _W3C_FIELDS.get(key, ("", _W3C_TOKEN))
        if not group or group in used:
            pattern = _W3C_TOKEN
        used.add(group)
        # Atomic: a quoted value could also be read as bare tokens, and a line that fails
        # would otherwise retry every split of every field (minutes for one 40-field line).
        parts.append(rb"(?>" + pattern + rb")")
    body = rb"[ \t]*+" + rb"[ \t]++".join(parts) + rb"[ \t]*+"
    return LogFormat(
        name="w3c",
        strict=_compile(body),
        loose=_compile_loose(body),
        time_kind="w3c" if "t" in used and ("date" in used or header_date) else "",
        time_is_end=True,  # W3C: "time at which transaction completed"
        dur_ms=1.0 if "dur" in used else 0.0,
        w3c=True,
        header_date=header_date,
    )


#: Before the first `#Fields:` a W3C log has no format: every data line is rejected.
W3C_NO_FIELDS = LogFormat(name="w3c", strict=re.compile(rb"(?!)"), w3c=True)


# -- the registry ----------------------------------------------------------------------------
def _builtin(name: str) -> LogFormat:
    if name == "combined":
        return compile_nginx(COMBINED, "combined")
    if name == "common":
        return compile_nginx(COMMON, "common")
    if name == "combined-rt":
        return compile_nginx(COMBINED + " $request_time", "combined-rt")
    if name == "ingress-nginx":
        return compile_nginx(INGRESS_NGINX, "ingress-nginx")
    if name == "haproxy":
        return _haproxy()
    if name == "w3c":
        return W3C_NO_FIELDS
    raise KeyError(name)


NAMES = ("combined", "common", "combined-rt", "ingress-nginx", "haproxy", "w3c")
ALIASES = {"apache": "combined", "nginx": "combined", "clf": "common", "iis": "w3c"}
_CACHE: dict[str, LogFormat] = {}


def get_format(spec: str) -> LogFormat:
    """A built-in format by name (or alias), or an nginx `log_format` string compiled."""
    key = ALIASES.get(spec.strip().lower(), spec.strip().lower())
    if key in _CACHE:
        return _CACHE[key]
    if key in NAMES:
        fmt = _CACHE[key] = _builtin(key)
        return fmt
    if "$" in spec:
        return compile_nginx(spec)
    known = ", ".join(("auto", *NAMES))
    raise SourceError(f"unknown log format {spec!r}: use one of {known} or an nginx log_format")


# -- detection -------------------------------------------------------------------------------
#: Tried in this order; on a tie the earlier (more specific) format wins.
CANDIDATES = ("ingress-nginx", "combined-rt", "combined", "common", "haproxy")
W3C_DIRECTIVES = (b"#Fields:", b"#Software:", b"#Version:", b"#Date:", b"#Start-Date:")


def matches(fmt: LogFormat, line: bytes) -> bool:
    line = line.rstrip(b"\r")
    if fmt.strict.match(line):
        return True
    return fmt.loose is not None and fmt.loose.match(line) is not None


def detect(sample: bytes, limit: int = 200) -> LogFormat:
    """The format most of the first `limit` non-blank lines match; `SourceError` if none."""
    lines = [ln for ln in sample.split(b"\n", limit)[:limit] if ln.strip()]
    if not lines:
        raise SourceError("the log has no lines to detect its format from")
    if any(ln.startswith(W3C_DIRECTIVES) for ln in lines):
        return get_format("w3c")
    best, best_count = None, 0
    for name in CANDIDATES:
        fmt = get_format(name)
        count = sum(matches(fmt, ln) for ln in lines)
        if count > best_count:
            best, best_count = fmt, count
    if best is None:
        # Cut after repr: a binary file's line is mostly escapes (\x00 is four characters).
        first = repr(lines[0][:120].decode("utf-8", "replace"))
        first = first if len(first) <= 100 else first[:99] + "…"
        n = len(lines)
        which = "its only line (it" if n == 1 else f"the first {n} lines (the first"
        raise SourceError(
            f"no known log format matches {which} is {first}); name one with --log-format (an "
            "nginx log_format string works)"
        )
    return best
