"""Cost of the scheduler's host state: loading it, following the change log,
and building a HostBatch per decision.

Writes N compute hosts (default 10,000) with VCPU/MEMORY_MB/DISK_GB
inventory, usage, traits, 20 aggregates and a few instances per host into a
fresh SQLite database, loads the placement index and the HostCache, and
prints the mean time of each operation and the rate it allows.

    .venv/bin/python bench/host_state.py [--hosts 10000] [--runs 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from corral.compute.instances import PlacedInstance, record_placed
from corral.placement.index import PlacementIndex
from corral.scheduler.host_cache import HostCache
from corral.store import migrate, tables
from corral.store.database import Database, record_changes, utcnow
from corral.store.resource_classes import STANDARD_IDS


def populate(db: Database, n: int) -> list[str]:
    now = utcnow()
    rng = random.Random(1)
    uuids = [str(uuid.uuid4()) for _ in range(n)]
    with db.write() as conn:
        conn.execute(
            insert(tables.resource_providers),
            [
                {"id": i + 1, "uuid": u, "name": f"cmp{i:05d}", "generation": 0,
                 "root_provider_id": i + 1, "created_at": now}
                for i, u in enumerate(uuids)
            ],
        )  # fmt: skip
        inventories = []
        allocations = []
        for i in range(n):
            for rc, total, ratio in (("VCPU", 64, 4.0), ("MEMORY_MB", 262144, 1.0),
                                     ("DISK_GB", 2000, 1.0)):  # fmt: skip
                inventories.append(
                    {"resource_provider_id": i + 1, "resource_class_id": STANDARD_IDS[rc],
                     "total": total, "reserved": 0, "min_unit": 1, "max_unit": total,
                     "step_size": 1, "allocation_ratio": ratio, "created_at": now}
                )  # fmt: skip
                allocations.append(
                    {"resource_provider_id": i + 1, "consumer_id": str(uuid.uuid4()),
                     "resource_class_id": STANDARD_IDS[rc], "used": rng.randrange(total // 2),
                     "created_at": now}
                )  # fmt: skip
        conn.execute(insert(tables.inventories), inventories)
        conn.execute(insert(tables.allocations), allocations)
        trait = conn.execute(
            select(tables.traits.c.id).where(tables.traits.c.name == "HW_CPU_X86_AVX2")
        ).scalar_one()
        conn.execute(
            insert(tables.resource_provider_traits),
            [{"resource_provider_id": i + 1, "trait_id": trait, "created_at": now}
             for i in range(0, n, 2)],
        )  # fmt: skip
        conn.execute(
            insert(tables.compute_hosts),
            [
                {"host": f"cmp{i:05d}", "nodename": f"cmp{i:05d}", "provider_uuid": u,
                 "hypervisor_type": "QEMU", "hypervisor_version": 8002000,
                 "hypervisor_hostname": f"cmp{i:05d}", "cpu_info": {"arch": "x86_64"},
                 "capabilities": {"cpu_vendor": "Intel"}, "metrics": {"cpu.percent": 0.1},
                 "supported_instances": [["x86_64", "kvm", "hvm"]], "host_ip": "192.0.2.1",
                 "numa_topology": None, "pci_stats": [], "num_io_ops": 0, "failed_builds": 0,
                 "cell_uuid": None, "created_at": now}
                for i, u in enumerate(uuids)
            ],
        )  # fmt: skip
        conn.execute(
            insert(tables.compute_services),
            [{"host": f"cmp{i:05d}", "binary": "nova-compute", "disabled": False,
              "forced_down": False, "last_heartbeat": now, "created_at": now}
             for i in range(n)],
        )  # fmt: skip
        for a in range(20):
            agg_id = conn.execute(
                insert(tables.host_aggregates)
                .values(uuid=str(uuid.uuid4()), name=f"agg{a}", created_at=now)
                .returning(tables.host_aggregates.c.id)
            ).scalar_one()
            conn.execute(
                insert(tables.host_aggregate_metadata),
                [{"aggregate_id": agg_id, "key": "availability_zone", "value": f"az{a % 4}",
                  "created_at": now}],
            )  # fmt: skip
            conn.execute(
                insert(tables.host_aggregate_hosts),
                [{"aggregate_id": agg_id, "host": f"cmp{i:05d}", "created_at": now}
                 for i in range(a, n, 20)],
            )  # fmt: skip
        conn.execute(
            insert(tables.instances),
            [
                {"uuid": str(uuid.uuid4()), "host": f"cmp{i % n:05d}", "node": f"cmp{i % n:05d}",
                 "provider_uuid": uuids[i % n], "project_id": f"p{i % 50}", "user_id": "u",
                 "flavor": {}, "image_properties": {}, "created_at": now}
                for i in range(n * 4)
            ],
        )  # fmt: skip
        record_changes(conn, [1], "provider")
    return uuids


def mean_seconds(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(db)
        started = time.perf_counter()
        uuids = populate(db, args.hosts)
        print(f"populated {args.hosts} hosts in {time.perf_counter() - started:.1f} s")
        index = PlacementIndex(db)
        index.load()
        cache = HostCache(db)
        load = mean_seconds(cache.load, 3)
        shuffled = uuids[:]
        random.Random(2).shuffle(shuffled)
        rows: list[tuple[str, float]] = [("full load of the host state", load)]
        with index.viewing() as view:
            for size in (args.hosts, 1000, 100, 10):
                picked = shuffled[:size]
                rows.append(
                    (f"batch_for {size} hosts", mean_seconds(
                        lambda p=picked: cache.batch_for(p, view), args.runs))  # type: ignore[misc]
                )  # fmt: skip
        rows.append(("catch_up, nothing changed", mean_seconds(cache.catch_up, args.runs)))

        counter = iter(range(10**9))

        def one_instance_then_catch_up() -> None:
            i = next(counter) % args.hosts
            record_placed(
                db, [PlacedInstance(str(uuid.uuid4()), f"cmp{i:05d}", f"cmp{i:05d}", "p", "u")]
            )
            cache.catch_up()

        rows.append(("record 1 instance + catch_up", mean_seconds(one_instance_then_catch_up, 50)))
        print(f"\n{'operation':<34}{'mean ms':>10}{'per second':>12}")
        for name, seconds in rows:
            print(f"{name:<34}{seconds * 1000:>10.3f}{1 / seconds:>12.0f}")
        db.dispose()


if __name__ == "__main__":
    main()
