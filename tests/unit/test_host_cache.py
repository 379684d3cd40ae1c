"""HostCache: HostBatch columns, following the change log, liveness and groups.

Runs over a file-backed SQLite database (the cache loads from the store);
the same behaviour on PostgreSQL is covered by the functional tests.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import update

from corral.compute import aggregates as host_aggregates
from corral.compute import hosts, server_groups
from corral.compute.instances import PlacedInstance, delete_instance, record_placed
from corral.placement.index import PlacementIndex
from corral.scheduler.batch import HostBatch
from corral.scheduler.host_cache import HostCache
from corral.store import migrate, tables
from corral.store.compute_hosts import NodeValues
from corral.store.database import Database, utcnow
from tests.functional.candidate_rows import CloudWriter
from tests.unit import host_cache_queries as queries


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'hosts.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


def node_values(provider: str, **kw: Any) -> NodeValues:
    fields: dict[str, Any] = {
        "provider_uuid": provider,
        "hypervisor_type": "QEMU",
        "hypervisor_version": 8000000,
        "hypervisor_hostname": "hv",
        "cpu_info": {"arch": "x86_64"},
        "capabilities": {"cpu_vendor": "Intel"},
        "metrics": {"cpu.percent": 0.5},
        "supported_instances": [["x86_64", "kvm", "hvm"]],
        "host_ip": "192.0.2.1",
        "numa_topology": None,
        "pci_stats": [],
        "num_io_ops": 0,
        "failed_builds": 0,
        "cell_uuid": None,
    }
    fields.update(kw)
    return NodeValues(**fields)


class Cloud:
    """Compute hosts with providers, inventory and usage, written through the layers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writer = CloudWriter(db)
        self.providers: dict[str, str] = {}
        self.index = PlacementIndex(db)

    def host(
        self, name: str, vcpus: int = 8, memory: int = 4096, disk: int = 100, **kw: Any
    ) -> str:
        rp = self.writer.provider(name)
        self.writer.inventory(name, "VCPU", vcpus, allocation_ratio=4.0)
        self.writer.inventory(name, "MEMORY_MB", memory, reserved=512, allocation_ratio=1.5)
        self.writer.inventory(name, "DISK_GB", disk, reserved=10)
        hosts.register_node(self.db, name, name, node_values(rp, **kw))
        self.providers[name] = rp
        return rp

    def cache(self, **kw: Any) -> HostCache:
        cache = HostCache(self.db, **kw)
        cache.load()
        return cache

    def batch(self, cache: HostCache, names: list[str], now: float | None = None) -> HostBatch:
        self.index.catch_up()
        cache.catch_up()
        with self.index.viewing() as view:
            return cache.batch_for([self.providers[n] for n in names], view, now=now)


@pytest.fixture
def cloud(db: Database) -> Cloud:
    return Cloud(db)


def test_every_column_of_a_batch(cloud: Cloud, db: Database) -> None:
    numa = {"cells": [{"id": 0, "cpuset": [0, 1], "memory": 2048}]}
    pci = [{"vendor_id": "8086", "product_id": "1520", "count": 2}]
    cloud.host("a", host_ip="192.0.2.10", numa_topology=numa, pci_stats=pci, num_io_ops=2)
    cloud.host("b", vcpus=16, hypervisor_version=9000000, failed_builds=3, cell_uuid="c" * 36)
    cloud.writer.allocate("a", "VCPU", 3)
    cloud.writer.allocate("a", "MEMORY_MB", 1000)
    cloud.writer.allocate("a", "DISK_GB", 20)
    cloud.writer.traits("a", "HW_CPU_X86_AVX2")
    agg = host_aggregates.create_aggregate(db, "rack1", "az1")
    host_aggregates.add_host(db, agg.id, "a")
    inst = str(uuid.uuid4())
    record_placed(
        db, [PlacedInstance(inst, "a", "a", "p1", "u1", image_properties={"hw_vif": "virtio"})]
    )
    cache = cloud.cache()
    batch = cloud.batch(cache, ["b", "a"])

    assert len(batch) == 2
    assert batch.host == ["b", "a"] and batch.node == ["b", "a"]
    assert batch.provider_uuid == [cloud.providers["b"], cloud.providers["a"]]
    assert batch.cell_uuid == ["c" * 36, ""]
    assert batch.enabled.tolist() == [True, True] and batch.up.tolist() == [True, True]
    assert batch.vcpus_total.tolist() == [16, 8] and batch.vcpus_used.tolist() == [0, 3]
    assert batch.cpu_allocation_ratio.tolist() == [4.0, 4.0]
    assert batch.memory_mb_total.tolist() == [4096, 4096]
    assert batch.memory_mb_reserved.tolist() == [512, 512]
    assert batch.memory_mb_used.tolist() == [0, 1000]
    assert batch.ram_allocation_ratio.tolist() == [1.5, 1.5]
    assert batch.disk_gb_total.tolist() == [100, 100]
    assert batch.disk_gb_reserved.tolist() == [10, 10]
    assert batch.disk_gb_used.tolist() == [0, 20]
    assert batch.disk_allocation_ratio.tolist() == [1.0, 1.0]
    assert batch.free_ram_mb.tolist() == [4096 - 512, 4096 - 512 - 1000]
    assert batch.free_disk_mb.tolist() == [90 * 1024, 70 * 1024]
    assert batch.num_instances.tolist() == [0, 1]
    assert batch.num_io_ops.tolist() == [0, 2]
    assert batch.failed_builds.tolist() == [3, 0]
    assert batch.hypervisor_version.tolist() == [9000000, 8000000]
    assert batch.hypervisor_type == ["QEMU", "QEMU"]
    assert batch.hypervisor_hostname == ["hv", "hv"]
    assert batch.cpu_info[1] == {"arch": "x86_64"}
    assert batch.capabilities[1] == {"cpu_vendor": "Intel"}
    assert batch.metrics[1] == {"cpu.percent": 0.5}
    assert batch.supported_instances[1] == (("x86_64", "kvm", "hvm"),)
    assert batch.host_ip == ["192.0.2.1", "192.0.2.10"]
    assert batch.numa_topology == [None, numa]
    assert batch.pci_stats == [[], pci]
    assert batch.traits == [frozenset(), frozenset({"HW_CPU_X86_AVX2"})]
    assert batch.aggregate_ids == [frozenset(), frozenset({agg.id})]
    assert batch.aggregates[agg.id].metadata == {"availability_zone": "az1"}
    assert batch.aggregates[agg.id].hosts == frozenset({"a"})
    assert batch.availability_zone == ["nova", "az1"]
    assert batch.instances == [{}, {inst: "p1"}]
    assert batch.instance_image_properties == [{}, {inst: {"hw_vif": "virtio"}}]
    assert batch.candidate_mappings == []
    # Every numpy column has one entry per host.
    for name in batch.__dataclass_fields__:
        value = getattr(batch, name)
        if isinstance(value, np.ndarray) or (
            isinstance(value, list) and name != "candidate_mappings"
        ):
            assert len(value) == 2, name


def test_unknown_providers_are_left_out_in_order(cloud: Cloud, db: Database) -> None:
    cloud.host("a")
    cloud.host("b")
    bare = cloud.writer.provider("not-a-compute")  # a provider with no compute node
    cache = cloud.cache()
    cloud.index.catch_up()
    with cloud.index.viewing() as view:
        batch = cache.batch_for(
            [cloud.providers["b"], bare, str(uuid.uuid4()), cloud.providers["a"]],
            view,
            now=time.time(),
        )
        empty = cache.batch_for([], view, now=time.time())
    assert batch.host == ["b", "a"]
    assert len(empty) == 0 and empty.vcpus_total.shape == (0,)
    picked = batch.take(np.array([1]))
    assert picked.host == ["a"] and picked.aggregates is batch.aggregates


def test_a_node_not_in_placement_has_no_resources(cloud: Cloud, db: Database) -> None:
    ghost = str(uuid.uuid4())
    hosts.register_node(db, "ghost", "ghost", node_values(ghost))
    cache = cloud.cache()
    with cloud.index.viewing() as view:
        batch = cache.batch_for([ghost], view, now=time.time())
    assert batch.host == ["ghost"]
    assert batch.vcpus_total.tolist() == [0] and batch.cpu_allocation_ratio.tolist() == [1.0]
    assert batch.traits == [frozenset()]


def test_changes_are_followed(cloud: Cloud, db: Database) -> None:
    cloud.host("a")
    cache = cloud.cache()
    first = cloud.batch(cache, ["a"])
    loads = cache.full_loads

    # A new host, a disabled service, an instance, a usage change, a zone.
    cloud.host("b")
    hosts.update_service(db, "a", {"disabled": True, "disabled_reason": "x"})
    inst = str(uuid.uuid4())
    record_placed(db, [PlacedInstance(inst, "b", "b", "p1", "u1")])
    cloud.writer.allocate("b", "VCPU", 2)
    agg = host_aggregates.create_aggregate(db, "z", "az9")
    host_aggregates.add_host(db, agg.id, "b")
    batch = cloud.batch(cache, ["a", "b"])
    assert cache.full_loads == loads
    assert batch.enabled.tolist() == [False, True]
    assert batch.instances == [{}, {inst: "p1"}] and batch.num_instances.tolist() == [0, 1]
    assert batch.vcpus_used.tolist() == [0, 2]
    assert batch.availability_zone == ["nova", "az9"]
    # The earlier batch is untouched.
    assert first.enabled.tolist() == [True] and agg.id not in first.aggregates

    # Node values change; the instance goes; the host leaves the zone; a host is deleted.
    hosts.register_node(db, "b", "b", node_values(cloud.providers["b"], num_io_ops=7))
    delete_instance(db, inst)
    host_aggregates.remove_host(db, agg.id, "b")
    hosts.delete_host(db, "a")
    batch = cloud.batch(cache, ["a", "b"])
    assert batch.host == ["b"]
    assert batch.num_io_ops.tolist() == [7]
    assert batch.instances == [{}] and batch.num_instances.tolist() == [0]
    assert batch.availability_zone == ["nova"]
    assert cache.all_provider_uuids() == [cloud.providers["b"]]
    assert cache.full_loads == loads


def test_following_equals_loading_afresh(cloud: Cloud, db: Database) -> None:
    rng = random.Random(7)
    names = [f"h{i}" for i in range(12)]
    for name in names[:6]:
        cloud.host(name)
    cache = cloud.cache()
    aggs = [host_aggregates.create_aggregate(db, f"agg{i}", None) for i in range(3)]
    placed: list[str] = []
    for step in range(60):
        choice = rng.randrange(6)
        known = [n for n in names if n in cloud.providers]
        if choice == 0 and len(known) < len(names):
            cloud.host(names[len(known)])
        elif choice == 1:
            host = rng.choice(known)
            record_placed(db, [PlacedInstance(str(uuid.uuid4()), host, host, f"p{step}", "u")])
            placed.append(host)
        elif choice == 2:
            hosts.update_service(db, rng.choice(known), {"disabled": rng.random() < 0.5})
        elif choice == 3:
            agg = rng.choice(aggs)
            host = rng.choice(known)
            current = host_aggregates.get_aggregate(db, agg.id)
            if host in current.hosts:
                host_aggregates.remove_host(db, agg.id, host)
            else:
                host_aggregates.add_host(db, agg.id, host)
        elif choice == 4:
            host_aggregates.set_metadata(db, rng.choice(aggs).id, {"k": str(step)})
        else:
            host = rng.choice(known)
            hosts.register_node(db, host, host, node_values(cloud.providers[host], num_io_ops=step))
        if step % 7 == 0:
            cache.catch_up()
    followed = cloud.batch(cache, list(cloud.providers))
    fresh = cloud.batch(cloud.cache(), list(cloud.providers))
    for name in followed.__dataclass_fields__:
        a, b = getattr(followed, name), getattr(fresh, name)
        if isinstance(a, np.ndarray):
            assert a.tolist() == b.tolist(), name
        elif name == "aggregates":
            assert {k: (v.metadata, v.hosts) for k, v in a.items()} == {
                k: (v.metadata, v.hosts) for k, v in b.items()
            }
        else:
            assert a == b, name


def test_liveness_from_heartbeats(cloud: Cloud, db: Database) -> None:
    cloud.host("a")
    cloud.host("b")
    clock = [time.time()]
    ticks = [0.0]  # monotonic time: moved on to pass the poll interval
    cache = HostCache(
        db,
        service_down_time=60,
        heartbeat_poll_interval=5,
        clock=lambda: clock[0],
        monotonic=lambda: ticks[0],
    )
    cache.load()
    # Heartbeats were written at the real time; move the fake clock there.
    clock[0] = utcnow().replace(tzinfo=datetime.UTC).timestamp()
    assert cloud.batch(cache, ["a", "b"], now=clock[0]).up.tolist() == [True, True]

    # "a" stops reporting: 70 s later it is down, "b" (which reported) is up.
    long_ago = utcnow() - datetime.timedelta(seconds=70)
    with db.write() as conn:
        conn.execute(
            update(tables.compute_services)
            .where(tables.compute_services.c.host == "a")
            .values(last_heartbeat=long_ago)
        )
    ticks[0] += 5  # the poll interval has passed
    batch = cloud.batch(cache, ["a", "b"], now=clock[0])
    assert batch.up.tolist() == [False, True]
    assert cache.heartbeat_polls >= 1

    # A heartbeat brings it back at the next poll.
    hosts.heartbeat(db, "a")
    ticks[0] += 5
    assert cloud.batch(cache, ["a", "b"], now=clock[0]).up.tolist() == [True, True]

    # Without polls, a host is not kept up on old news: a minute on, both read down.
    assert cloud.batch(cache, ["a", "b"], now=clock[0] + 120).up.tolist() == [False, False]

    # Forced down is down whatever the heartbeat.
    hosts.update_service(db, "b", {"forced_down": True})
    assert cloud.batch(cache, ["a", "b"], now=clock[0]).up.tolist() == [True, False]


def test_group_helpers(cloud: Cloud, db: Database) -> None:
    cloud.host("a")
    cloud.host("b")
    group = server_groups.create_group(
        db,
        name="web",
        policy="anti-affinity",
        rules={"max_server_per_host": 2},
        project_id="p",
        user_id="u",
    )
    members = [str(uuid.uuid4()) for _ in range(3)]
    record_placed(
        db,
        [
            PlacedInstance(members[0], "a", "a", "p", "u"),
            PlacedInstance(members[1], "a", "a", "p", "u"),
            PlacedInstance(members[2], "b", "b", "p", "u"),
        ],
        group.uuid,
    )
    loner = str(uuid.uuid4())
    record_placed(db, [PlacedInstance(loner, "b", "b", "p", "u")])
    cache = cloud.cache()
    spec_group = cache.instance_group(group.uuid)
    assert spec_group is not None
    assert spec_group.policy == "anti-affinity"
    assert spec_group.rules == {"max_server_per_host": "2"}
    assert spec_group.members == tuple(members)
    assert spec_group.hosts == ("a", "b")
    assert queries.group_hosts(cache, group.uuid) == {"a", "b"}
    assert queries.member_counts(cache, group.uuid) == {"a": 2, "b": 1}
    assert queries.instance_counts(cache) == {"a": 2, "b": 2}
    assert queries.group_of_instance(db, members[0]) == group.uuid
    assert queries.group_of_instance(db, loner) is None
    assert queries.host_of_instance(cache, loner) == "b"
    assert cache.instance_group(str(uuid.uuid4())) is None

    delete_instance(db, members[2])
    cache.catch_up()
    assert queries.group_hosts(cache, group.uuid) == {"a"}
    server_groups.delete_group(db, group.uuid)
    cache.catch_up()
    assert cache.instance_group(group.uuid) is None


def test_a_long_backlog_is_a_full_reload(cloud: Cloud, db: Database) -> None:
    cloud.host("a")
    cache = cloud.cache(batch=5)
    loads = cache.full_loads
    for i in range(6):
        record_placed(db, [PlacedInstance(str(uuid.uuid4()), "a", "a", f"p{i}", "u")])
    assert cloud.batch(cache, ["a"]).num_instances.tolist() == [6]
    assert cache.full_loads == loads + 1


def test_a_cache_grows_past_its_first_capacity(cloud: Cloud, db: Database) -> None:
    cache = cloud.cache()
    names = [f"h{i:02d}" for i in range(40)]
    for name in names:
        cloud.host(name)
    batch = cloud.batch(cache, list(reversed(names)))
    assert batch.host == list(reversed(names))
    assert batch.vcpus_total.tolist() == [8] * 40
    assert cache.stats().nodes == 40
