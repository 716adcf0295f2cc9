"""The header's fitting to the terminal's width, part by part (no app needed)."""

from __future__ import annotations

from rich.text import Text

from apm_tui.ui.widgets.header import (
    DROP_ANOMALIES,
    DROP_DATE,
    DROP_HEALTH,
    DROP_PRODUCT,
    DROP_SOURCES,
    KEEP,
    Part,
    date_part,
    fit,
    gist,
)


def replay_parts(status: str = "") -> list[Part]:
    anomalies = Text(" │ anomalies 12" + (f" ({status})" if status else ""))
    short = Text(" │ anom 12" + (f" ({gist(status)})" if status else ""))
    return [
        (KEEP, Text(" REPLAY "), None),
        (DROP_PRODUCT, Text(" apm-tui "), None),
        (DROP_SOURCES, Text(" │ replay x.apmrec"), None),
        (KEEP, Text(" │ "), None),
        (DROP_DATE, Text("2026-12-06 "), None),
        (KEEP, Text("12:34:56 UTC"), None),
        (KEEP, Text(" │ ▶ 0:19 / 2:29:19 ×64"), None),
        (DROP_HEALTH, Text(" │ health 94 EXCELLENT"), Text(" │ 94 EXCELLENT")),
        (KEEP, Text(""), None),
        (DROP_ANOMALIES, anomalies, short),
    ]


def test_parts_go_in_rank_order_and_are_said_shortly_before_the_anomalies_go() -> None:
    parts = replay_parts()
    whole = fit(parts, 200).plain
    assert whole.startswith(" REPLAY  apm-tui  │ replay x.apmrec │ 2026-12-06 12:34:56 UTC")
    assert whole.endswith("│ health 94 EXCELLENT │ anomalies 12")
    assert fit(parts, 100).plain == (
        " REPLAY  │ 2026-12-06 12:34:56 UTC │ ▶ 0:19 / 2:29:19 ×64 │ health 94 EXCELLENT"
        " │ anomalies 12"
    )
    # 83 cells without the date: at 80 the health and the count are said shortly, not lost.
    eighty = " REPLAY  │ 12:34:56 UTC │ ▶ 0:19 / 2:29:19 ×64 │ 94 EXCELLENT │ anom 12"
    assert fit(parts, 83).plain.endswith("│ health 94 EXCELLENT │ anomalies 12")
    assert fit(parts, 80).plain == eighty and fit(parts, len(eighty)).plain == eighty
    assert fit(parts, len(eighty) - 1).plain.endswith("×64 │ 94 EXCELLENT")
    narrow = " REPLAY  │ 12:34:56 UTC │ ▶ 0:19 / 2:29:19 ×64"
    assert fit(parts, 60).plain == narrow
    # What is kept always stays; drawn narrower than that, the line ends in an ellipsis.
    tight = fit(parts, 30)
    assert tight.plain == narrow and tight.overflow == "ellipsis" and tight.no_wrap


def test_a_detector_status_is_said_by_its_gist() -> None:
    assert gist("warming up: 123 / 260 samples") == "warming up"
    assert gist("fitting on 1,234 samples") == "fitting"
    assert gist("no metric samples yet: requests become one a minute") == ("no metric samples yet")
    parts = replay_parts("warming up: 123 / 260 samples")
    assert fit(parts, 90).plain.endswith("│ 94 EXCELLENT │ anom 12 (warming up)")


def test_a_pause_on_an_earlier_day_keeps_its_date_said_shortly() -> None:
    """Regression: at 80 columns `home` on yesterday's data showed 00:06:49 and `end` today's
    00:05:58, the start of the window reading as later than its end."""
    shown = 1_764_979_609.0  # 2025-12-06 00:06:49 UTC
    yesterday = date_part(shown, "2025-12-06", behind=86_400.0)
    same_day = date_part(shown, "2025-12-06", behind=60.0)
    live = date_part(shown, "2025-12-06", behind=0.0)
    assert same_day[0] == live[0] == DROP_DATE
    parts = [
        (KEEP, Text(" PAUSED "), None),
        (KEEP, Text(" │ "), None),
        yesterday,
        (KEEP, Text("00:06:49 UTC"), None),
        (KEEP, Text(" │ ‖ 24:00:00 behind live"), None),
        (DROP_HEALTH, Text(" │ health 94 EXCELLENT"), Text(" │ 94 EXCELLENT")),
        (DROP_ANOMALIES, Text(" │ anomalies 0"), Text(" │ anom 0")),
    ]
    assert fit(parts, 200).plain.startswith(" PAUSED  │ 2025-12-06 00:06:49 UTC │")
    assert fit(parts, 80).plain == (
        " PAUSED  │ 12-06 00:06:49 UTC │ ‖ 24:00:00 behind live │ 94 EXCELLENT │ anom 0"
    )
    assert fit(parts, 50).plain == " PAUSED  │ 12-06 00:06:49 UTC │ ‖ 24:00:00 behind live"
    same_day_parts = [same_day if part is yesterday else part for part in parts]
    assert fit(same_day_parts, 80).plain.startswith(" PAUSED  │ 00:06:49 UTC │")


def test_a_span_is_said_shortly() -> None:
    from apm_tui.ui.textfmt import span

    said = [span(s) for s in (45, 35 * 60, 5400, 86_340, 86_400, 3 * 86_400, 36 * 3600)]
    assert said == ["45 s", "35 min", "1.5 h", "24 h", "24 h", "3 d", "36 h"]
    assert span(float("nan")) == "" and span(-1) == ""


def test_an_otlp_header_at_80_columns_says_what_was_refused_and_ends_in_an_ellipsis() -> None:
    """Regression (80×24, OTLP): the line was cut at the 80th cell mid-phrase and without an
    ellipsis — "(1 rejected, 3 requests" read as three requests, "refused" lost."""
    from apm_tui.ui.widgets.header import StatusHeader, input_counts

    status = {"otlp": {"listen": "127.0.0.1:4318", "received": 5251, "rejected": 1,
                       "refused_requests": 3}}  # fmt: skip
    counts = input_counts(status)
    assert counts.plain == " │ otlp 127.0.0.1:4318: 5,251 spans (1 rejected, 3 requests refused)"
    parts: list[Part] = [
        (KEEP, Text(" LIVE "), None),
        (DROP_PRODUCT, Text(" apm-tui "), None),
        (KEEP, Text(" │ "), None),
        (DROP_DATE, Text("2026-12-06 "), None),
        (KEEP, Text("21:54:51 UTC"), None),
        (KEEP, counts, input_counts(status, short=True)),
        (DROP_ANOMALIES, Text(" │ anomalies 0"), Text(" │ anom 0")),
    ]
    eighty = fit(parts, 80).plain
    assert eighty == " LIVE  │ 21:54:51 UTC │ otlp: 5,251 spans (1 rejected, 3 refused) │ anom 0"
    header = StatusHeader()
    header._parts = parts
    drawn = header.wrapped(None, 40)[0]  # type: ignore[arg-type]  # (fit needs no console)
    assert drawn.cell_len == 40 and drawn.plain.endswith("…")


def test_the_date_comes_back_where_it_fits_once_the_rest_is_said_shortly() -> None:
    """Regression: a log's header at 80 columns (`LIVE │ 16:20:14 UTC │ 70 FAIR │ anom 0
    (warming up)`, 54 cells) had lost its 2019 date on the way to saying the health shortly,
    though it would have fitted."""
    parts = [
        (KEEP, Text(" LIVE "), None),
        (DROP_PRODUCT, Text(" apm-tui "), None),
        (DROP_SOURCES, Text(" │ log haproxy.log"), None),
        (KEEP, Text(" │ "), None),
        (DROP_DATE, Text("2019-02-25 "), None),
        (KEEP, Text("16:20:14 UTC"), None),
        (DROP_HEALTH, Text(" │ health 70 FAIR"), Text(" │ 70 FAIR")),
        (KEEP, Text(""), None),
        (
            DROP_ANOMALIES,
            Text(" │ anomalies 0 (warming up: 3 / 260 samples, the first model at 260)"),
            Text(" │ anom 0 (warming up)"),
        ),
    ]
    dated = " LIVE  │ 2019-02-25 16:20:14 UTC │ 70 FAIR │ anom 0 (warming up)"
    assert fit(parts, 80).plain == dated
    assert fit(parts, 82).plain == dated.replace(" LIVE  │", " LIVE  │ log haproxy.log │")
    assert fit(parts, 60).plain == " LIVE  │ 16:20:14 UTC │ 70 FAIR │ anom 0 (warming up)"
