"""A real nginx writes the access log; the dashboard's engine reads it and must agree with what
the client sent: the request count, the status mix, the error rate and the P95 response time."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from apm_tui.commands.dashboard import DashboardOptions, make_engine
from apm_tui.config import Thresholds
from tests.nginx_server import NGINX, running_nginx

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run does)")

#: A bounded burst: (method, path, expected status), each sent `count` times.
BURST = [
    ("GET", "/api/users/{n}", 200, 120),
    ("GET", "/slow/40", 200, 30),
    ("GET", "/slow/120", 200, 10),
    ("GET", "/api/search?q=item{n}", 200, 15),
    ("POST", "/api/orders", 201, 20),
    ("GET", "/boom", 500, 12),
    ("GET", "/missing", 404, 8),
]


def send(port: int) -> tuple[Counter[int], list[float]]:
    statuses: Counter[int] = Counter()
    seconds: list[float] = []
    requests = [(m, p.format(n=i), s) for m, p, s, count in BURST for i in range(count)]
    order = np.random.default_rng(7).permutation(len(requests))
    for k in order.tolist():
        method, path, expected = requests[k]
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=b"{}" if method == "POST" else None,
            method=method,
        )
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as err:
            status = err.code
        seconds.append(time.perf_counter() - began)
        assert status == expected, (path, status)
        statuses[status] += 1
    return statuses, seconds


def test_the_dashboard_agrees_with_what_was_sent_to_a_real_nginx(tmp_path: Path) -> None:
    with running_nginx(tmp_path) as (port, log):
        statuses, seconds = send(port)
        time.sleep(0.3)  # nginx writes each line when its request ends; let the last land
        engine = make_engine(
            DashboardOptions(sources=("log",), logs=(str(log),), backlog_s=3600), Thresholds()
        )
        try:
            snap = engine.step(time.time())
            sent = sum(statuses.values())
            requests = engine.window.requests.view()
            assert len(requests) == sent
            spans = engine.window.spans.view()
            logged = Counter(int(a["http.response.status_code"]) for a in spans["attributes"])
            assert logged == statuses
            errors = statuses[500] / sent * 100
            assert np.mean(requests["error"]) * 100 == pytest.approx(errors)
            # nginx's $request_time is in milliseconds and ends before the client's clock does.
            client_p95 = float(np.percentile(np.array(seconds) * 1000, 95))
            assert client_p95 - 15 <= snap.live.current["rt_p95"] <= client_p95 + 1
            endpoints = {e.name: e for e in snap.live.endpoints}
            assert endpoints["/api/users/{id}"].requests == 120  # ids grouped by route
            assert endpoints["/api/search"].requests == 15  # the query string dropped
            slow = endpoints["/slow/{id}"]
            assert slow.requests == 40 and slow.p50_ms >= 38 and slow.p99_ms >= 118
            assert endpoints["/boom"].error_rate_pct == 100

            # New requests are followed like tail -F: the next tick has them.
            more, _ = send(port)
            time.sleep(0.3)
            engine.step(time.time())
            assert len(engine.window.requests.view()) == sent + sum(more.values())
        finally:
            engine.close()
