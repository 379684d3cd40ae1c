"""Scheduling throughput of 1, 2 and 4 corral processes on one PostgreSQL and RabbitMQ.

For each process count: a fresh PostgreSQL database, that many `corral
serve` processes (one API and one RPC worker each, one topic), 100 compute
hosts registered over HTTP with room for every instance, then N
one-instance `select_destinations` calls from oslo.messaging's RPC client
(the one Nova's conductor uses), 32 in flight. It prints requests per
second and the latency of each call (from the client's send to its answer,
the claim committed), and checks the invariants afterwards (no
over-commit, an instance for every Selection and allocations for every
instance).

    .venv/bin/python bench/scaleout.py [--requests 3000] [--processes 1,2,4]
        [--pg-admin postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--rabbit rabbit://guest:guest@127.0.0.1:5672/]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.functional.rpc_cluster import (
    Outcome,
    add_hosts,
    check_invariants,
    cluster,
    request_spec,
    schedule,
)

from corral.store import migrate
from corral.store.database import Database

HOSTS = 100
INVENTORY = {"VCPU": 100_000, "MEMORY_MB": 100_000_000, "DISK_GB": 10_000_000}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


def run(admin_url: str, rabbit: str, processes: int, requests: int) -> tuple[float, list[float]]:
    name = f"corral_scaleout_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        with (
            tempfile.TemporaryDirectory() as tmp,
            cluster(Path(tmp), url, rabbit, processes) as (services, topic),
        ):
            add_hosts(services[0], HOSTS, INVENTORY)
            spec = request_spec(1, 512, 1)
            warm = schedule(rabbit, topic, spec, 50, threads=8)  # every worker warmed up
            outcome = schedule(rabbit, topic, spec, requests, threads=32)
        for part in (warm, outcome):
            if part.errors or part.no_valid_host:
                raise RuntimeError(f"{part.no_valid_host} NoValidHost, errors {part.errors[:3]}")
        check_invariants(url, Outcome(placed={**warm.placed, **outcome.placed}))
        return requests / outcome.seconds, outcome.latencies
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument(
        "--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--rabbit", default="rabbit://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args()
    counts = [int(p) for p in args.processes.split(",")]
    if not 1 <= args.requests <= 1_000_000 or not counts or not all(1 <= p <= 16 for p in counts):
        parser.error("--requests 1..1,000,000; --processes between 1 and 16 each")
    rows = []
    for processes in counts:
        rate, latencies = run(args.pg_admin, args.rabbit, processes, args.requests)
        rows.append((processes, rate, latencies))
        print(f"{processes} process(es): {rate:.0f} requests/s", flush=True)
    print()
    print("| processes | requests | requests/s | p50 ms | p90 ms | p99 ms | speed-up |")
    print("|---|---|---|---|---|---|---|")
    base = rows[0][1]
    for processes, rate, latencies in rows:
        print(
            f"| {processes} | {len(latencies)} | {rate:,.0f} | "
            f"{statistics.median(latencies) * 1000:.1f} | "
            f"{percentile(latencies, 0.9):.1f} | {percentile(latencies, 0.99):.1f} | "
            f"{rate / base:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
