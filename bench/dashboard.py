"""Dashboard page render times at N compute hosts.

Builds the cloud of bench/schedule.py (N compute nodes with VCPU, MEMORY_MB
and DISK_GB inventory, random 0-80 % usage, traits, aggregates, a
nova-compute service per node) in a SQLite file, serves the app of `corral
serve` (noauth2, uvicorn on 127.0.0.1 in a thread), logs in through the
dashboard's form as a browser does (CSRF cookie, token cookie) and times
each page over one keep-alive connection, the HTML read whole:

    overview        /dashboard: utilisation tables, the host map of every
                    host, the first page of the host table
    live            /dashboard/live: what htmx fetches every 10 s
    overview p.100  /dashboard?page=100 (the last page at 5,000 hosts)
    host            /dashboard/hosts/{host}
    host + explain  the same with a flavor: the explain bound to that host
    capacity        /dashboard/capacity for one flavor, per zone
    explain         POST /dashboard/explain for one flavor

Prints p50/p99 per page and the size of the answer.

    .venv/bin/python bench/dashboard.py [--hosts 1000,10000] [--calls 20]
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn

from candidates import free_port
from corral.conf import new_conf
from corral.service.appfactory import build_app
from corral.service.gc_tuning import tune_gc
from corral.service.profiles import apply_profile
from corral.store import migrate
from corral.store.database import Database
from schedule import SERVICE_DOWN_TIME, bench_cloud, populate_corral

FLAVOR = {"vcpus": "2", "memory_mb": "4096", "disk_gb": "20"}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Browser:
    """One keep-alive connection with the dashboard's cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["content-type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("set-cookie") or ():
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data

    def csrf(self) -> str:
        return self.cookies["corral_dashboard_csrf"]


def pages(host: str) -> list[tuple[str, str, str, dict[str, str] | None]]:
    flavor = urlencode(FLAVOR)
    return [
        ("overview", "GET", "/dashboard", None),
        ("live", "GET", "/dashboard/live", None),
        ("overview p.100", "GET", "/dashboard?page=100", None),
        ("host", "GET", f"/dashboard/hosts/{host}", None),
        ("host + explain", "GET", f"/dashboard/hosts/{host}?{flavor}", None),
        ("capacity", "GET", f"/dashboard/capacity?{flavor}", None),
        ("explain", "POST", "/dashboard/explain", dict(FLAVOR)),
    ]


def measure(url: str, host: str, calls: int) -> list[tuple[str, list[float], int]]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("service_down_time", SERVICE_DOWN_TIME)
    app = build_app(conf, url, policy_overrides=apply_profile(conf, "default"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    browser = Browser(port)
    out = []
    try:
        status, _ = browser.request("GET", "/dashboard/login")
        assert status == 200, status
        status, _ = browser.request(
            "POST", "/dashboard/login", {"csrf_token": browser.csrf(), "token": "admin"}
        )
        assert status == 303, status
        for label, method, path, form in pages(host):
            samples = []
            size = 0
            for i in range(calls + 1):
                fields = {**form, "csrf_token": browser.csrf()} if form is not None else None
                started = time.perf_counter()
                status, body = browser.request(method, path, fields)
                elapsed = time.perf_counter() - started
                if status != 200:
                    raise RuntimeError(f"{label}: {status}: {body[-500:]!r}")
                if i:  # the first call warms up
                    samples.append(elapsed)
                size = len(body)
            assert re.search(rb"<h1>|<section", body), label
            out.append((label, samples, size))
    finally:
        browser.conn.close()
        server.should_exit = True
        thread.join(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1000,10000")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tune_gc()
    rows = []
    for n in (int(v) for v in args.hosts.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/corral.db"
            db = Database(url)
            migrate.upgrade(db)
            cloud = bench_cloud(n, args.seed)
            populate_corral(db, cloud)
            db.dispose()
            for label, samples, size in measure(url, cloud.hosts[n // 2].name, args.calls):
                rows.append((n, label, percentile(samples, 0.5), percentile(samples, 0.99), size))
    print(f"flavor {FLAVOR}; {args.calls} calls per page after one warm-up; one connection")
    print(f"| {'hosts':>6} | {'page':<15} | {'p50 ms':>8} | {'p99 ms':>8} | {'HTML KB':>8} |")
    print(f"|{'-' * 8}|{'-' * 17}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for n, label, p50, p99, size in rows:
        print(
            f"| {n:>6} | {label:<15} | {p50 * 1000:>8.1f} | {p99 * 1000:>8.1f} "
            f"| {size / 1024:>8.1f} |"
        )


if __name__ == "__main__":
    main()
