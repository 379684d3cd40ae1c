"""Multi-create of NUMA-pinned and PCI servers, on both backends.

Nova's HostState.consume_from_request takes each instance's pinned CPUs,
NUMA memory and PCI devices from the chosen host before the filters judge
the next instance of the request; corral's consume stage does the same. The
clouds here are built so that Placement alone would let both instances land
on the first host (its PCPU inventory is generous, PCI devices are not in
Placement) and RAMWeigher prefers that host: only the consumed NUMA cells or
PCI pools send the second instance elsewhere. A host NUMATopologyFilter
passed carries Nova's NUMA limits in its Selection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from corral.compute.hardware import numa
from corral.scheduler.engine import Scheduler
from corral.scheduler.spec import Flavor, NoValidHost, RequestSpec
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, create_provider, register
from tests.functional.served_app import app_with_options

# One NUMA cell of 4 pinnable CPUs and 16 GiB per host.
ONE_CELL = {
    "cells": [
        {
            "id": 0,
            "cpuset": [],
            "pcpuset": [0, 1, 2, 3],
            "memory": 16384,
            "siblings": [[0], [1], [2], [3]],
            "pinned_cpus": [],
            "mempages": [{"size_kb": 4, "total": 16384 * 256}],
        }
    ]
}
# Placement would take 2 x 3 pinned CPUs on either host: only NUMA says no.
INVENTORY = {
    "VCPU": {"total": 8, "allocation_ratio": 4.0},
    "PCPU": 8,
    "DISK_GB": 100,
}
POOL = {"vendor_id": "8086", "product_id": "1520", "dev_type": "type-PCI", "numa_node": 0}
PINNED = Flavor(
    vcpus=3,
    memory_mb=512,
    root_gb=10,
    name="pinned",
    flavorid="p3",
    extra_specs={"hw:cpu_policy": "dedicated"},
)
PINNED_TOPOLOGY = {
    "cells": [
        {"id": 0, "cpuset": [], "pcpuset": [0, 1, 2], "memory": 512, "cpu_policy": "dedicated"}
    ]
}
PCI_FLAVOR = Flavor(
    vcpus=1,
    memory_mb=512,
    root_gb=10,
    name="pci",
    flavorid="pci1",
    extra_specs={"pci_passthrough:alias": "nic:1"},
)


@pytest.fixture
def scheduler_api(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """The NUMA and PCI filters on, hosts ranked by free RAM alone, so the
    test knows which host is first."""
    yield from app_with_options(
        database_url,
        {
            ("filter_scheduler", "enabled_filters"): [
                "ComputeFilter",
                "NUMATopologyFilter",
                "PciPassthroughFilter",
            ],
            ("filter_scheduler", "weight_classes"): ["RAMWeigher"],
        },
    )


def host(api: PlacementClient, name: str, memory_mb: int, **node: Any) -> str:
    """A registered, up compute host; the bigger `memory_mb`, the better RAMWeigher likes it."""
    inventory = {**INVENTORY, "MEMORY_MB": {"total": memory_mb, "allocation_ratio": 1.5}}
    rp = create_provider(api, name, inventory)
    register(api, name, provider=rp, **node)
    resp = api.post(f"{ROOT}/hosts/{name}/heartbeat")
    assert resp.status_code in (200, 204), resp.text
    return rp


def pinned_spec(count: int) -> RequestSpec:
    return RequestSpec(
        flavor=PINNED,
        num_instances=count,
        project_id="p1",
        user_id="u1",
        numa_topology=PINNED_TOPOLOGY,
    )


def pci_spec(count: int) -> RequestSpec:
    request = {
        "count": 1,
        "spec": [{"vendor_id": "8086", "product_id": "1520", "dev_type": "type-PCI"}],
        "alias_name": "nic",
        "request_id": None,
        "numa_policy": None,
    }
    return RequestSpec(
        flavor=PCI_FLAVOR,
        num_instances=count,
        project_id="p1",
        user_id="u1",
        pci_requests=(request,),
    )


def chosen_hosts(answer: list[list[Any]]) -> list[str]:
    return [per_instance[0].service_host for per_instance in answer]


def test_pinned_multi_create_takes_the_numa_cell_before_the_next_instance(
    scheduler_api: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = scheduler_api
    host(api, "big", 65536, numa_topology=ONE_CELL)
    host(api, "small", 16384, numa_topology=ONE_CELL)
    scheduler.hosts.catch_up()
    instances = [str(uuid.uuid4()) for _ in range(2)]
    answer = scheduler.select_destinations(pinned_spec(2), instances)
    # 3 of the first host's 4 pinnable CPUs went to the first instance.
    assert chosen_hosts(answer) == ["big", "small"]
    for per_instance in answer:
        for selection in per_instance:
            # NUMATopologyFilter's host_state.limits: the host's own ratios.
            assert selection.limits == {"numa_topology": numa.Limits(4.0, 1.5)}
    for instance, (selection, *_) in zip(instances, answer, strict=True):
        allocations = api.get(f"/allocations/{instance}").json()["allocations"]
        assert allocations[selection.compute_node_uuid]["resources"]["PCPU"] == 3


def test_a_third_pinned_instance_finds_no_cell(
    scheduler_api: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = scheduler_api
    host(api, "big", 65536, numa_topology=ONE_CELL)
    host(api, "small", 16384, numa_topology=ONE_CELL)
    scheduler.hosts.catch_up()
    instances = [str(uuid.uuid4()) for _ in range(3)]
    with pytest.raises(NoValidHost):
        scheduler.select_destinations(pinned_spec(3), instances)
    # The claims of the first two were given back.
    for instance in instances:
        assert api.get(f"/allocations/{instance}").json()["allocations"] == {}


def test_pci_multi_create_takes_the_device_before_the_next_instance(
    scheduler_api: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = scheduler_api
    host(api, "big", 65536, pci_stats=[{**POOL, "count": 1}])
    host(api, "small", 16384, pci_stats=[{**POOL, "count": 1}])
    scheduler.hosts.catch_up()
    answer = scheduler.select_destinations(pci_spec(2), [str(uuid.uuid4()) for _ in range(2)])
    assert chosen_hosts(answer) == ["big", "small"]
    # No NUMA topology asked: no NUMA limits.
    assert all(s.limits == {} for per_instance in answer for s in per_instance)


def test_a_pool_of_two_serves_two_instances_on_one_host(
    scheduler_api: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = scheduler_api
    host(api, "big", 65536, pci_stats=[{**POOL, "count": 2}])
    host(api, "small", 16384, pci_stats=[{**POOL, "count": 1}])
    scheduler.hosts.catch_up()
    answer = scheduler.select_destinations(pci_spec(3), [str(uuid.uuid4()) for _ in range(3)])
    assert chosen_hosts(answer) == ["big", "big", "small"]
