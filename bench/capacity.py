"""Capacity headroom (GET /scheduler/v1/capacity) at N compute hosts.

Builds the cloud of bench/schedule.py (N compute nodes with VCPU, MEMORY_MB
and DISK_GB inventory, random 0-80 % usage, traits, 10 Placement
aggregates, a nova-compute service per node) in a SQLite file, then times
the count of one shape (2 VCPU / 4 GiB / 20 GB, and the same with
`smallest`, which counts a second shape for `stranded`):

    in process   Scheduler.capacity(...) as the API handler calls it;
    over HTTP    GET /scheduler/v1/capacity?resources=... against the app of
                 `corral serve` (noauth2, uvicorn on 127.0.0.1 in a thread),
                 one keep-alive connection, the JSON answer read whole.

Each call counts every host (request filters, candidate search without a
limit, Placement's rules per tree, the default host filters, the answer per
zone, aggregate and host). Prints p50/p99 per way of asking.

    .venv/bin/python bench/capacity.py [--hosts 1000,10000] [--calls 30]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
import uvicorn

from corral.conf import new_conf
from corral.placement.index import PlacementIndex
from corral.placement.request import CandidateRequest, RequestGroup
from corral.scheduler.capacity import CapacityQuery
from corral.scheduler.engine import Scheduler
from corral.service.appfactory import build_app
from corral.service.gc_tuning import tune_gc
from corral.service.profiles import apply_profile
from corral.store import migrate
from corral.store.database import Database
from schedule import SERVICE_DOWN_TIME, bench_cloud, populate_corral

SHAPE = {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20}
SMALLEST = {"VCPU": 1, "MEMORY_MB": 512}


def _text(resources: dict[str, int]) -> str:
    return ",".join(f"{rc}:{n}" for rc, n in resources.items())


def _request(resources: dict[str, int]) -> CandidateRequest:
    return CandidateRequest({"": RequestGroup(resources=resources)})


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _conf() -> Any:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("service_down_time", SERVICE_DOWN_TIME)
    return conf


def in_process(db: Database, calls: int) -> dict[str, list[float]]:
    index = PlacementIndex(db)
    index.load()
    scheduler = Scheduler.from_conf(_conf(), db, index)
    out: dict[str, list[float]] = {}
    for label, query in (
        ("shape", CapacityQuery(_request(SHAPE))),
        ("shape + smallest", CapacityQuery(_request(SHAPE), smallest=_request(SMALLEST))),
    ):
        scheduler.capacity(query)  # warm: caches of the index and the host cache
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            answer = scheduler.capacity(query)
            samples.append(time.perf_counter() - started)
        out[label] = samples
        out[label + " total"] = [float(answer.total)]
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def over_http(url: str, calls: int) -> dict[str, list[float]]:
    conf = _conf()
    overrides = apply_profile(conf, "default")
    app = build_app(conf, url, policy_overrides=overrides)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"x-auth-token": "admin", "accept": "application/json"}
    out: dict[str, list[float]] = {}
    try:
        for label, query in (
            ("shape", f"resources={_text(SHAPE)}"),
            ("shape + smallest", f"resources={_text(SHAPE)}&smallest={_text(SMALLEST)}"),
        ):
            samples = []
            for i in range(calls + 1):
                started = time.perf_counter()
                conn.request("GET", f"/scheduler/v1/capacity?{query}", headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - started
                if resp.status != 200:
                    raise RuntimeError(f"{resp.status}: {body[:500]!r}")
                if i:  # the first call warms up
                    samples.append(elapsed)
            out[label] = samples
            out[label + " bytes"] = [float(len(body))]
            out[label + " total"] = [float(orjson.loads(body)["total"])]
    finally:
        conn.close()
        server.should_exit = True
        thread.join(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1000,10000")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tune_gc()
    rows = []
    for n in (int(v) for v in args.hosts.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/corral.db"
            db = Database(url)
            migrate.upgrade(db)
            populate_corral(db, bench_cloud(n, args.seed))
            local = in_process(db, args.calls)
            remote = over_http(url, args.calls)
            db.dispose()
        for label in ("shape", "shape + smallest"):
            assert local[label + " total"] == remote[label + " total"]
            for way, found in (("in process", local), ("over HTTP", remote)):
                rows.append(
                    (
                        n,
                        label,
                        way,
                        percentile(found[label], 0.5) * 1000,
                        percentile(found[label], 0.99) * 1000,
                        int(found[label + " total"][0]),
                        int(found.get(label + " bytes", [0])[0]),
                    )
                )
    print(f"shape {_text(SHAPE)}; smallest {_text(SMALLEST)}; {args.calls} calls each")
    print(
        f"| {'hosts':>6} | {'query':<16} | {'way':<10} | {'p50 ms':>8} | {'p99 ms':>8} "
        f"| {'fits':>7} | {'answer B':>8} |"
    )
    print(f"|{'-' * 8}|{'-' * 18}|{'-' * 12}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 10}|")
    for n, label, way, p50, p99, total, size in rows:
        shown = f"{size:>8}" if size else f"{'':>8}"
        print(
            f"| {n:>6} | {label:<16} | {way:<10} | {p50:>8.1f} | {p99:>8.1f} "
            f"| {total:>7} | {shown} |"
        )


if __name__ == "__main__":
    main()
