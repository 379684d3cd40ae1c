"""select_destinations end to end: corral's scheduler against Nova 34's own.

Builds the cloud of bench/candidates.py (N compute nodes with VCPU,
MEMORY_MB and DISK_GB inventory, random 0-80 % usage, traits, 10 Placement
aggregates; every node also has OWNER_NOVA, which Nova 34 requires) twice,
on the same machine, in one run:

    nova    upstream openstack-placement 16.0.0 (one process, over real HTTP)
            and Nova 34.0.0's SchedulerManager.select_destinations, run in
            the Nova virtualenv by bench/_nova_driver.py: request filters,
            GET /allocation_candidates (limit 1000), HostState objects,
            HostFilterHandler and HostWeightHandler with Nova's default
            filters and weighers, PUT /allocations/{consumer}, alternates.
    corral  corral.scheduler.engine.Scheduler.select_destinations in this
            process over a SQLite database (or PostgreSQL with --postgresql),
            with the same default filters and weighers: candidates from the
            in-memory index, host filters and weighers over a HostBatch, the
            claim (allocations and the instance record) committed.

Each decision is one instance of a 2 VCPU / 4 GiB / 20 GB flavor with
alternates; its time runs from the call to its return, so the claim is
persisted before the clock stops. Two ways of asking, both in one process:

    one at a time   decisions one after the other: decisions per second is
                    1 / mean latency, with p50/p90/p99, for both sides;
    burst           --callers threads (default 32) calling select_destinations
                    at once, as an RPC or API worker's threads do under a boot
                    storm, until --burst decisions are made: decisions per
                    second is decisions / wall time. corral decides concurrent
                    requests in rounds ([scheduler] decision_round_size).
                    Nova's side is not run this way; its ceiling in one
                    process is printed instead: 1 / the CPU seconds its
                    scheduler process spent per decision (one at a time;
                    Placement's CPU is in another process), since one Python
                    process cannot spend more CPU seconds than wall seconds.

The Nova virtualenv is ~/.cache/corral-nova34-venv (CORRAL_NOVA_VENV; the
one tests/functional/test_rpc_nova.py uses), created with nova==34.0.0 from
PyPI when absent; upstream Placement's is found or made as in
bench/candidates.py. Nova stops after --nova-budget seconds per size.

    .venv/bin/python bench/schedule.py [--hosts 1000,10000] [--decisions 1000]
        [--postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, func, insert, select, text

from candidates import (
    _UPSTREAM_SERVER,
    RATIOS,
    RESERVED,
    CloudSpec,
    Timing,
    build_upstream_db,
    existing_traits,
    free_port,
    make_cloud,
    serve,
    upstream_venv,
    write_rows,
)
from corral.conf import new_conf
from corral.placement.index import PlacementIndex
from corral.placement.index.refresher import IndexRefresher
from corral.scheduler.engine import Scheduler
from corral.scheduler.spec import Flavor, NoValidHost, RequestSpec
from corral.service.gc_tuning import tune_gc
from corral.store import migrate, tables
from corral.store.database import Database, record_changes, utcnow
from corral.store.resource_classes import STANDARD_IDS

NOVA_VERSION = "34.0.0"
NOVA_VENV = Path(os.environ.get("CORRAL_NOVA_VENV", Path.home() / ".cache" / "corral-nova34-venv"))
DRIVER = Path(__file__).with_name("_nova_driver.py")
FLAVOR = {"vcpus": 2, "memory_mb": 4096, "root_gb": 20}
OWNER_TRAIT = "OWNER_NOVA"
# Both sides count a service as up for this long after the one heartbeat the
# bench writes, so a long Nova run cannot turn hosts down under corral.
SERVICE_DOWN_TIME = 3600
CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")
Rows = list[dict[str, Any]]


# --- the cloud, as each side stores it ------------------------------------------


def bench_cloud(n: int, seed: int) -> CloudSpec:
    cloud = make_cloud(n, seed)
    cloud.traits.append(OWNER_TRAIT)
    for host in cloud.hosts:
        host.traits.append(OWNER_TRAIT)
    return cloud


def host_ip(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def populate_corral(db: Database, cloud: CloudSpec) -> None:
    """Providers, inventories, usage, traits and aggregates (as bench/candidates.py
    writes them), plus a compute host row and a nova-compute service per node."""
    now = utcnow()
    with db.write() as conn:
        trait_ids = {r.name: r.id for r in conn.execute(select(tables.traits))}
        for name in cloud.traits:
            if name not in trait_ids:
                trait_ids[name] = conn.execute(
                    insert(tables.traits).values(name=name, created_at=now)
                    .returning(tables.traits.c.id)
                ).scalar_one()  # fmt: skip
        conn.execute(
            insert(tables.placement_aggregates),
            [{"id": i + 1, "uuid": u, "created_at": now} for i, u in enumerate(cloud.aggregates)],
        )
        for owners in (tables.projects, tables.users):
            conn.execute(insert(owners), [{"id": 1, "external_id": "bench", "created_at": now}])
        providers: Rows = []
        inventories: Rows = []
        consumers: Rows = []
        allocations: Rows = []
        traits: Rows = []
        members: Rows = []
        nodes: Rows = []
        services: Rows = []
        for pid, host in enumerate(cloud.hosts, start=1):
            providers.append(
                {"id": pid, "uuid": host.uuid, "name": host.name, "generation": 1,
                 "root_provider_id": pid, "parent_provider_id": None, "created_at": now}
            )  # fmt: skip
            consumer = str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, host.uuid))
            if any(host.used):
                consumers.append(
                    {"uuid": consumer, "project_id": 1, "user_id": 1, "generation": 1,
                     "created_at": now}
                )  # fmt: skip
            for rc, (total, used) in enumerate(zip(host.totals, host.used, strict=True)):
                inventories.append(
                    {"resource_provider_id": pid, "resource_class_id": STANDARD_IDS[CLASSES[rc]],
                     "total": total, "reserved": RESERVED[rc], "min_unit": 1, "max_unit": total,
                     "step_size": 1, "allocation_ratio": RATIOS[rc], "created_at": now}
                )  # fmt: skip
                if used:
                    allocations.append(
                        {"resource_provider_id": pid, "consumer_id": consumer,
                         "resource_class_id": STANDARD_IDS[CLASSES[rc]], "used": used,
                         "created_at": now}
                    )  # fmt: skip
            traits.extend(
                {"trait_id": trait_ids[t], "resource_provider_id": pid, "created_at": now}
                for t in host.traits
            )
            members.append(
                {"resource_provider_id": pid, "aggregate_id": host.aggregate + 1, "created_at": now}
            )
            nodes.append(
                {"host": host.name, "nodename": host.name, "provider_uuid": host.uuid,
                 "hypervisor_type": "QEMU", "hypervisor_version": 8002000,
                 "hypervisor_hostname": host.name, "cpu_info": {"arch": "x86_64"},
                 "capabilities": {}, "metrics": {},
                 "supported_instances": [["x86_64", "kvm", "hvm"]], "host_ip": host_ip(pid),
                 "numa_topology": None, "pci_stats": [], "num_io_ops": 0, "failed_builds": 0,
                 "cell_uuid": None, "created_at": now}
            )  # fmt: skip
            services.append(
                {"host": host.name, "binary": "nova-compute", "disabled": False,
                 "forced_down": False, "last_heartbeat": now, "created_at": now}
            )  # fmt: skip
        for table, rows in (
            (tables.resource_providers, providers),
            (tables.inventories, inventories),
            (tables.consumers, consumers),
            (tables.allocations, allocations),
            (tables.resource_provider_traits, traits),
            (tables.resource_provider_aggregates, members),
            (tables.compute_hosts, nodes),
            (tables.compute_services, services),
        ):
            if rows:
                conn.execute(insert(table), rows)
        if conn.dialect.name == "postgresql":
            # Rows written with explicit ids leave the sequences behind.
            for table in (tables.resource_providers, tables.placement_aggregates,
                          tables.projects, tables.users):  # fmt: skip
                top = conn.execute(select(func.max(table.c.id))).scalar_one()
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {top})")
                )
        record_changes(conn, [1], "provider")


def nova_nodes(cloud: CloudSpec) -> list[dict[str, Any]]:
    return [
        {
            "uuid": host.uuid,
            "host": host.name,
            "host_ip": host_ip(pid),
            "totals": list(host.totals),
            "used": list(host.used),
            "reserved_memory_mb": RESERVED[1],
            "ratios": list(RATIOS),
        }
        for pid, host in enumerate(cloud.hosts, start=1)
    ]


# --- the two sides ------------------------------------------------------------------


def nova_python() -> Path:
    """The Nova virtualenv's interpreter, building the virtualenv when absent."""
    python = NOVA_VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('nova'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == NOVA_VERSION:
            return python
    print(f"creating {NOVA_VENV} with nova=={NOVA_VERSION} (several minutes) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(NOVA_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"nova=={NOVA_VERSION}"], check=True
    )
    return python


def run_nova(
    python: Path, venv: Path, state: Path, cloud: CloudSpec, args: argparse.Namespace
) -> dict[str, Any]:
    """Upstream Placement over the cloud, and Nova's scheduler deciding against it."""
    up_db = build_upstream_db(venv, state)
    write_rows(up_db, cloud, existing_traits(up_db))
    port = free_port()
    cmd = [str(venv / "bin/python"), "-c", _UPSTREAM_SERVER, str(port)]
    with serve(cmd, port, {"OS_PLACEMENT_CONFIG_DIR": str(state)}) as url:
        setup = state / "nova-setup.json"
        setup.write_text(
            json.dumps(
                {
                    "placement_url": url,
                    "cell_uuid": str(uuidlib.uuid4()),
                    "nodes": nova_nodes(cloud),
                    "flavor": FLAVOR,
                    "warmup": args.warmup,
                    "decisions": args.nova_decisions or args.decisions,
                    "min_decisions": 3,
                    "budget_s": args.nova_budget,
                    "service_down_time": SERVICE_DOWN_TIME,
                }
            )
        )
        done = subprocess.run(
            [str(python), str(DRIVER), str(setup)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"the Nova driver failed:\n{done.stderr[-4000:]}")
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    # Every decision, warm-up included, must have left its claim in Placement.
    conn = sqlite3.connect(up_db)
    try:
        (consumers,) = conn.execute("SELECT COUNT(*) FROM consumers").fetchone()
    finally:
        conn.close()
    claimed = consumers - sum(1 for host in cloud.hosts if any(host.used))
    decided = args.warmup + len(result["samples"])
    if claimed != decided:
        raise RuntimeError(f"Placement holds {claimed} claims after {decided} decisions")
    return result


@contextlib.contextmanager
def corral_database(state: Path, pg_admin: str | None) -> Iterator[Database]:
    """A fresh, migrated database: a SQLite file, or a throwaway PostgreSQL database."""
    if pg_admin is None:
        db = Database(f"sqlite:///{state / 'corral.db'}")
        try:
            migrate.upgrade(db)
            yield db
        finally:
            db.dispose()
        return
    name = f"corral_bench_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(pg_admin.rsplit("/", 1)[0] + f"/{name}")
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def corral_burst(scheduler: Scheduler, flavor: Flavor, args: argparse.Namespace) -> dict[str, Any]:
    """--burst decisions from --callers threads at once: latencies and wall time.

    Each caller asks again as soon as it has its answer, as an RPC or API
    worker's thread does under a boot storm, until --burst decisions are made.
    """
    tickets = itertools.count()  # next() on it is atomic: no lock needed
    answers: list[tuple[float, bool]] = []

    def caller() -> None:
        while next(tickets) < args.burst:
            instance_uuid = str(uuidlib.uuid4())
            spec = RequestSpec(
                flavor=flavor, project_id="bench", user_id="bench", instance_uuid=instance_uuid
            )
            t0 = time.perf_counter()
            refused = False
            try:
                scheduler.select_destinations(spec, [instance_uuid], return_alternates=True)
            except NoValidHost:
                refused = True
            answers.append((time.perf_counter() - t0, refused))

    threads = [threading.Thread(target=caller) for _ in range(args.callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "samples": [elapsed for elapsed, _refused in answers],
        "wall": wall,
        "refused": sum(refused for _elapsed, refused in answers),
    }


def run_corral(db: Database, cloud: CloudSpec, args: argparse.Namespace) -> dict[str, Any]:
    populate_corral(db, cloud)
    index = PlacementIndex(db)
    index.load()
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("service_down_time", SERVICE_DOWN_TIME)
    scheduler = Scheduler.from_conf(conf, db, index)
    # as an API or RPC worker does: its refresher thread keeps the index current
    refresher = IndexRefresher(index, retention=conf.placement.change_log_retention)
    refresher.start()
    try:
        return decide_all(db, scheduler, args)
    finally:
        refresher.stop()


def decide_all(db: Database, scheduler: Scheduler, args: argparse.Namespace) -> dict[str, Any]:
    """One at a time, then the burst; checks that every decision was recorded."""
    tune_gc()  # as an API or RPC worker does
    flavor = Flavor(
        vcpus=FLAVOR["vcpus"],
        memory_mb=FLAVOR["memory_mb"],
        root_gb=FLAVOR["root_gb"],
        name="bench",
        flavorid="1",
    )
    samples: list[float] = []
    alternates = 0
    chosen: set[str] = set()
    for n in range(args.warmup + args.decisions):
        instance_uuid = str(uuidlib.uuid4())
        spec = RequestSpec(
            flavor=flavor, project_id="bench", user_id="bench", instance_uuid=instance_uuid
        )
        t0 = time.perf_counter()
        selections = scheduler.select_destinations(spec, [instance_uuid], return_alternates=True)
        elapsed = time.perf_counter() - t0
        if n < args.warmup:
            continue
        samples.append(elapsed)
        alternates += len(selections[0]) - 1
        chosen.add(selections[0][0].compute_node_uuid)
    burst = corral_burst(scheduler, flavor, args) if args.burst else None
    with db.read() as conn:
        claimed = conn.execute(select(func.count()).select_from(tables.instances)).scalar_one()
    decided = args.warmup + len(samples)
    if burst is not None:
        decided += len(burst["samples"]) - burst["refused"]
    if claimed != decided:
        raise RuntimeError(f"corral recorded {claimed} instances after {decided} decisions")
    return {
        "samples": samples,
        "alternates": alternates,
        "distinct_hosts": len(chosen),
        "burst": burst,
    }


# --- the report ---------------------------------------------------------------------


def row(n: int, side: str, result: dict[str, Any]) -> tuple[int, str, Timing, float, dict]:
    timing = Timing(result["samples"], 0)
    rate = len(timing.samples) / sum(timing.samples)
    return n, side, timing, rate, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="1000,10000", help="comma-separated sizes")
    parser.add_argument("--decisions", type=int, default=1000, help="timed decisions per side")
    parser.add_argument(
        "--nova-decisions", type=int, default=0, help="Nova's decisions (default: --decisions)"
    )
    parser.add_argument(
        "--nova-budget", type=float, default=120.0, help="seconds of Nova decisions per size"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed decisions first")
    parser.add_argument(
        "--burst",
        type=int,
        default=3000,
        help="corral's decisions from --callers at once (0: none)",
    )
    parser.add_argument("--callers", type=int, default=32, help="threads calling at once")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--postgresql",
        metavar="ADMIN_URL",
        help="run corral on PostgreSQL: a URL allowed to create (and drop) a scratch database",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.hosts.split(",")]
    if not sizes or min(sizes) < 10 or max(sizes) > 1_000_000:
        parser.error("--hosts: sizes between 10 and 1,000,000")
    if not 1 <= args.decisions <= 1_000_000 or not 0 <= args.nova_decisions <= 1_000_000:
        parser.error("--decisions / --nova-decisions: between 1 and 1,000,000")
    if not 0 <= args.warmup <= 1000:
        parser.error("--warmup: between 0 and 1000")
    if not 0 <= args.burst <= 1_000_000 or not 1 <= args.callers <= 1024:
        parser.error("--burst: between 0 and 1,000,000; --callers: between 1 and 1024")
    python = nova_python()
    venv = upstream_venv()
    backend = "postgresql" if args.postgresql else "sqlite"
    rows = []
    for n in sizes:
        cloud = bench_cloud(n, args.seed)
        with tempfile.TemporaryDirectory(prefix="corral-bench-") as tmp:
            state = Path(tmp)
            started = time.monotonic()
            with corral_database(state, args.postgresql) as db:
                corral = row(n, f"corral ({backend})", run_corral(db, cloud, args))
            print(f"N={n:,}: corral done in {time.monotonic() - started:.0f}s", flush=True)
            started = time.monotonic()
            nova = row(n, "nova 34 + placement 16", run_nova(python, venv, state, cloud, args))
            print(
                f"N={n:,}: nova done in {time.monotonic() - started:.0f}s; filters "
                f"{','.join(nova[4]['enabled_filters'])}; weighers {len(nova[4]['weighers'])}; "
                f"max_placement_results {nova[4]['max_placement_results']}",
                flush=True,
            )
        rows.append((corral, nova))
    print()
    print("| N | side | decisions | decisions/s | p50 ms | p90 ms | p99 ms | alternates |")
    print("|---|---|---|---|---|---|---|---|")
    for corral, nova in rows:
        for n, side, t, rate, result in (corral, nova):
            alts = result["alternates"] / len(t.samples)
            print(
                f"| {n:,} | {side} | {len(t.samples)} | {rate:,.1f} | {t.pct(0.5):.2f} | "
                f"{t.pct(0.9):.2f} | {t.pct(0.99):.2f} | {alts:.1f} |"
            )
        c, v = corral[2], nova[2]
        print(
            f"| {corral[0]:,} | corral/Nova | | {corral[3] / nova[3]:,.0f}x | "
            f"{v.pct(0.5) / c.pct(0.5):,.0f}x | {v.pct(0.9) / c.pct(0.9):,.0f}x | "
            f"{v.pct(0.99) / c.pct(0.99):,.0f}x | |"
        )
    print(
        "\nOne decision at a time, one instance each, alternates on; decisions/s is "
        "1 / mean latency. Latency ratios are Nova's over corral's."
    )
    if args.burst:
        print_burst(rows, args)
    return 0


def print_burst(rows: list[tuple[Any, Any]], args: argparse.Namespace) -> None:
    print(f"\nBurst: {args.callers} callers at once, one process")
    print()
    print(
        "| N | corral decisions/s | p50 ms | p99 ms | refused | "
        "Nova ceiling decisions/s | corral/Nova ceiling |"
    )
    print("|---|---|---|---|---|---|---|")
    for corral, nova in rows:
        burst = corral[4]["burst"]
        timing = Timing(burst["samples"], 0)
        rate = len(burst["samples"]) / burst["wall"]
        cpu = nova[4]["cpu"]
        ceiling = len(cpu) / sum(cpu)
        print(
            f"| {corral[0]:,} | {rate:,.0f} | {timing.pct(0.5):.1f} | {timing.pct(0.99):.1f} | "
            f"{burst['refused']} | {ceiling:,.2f} | {rate / ceiling:,.0f}x |"
        )
    print(
        "\ncorral: decisions / wall time, every claim committed before its call returns. "
        "Nova ceiling: 1 / mean CPU seconds of its scheduler process per decision."
    )


if __name__ == "__main__":
    sys.exit(main())
