"""Cost of one Nova feed refresh (corral.compute.nova_feed) at N compute nodes.

Fills a scratch Nova 34 API + cell1 database pair with N nova-compute
services, N compute nodes (one per service, with the NUMA topology, stats and
PCI pools a libvirt compute reports), a few aggregates holding every host and
one live instance per node (with its instance_extra flavor), as Nova's
services would write them (plain SQL inserts). Then it times four refreshes
into a fresh corral SQLite database:

- first: everything new (every node, service, aggregate and instance written);
- steady: nothing changed in Nova (the reads alone; nothing is written);
- heartbeats only: every service reported (last_seen_up moved), nothing else;
- 1% services: 1% of the services disabled in Nova, then a refresh.

The Nova schema is Nova's own, made by `nova-manage api_db sync` / `db sync`
from the Nova 34 virtualenv (~/.cache/corral-nova34-venv, CORRAL_NOVA_VENV;
it needs PyMySQL there) on the MariaDB at 127.0.0.1:3306 (`--nova mariadb`,
the default); `--nova sqlite` instead creates the tables corral reads from
their declarations in corral.store.nova_db.tables in a SQLite file (no Nova
needed). Each node's resource provider is in corral's Placement tables
beforehand, as Nova's compute creates it, so the feed also mirrors each
host's aggregates onto it. "rows written" counts the entries the refresh added to corral's
change log (one per compute node, service, aggregate, instance or group
record written), "writes" its write transactions.

    .venv/bin/python bench/nova_feed.py [--nodes 10000] [--aggregates 5] [--nova sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import Engine, MetaData, Table, create_engine, func, insert, select, text

from corral.compute.nova_feed import NovaFeed, RefreshResult
from corral.store import migrate, tables
from corral.store.database import Database, utcnow
from corral.store.nova_db import tables as nova_tables

NOVA_VENV = Path(os.environ.get("CORRAL_NOVA_VENV", Path.home() / ".cache" / "corral-nova34-venv"))
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
CELL0 = "00000000-0000-0000-0000-000000000000"
CELL1 = "5a6e2c1e-0000-4000-8000-00000000c311"
MAX_NODES = 100_000
MAX_AGGREGATES = 100
CHUNK = 2_000

NUMA = json.dumps(
    {
        "nova_object.name": "NUMATopology",
        "nova_object.data": {
            "cells": [
                {
                    "nova_object.name": "NUMACell",
                    "nova_object.data": {
                        "id": cell,
                        "cpuset": list(range(cell * 16, cell * 16 + 16)),
                        "pcpuset": [],
                        "memory": 131072,
                        "cpu_usage": 0,
                        "memory_usage": 0,
                        "pinned_cpus": [],
                        "siblings": [[c, c + 1] for c in range(cell * 16, cell * 16 + 16, 2)],
                        "mempages": [],
                    },
                }
                for cell in (0, 1)
            ]
        },
    }
)
PCI = json.dumps({"nova_object.name": "PciDevicePoolList", "nova_object.data": {"objects": []}})
FLAVOR = json.dumps(
    {
        "cur": {
            "nova_object.name": "Flavor",
            "nova_object.data": {
                "name": "m1.small",
                "flavorid": "2",
                "vcpus": 1,
                "memory_mb": 2048,
                "root_gb": 20,
                "ephemeral_gb": 0,
                "swap": 0,
                "extra_specs": {"hw:cpu_policy": "shared"},
            },
        },
        "old": None,
        "new": None,
    }
)


# --- a scratch Nova schema ---------------------------------------------------------


@contextmanager
def mariadb_nova() -> Iterator[tuple[str, str]]:
    """(api URL, cell URL): a fresh pair synced by Nova's own nova-manage."""
    manage = NOVA_VENV / "bin" / "nova-manage"
    if not manage.exists():
        sys.exit(f"no nova-manage at {manage} (build it: tests/functional/test_rpc_nova.py)")
    admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    api_db, cell_db = f"bench_nova_api_{tag}", f"bench_nova_cell1_{tag}"
    with admin.connect() as conn:
        for name in (api_db, cell_db):
            conn.execute(text(f"CREATE DATABASE {name}"))
    conf = Path(tempfile.gettempdir()) / f"corral-bench-nova-{tag}.conf"
    conf.write_text(
        f"[api_database]\nconnection = {MYSQL_ADMIN}{api_db}\n"
        f"[database]\nconnection = {MYSQL_ADMIN}{cell_db}\n"
    )
    try:
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run(
                [str(manage), "--config-file", str(conf), *args],
                check=True,
                capture_output=True,
                timeout=600,
            )
        yield f"{MYSQL_ADMIN}{api_db}", f"{MYSQL_ADMIN}{cell_db}"
    finally:
        conf.unlink(missing_ok=True)
        with admin.connect() as conn:
            for name in (api_db, cell_db):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@contextmanager
def sqlite_nova(tmp: Path) -> Iterator[tuple[str, str]]:
    """(api URL, cell URL): SQLite files holding the tables corral reads."""
    api, cell = f"sqlite:///{tmp / 'nova_api.db'}", f"sqlite:///{tmp / 'nova_cell1.db'}"
    for url, meta in ((api, nova_tables.api_metadata), (cell, nova_tables.cell_metadata)):
        engine = create_engine(url)
        meta.create_all(engine)
        engine.dispose()
    yield api, cell


def _insert(engine: Engine, name: str, rows: list[dict[str, Any]]) -> None:
    """Rows into Nova's table as it is in that database (columns it lacks dropped)."""
    table = Table(name, MetaData(), autoload_with=engine)
    rows = [{k: v for k, v in row.items() if k in table.c} for row in rows]
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start : start + CHUNK])


def fill(api_url: str, cell_url: str, n: int, n_aggregates: int) -> list[tuple[str, str]]:
    """N hosts as Nova's services write them: one node, one service, one instance each."""
    api, cell = create_engine(api_url), create_engine(cell_url)
    now = utcnow()
    hosts = [f"cmp{i:05d}" for i in range(n)]
    try:
        _insert(
            api,
            "cell_mappings",
            [
                {"id": cid, "uuid": cu, "name": name, "transport_url": "rabbit://",
                 "database_connection": url, "disabled": False}
                for cid, cu, name, url in ((1, CELL0, "cell0", cell_url),
                                           (2, CELL1, "cell1", cell_url))
            ],
        )  # fmt: skip
        _insert(api, "host_mappings", [{"cell_id": 2, "host": h} for h in hosts])
        _insert(
            api,
            "aggregates",
            [{"id": a + 1, "uuid": str(uuid.uuid4()), "name": f"agg{a}"}
             for a in range(n_aggregates)],
        )  # fmt: skip
        _insert(
            api,
            "aggregate_metadata",
            [{"aggregate_id": a + 1, "key": "availability_zone", "value": f"az{a}", "deleted": 0}
             for a in range(n_aggregates)],
        )  # fmt: skip
        _insert(
            api,
            "aggregate_hosts",
            [{"aggregate_id": i % n_aggregates + 1, "host": h} for i, h in enumerate(hosts)],
        )
        _insert(
            cell,
            "services",
            [{"id": i + 1, "host": h, "binary": "nova-compute", "topic": "compute",
              "report_count": 1, "disabled": False, "forced_down": False, "version": 66,
              "last_seen_up": now, "created_at": now, "deleted": 0}
             for i, h in enumerate(hosts)],
        )  # fmt: skip
        node_uuids = [str(uuid.uuid4()) for _ in hosts]
        _insert(
            cell,
            "compute_nodes",
            [{"id": i + 1, "uuid": node_uuids[i], "service_id": i + 1, "host": h,
              "hypervisor_hostname": h, "vcpus": 32, "memory_mb": 262144, "local_gb": 2000,
              "vcpus_used": 1, "memory_mb_used": 2048, "local_gb_used": 20,
              "hypervisor_type": "QEMU", "hypervisor_version": 8002000,
              "cpu_info": json.dumps({"arch": "x86_64", "model": "Haswell", "vendor": "Intel"}),
              "stats": json.dumps({"io_workload": "0", "failed_builds": "0",
                                   "num_instances": "1"}),
              "metrics": "[]", "numa_topology": NUMA, "pci_stats": PCI,
              "supported_instances": json.dumps([["x86_64", "kvm", "hvm"]]),
              "host_ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "deleted": 0}
             for i, h in enumerate(hosts)],
        )  # fmt: skip
        instance_uuids = [str(uuid.uuid4()) for _ in hosts]
        _insert(
            cell,
            "instances",
            [{"id": i + 1, "uuid": u, "host": h, "node": h, "project_id": "p1",
              "user_id": "u1", "vm_state": "active", "deleted": 0}
             for i, (u, h) in enumerate(zip(instance_uuids, hosts, strict=True))],
        )  # fmt: skip
        _insert(
            cell,
            "instance_extra",
            [{"instance_uuid": u, "flavor": FLAVOR, "deleted": 0} for u in instance_uuids],
        )
    finally:
        api.dispose()
        cell.dispose()
    return list(zip(hosts, node_uuids, strict=True))


def register_providers(db: Database, nodes: list[tuple[str, str]]) -> None:
    """Each node's root resource provider, as Nova's compute creates it in
    Placement (corral) before the feed sees the node: the feed then mirrors
    each host's aggregates onto it, as in a real cloud."""
    now = utcnow()
    with db.write() as conn:
        conn.execute(
            insert(tables.resource_providers),
            [{"id": i + 1, "uuid": u, "name": h, "generation": 0, "root_provider_id": i + 1,
              "created_at": now} for i, (h, u) in enumerate(nodes)],
        )  # fmt: skip


def heartbeat_all(cell_url: str) -> int:
    """Every service reports in, as nova-compute's report_state does every
    report_interval (10 s): last_seen_up moves."""
    cell = create_engine(cell_url)
    with cell.begin() as conn:
        moved = conn.execute(
            text("UPDATE services SET last_seen_up = :now, report_count = report_count + 1"),
            {"now": utcnow()},
        ).rowcount
    cell.dispose()
    return int(moved)


def change_services(cell_url: str, n: int) -> int:
    """1% of the services disabled, as `openstack compute service set --disable` does."""
    step = 100
    cell = create_engine(cell_url)
    with cell.begin() as conn:
        changed = conn.execute(
            text(
                "UPDATE services SET disabled = :t, disabled_reason = 'bench'"
                " WHERE id % :step = 0 AND id <= :n"
            ),
            {"t": True, "step": step, "n": n},
        ).rowcount
    cell.dispose()
    return int(changed)


# --- the refreshes -----------------------------------------------------------------


def _seq(db: Database) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(func.coalesce(func.max(tables.change_log.c.seq), 0))).scalar()
        )


def timed(feed: NovaFeed, db: Database) -> tuple[RefreshResult, int]:
    before = _seq(db)
    result = feed.refresh()
    if not result.ran or result.failed_cells or result.skipped:
        sys.exit(f"refresh did not read Nova cleanly: {result}")
    return result, _seq(db) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000, help="compute nodes (1..100000)")
    parser.add_argument("--aggregates", type=int, default=5, help="aggregates (1..100)")
    parser.add_argument("--nova", choices=("mariadb", "sqlite"), default="mariadb")
    args = parser.parse_args()
    if not 1 <= args.nodes <= MAX_NODES:
        parser.error(f"--nodes must be 1..{MAX_NODES}")
    if not 1 <= args.aggregates <= MAX_AGGREGATES:
        parser.error(f"--aggregates must be 1..{MAX_AGGREGATES}")

    with tempfile.TemporaryDirectory(prefix="corral-bench-nova-feed-") as tmpdir:
        tmp = Path(tmpdir)
        source = mariadb_nova() if args.nova == "mariadb" else sqlite_nova(tmp)
        with source as (api_url, cell_url):
            started = time.perf_counter()
            nodes = fill(api_url, cell_url, args.nodes, args.aggregates)
            print(
                f"filled Nova ({args.nova}) with {args.nodes} hosts in"
                f" {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            db = Database(f"sqlite:///{tmp / 'corral.db'}")
            migrate.upgrade(db)
            register_providers(db, nodes)
            feed = NovaFeed(db, api_url, grace=0.0)
            try:
                rows: list[tuple[str, RefreshResult, int]] = []
                first, written = timed(feed, db)
                if first.nodes != args.nodes or first.instances != args.nodes:
                    sys.exit(f"first refresh saw {first.nodes} nodes, {first.instances} instances")
                rows.append(("first (everything new)", first, written))
                rows.append(("steady (nothing changed)", *timed(feed, db)))
                beats = heartbeat_all(cell_url)
                rows.append((f"heartbeats only ({beats:,} moved)", *timed(feed, db)))
                changed = change_services(cell_url, args.nodes)
                rows.append((f"1% services changed ({changed})", *timed(feed, db)))
            finally:
                feed.dispose()
                db.dispose()

    print(f"\nNova feed refresh, Nova on {args.nova}, corral on SQLite\n")
    print("| N | case | seconds | rows written | writes |")
    print("|---:|---|---:|---:|---:|")
    for case, result, written in rows:
        print(
            f"| {args.nodes:,} | {case} | {result.seconds:.2f} | {written:,} | {result.writes:,} |"
        )


if __name__ == "__main__":
    main()
