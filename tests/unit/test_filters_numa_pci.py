"""NUMATopologyFilter and PciPassthroughFilter, with the fitting they rest on."""

from __future__ import annotations

from typing import Any

import pytest

from corral.compute.hardware import numa, pci
from corral.compute.hardware.fit import consume_instance, fit_instance_to_host
from corral.scheduler.filters import NUMATopologyFilter, PciPassthroughFilter
from corral.scheduler.spec import Flavor, Image
from tests.unit.scheduler_fixtures import make_batch, make_conf, make_spec

CONF = make_conf()


def cell(
    id: int,
    cpus: set[int],
    memory: int = 2048,
    *,
    pcpus: set[int] | None = None,
    siblings: list[set[int]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    every = cpus | (pcpus or set())
    return {
        "id": id,
        "cpuset": sorted(cpus),
        "pcpuset": sorted(cpus if pcpus is None else pcpus),
        "memory": memory,
        "siblings": [sorted(s) for s in siblings] if siblings else [[c] for c in sorted(every)],
        "pinned_cpus": [],
        "mempages": [],
        **extra,
    }


def two_cell_host(**extra: Any) -> dict[str, Any]:
    return {"cells": [cell(0, {0, 1, 2, 3}, **extra), cell(1, {4, 5, 6, 7}, **extra)]}


def guest(*cells: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"cells": list(cells), **extra}


def gcell(id: int, cpus: set[int], memory: int = 512, **extra: Any) -> dict[str, Any]:
    return {"id": id, "cpuset": sorted(cpus), "pcpuset": [], "memory": memory, **extra}


def pinned_gcell(id: int, cpus: set[int], memory: int = 512, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "cpuset": [],
        "pcpuset": sorted(cpus),
        "memory": memory,
        "cpu_policy": "dedicated",
        **extra,
    }


def numa_passes(host_topology: Any, request: Any, **host: Any) -> bool:
    batch = make_batch([{"numa_topology": host_topology, **host}])
    spec = make_spec(numa_topology=request)
    return bool(NUMATopologyFilter(CONF).filter(batch, spec)[0])


def test_no_request_topology_passes_any_host() -> None:
    assert numa_passes(None, None)
    assert numa_passes(two_cell_host(), None)


def test_request_topology_needs_a_host_topology() -> None:
    batch = make_batch([{"numa_topology": None}, {"numa_topology": two_cell_host()}])
    spec = make_spec(numa_topology=guest(gcell(0, {0, 1})))
    f = NUMATopologyFilter(CONF)
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, True]
    assert f.reasons(batch, spec, passed) == ["host has no NUMA topology"]


def test_cells_and_memory() -> None:
    host = two_cell_host()
    assert numa_passes(host, guest(gcell(0, {0, 1}), gcell(1, {2, 3})))
    # More guest cells than host cells.
    assert not numa_passes(host, guest(gcell(0, {0}), gcell(1, {1}), gcell(2, {2})))
    # A guest cell larger than any host cell (no overcommit against itself).
    assert not numa_passes(host, guest(gcell(0, {0}, memory=3000)))
    # More guest CPUs in a cell than the host cell has.
    assert not numa_passes(host, guest(gcell(0, {0, 1, 2, 3, 4})))


def test_allocation_ratios_limit_usage_per_cell() -> None:
    busy = {"cells": [cell(0, {0, 1, 2, 3}, cpu_usage=4, memory_usage=1024)]}
    request = guest(gcell(0, {0}, memory=512))
    assert not numa_passes(busy, request, cpu_allocation_ratio=1.0)
    assert numa_passes(busy, request, cpu_allocation_ratio=2.0)
    request = guest(gcell(0, {0}, memory=1536))
    assert not numa_passes(busy, request, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.0)
    assert numa_passes(busy, request, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5)


def test_dedicated_cpus_need_free_pcpus_and_no_overcommit() -> None:
    host = {"cells": [cell(0, set(), pcpus={0, 1, 2, 3}, pinned_cpus=[0, 1, 2])]}
    assert numa_passes(host, guest(pinned_gcell(0, {0})))
    assert not numa_passes(host, guest(pinned_gcell(0, {0, 1})))
    # Pinned guests may not overcommit memory.
    host = {"cells": [cell(0, set(), 2048, pcpus={0, 1}, memory_usage=1800)]}
    assert not numa_passes(host, guest(pinned_gcell(0, {0}, memory=512)))


def test_emulator_threads_isolate_takes_one_more_pcpu() -> None:
    host = {"cells": [cell(0, set(), pcpus={0, 1})]}
    assert numa_passes(host, guest(pinned_gcell(0, {0, 1})))
    assert not numa_passes(host, guest(pinned_gcell(0, {0, 1}), emulator_threads_policy="isolate"))
    assert numa_passes(host, guest(pinned_gcell(0, {0}), emulator_threads_policy="isolate"))


SMT = {"cells": [cell(0, {0, 1, 2, 3}, siblings=[{0, 1}, {2, 3}])]}
NO_SMT = {"cells": [cell(0, {0, 1, 2, 3})]}


def test_thread_policies() -> None:
    require = guest(pinned_gcell(0, {0, 1}, cpu_thread_policy="require"))
    assert numa_passes(SMT, require)
    assert not numa_passes(NO_SMT, require)
    # isolate: one thread per fully free core; legacy hosts (cpuset == pcpuset) only.
    isolate = guest(pinned_gcell(0, {0, 1}, cpu_thread_policy="isolate"))
    assert numa_passes(SMT, isolate)
    half_pinned = {"cells": [cell(0, {0, 1, 2, 3}, siblings=[{0, 1}, {2, 3}], pinned_cpus=[0])]}
    assert not numa_passes(half_pinned, isolate)
    assert numa_passes(half_pinned, guest(pinned_gcell(0, {0}, cpu_thread_policy="isolate")))
    new_style = {"cells": [cell(0, set(), pcpus={0, 1, 2, 3}, siblings=[{0, 1}, {2, 3}])]}
    assert not numa_passes(new_style, guest(pinned_gcell(0, {0}, cpu_thread_policy="isolate")))
    # prefer (default) falls back to any free pCPUs.
    assert numa_passes(half_pinned, guest(pinned_gcell(0, {0, 1, 2})))


def test_require_thread_policy_in_flavor_needs_smt_even_without_topology() -> None:
    flavor = Flavor(
        vcpus=2,
        memory_mb=512,
        extra_specs={"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"},
    )
    batch = make_batch([{"numa_topology": SMT}, {"numa_topology": NO_SMT}, {}])
    f = NUMATopologyFilter(CONF)
    spec = make_spec(flavor=flavor)
    passed = f.filter(batch, spec)
    assert passed.tolist() == [True, False, True]
    assert f.reasons(batch, spec, passed) == ["no SMT threads for the require CPU thread policy"]
    # The image may say it too.
    spec = make_spec(
        flavor=Flavor(vcpus=2, memory_mb=512, extra_specs={"hw:cpu_policy": "dedicated"}),
        image=Image(properties={"hw_cpu_thread_policy": "require"}),
    )
    assert f.filter(batch, spec).tolist() == [True, False, True]


def pages_host(small_used: int = 0, huge_used: int = 0) -> dict[str, Any]:
    return {
        "cells": [
            cell(
                0,
                {0, 1},
                4096,
                mempages=[
                    {"size_kb": 4, "total": 524288, "used": small_used},  # 2 GiB
                    {"size_kb": 2048, "total": 1024, "used": huge_used},  # 2 GiB
                ],
            )
        ]
    }


@pytest.mark.parametrize(
    ("pagesize", "huge_used", "fits"),
    [
        (2048, 0, True),
        (2048, 768, False),  # 256 free huge pages = 512 MiB < 1 GiB
        (-2, 0, True),  # large: the 2 MiB pages
        (-2, 768, False),
        (-3, 768, True),  # any: falls back to small pages
        (-1, 1024, True),  # small
        (1048576, 0, False),  # 1 GiB pages: the host has none
    ],
)
def test_page_sizes(pagesize: int, huge_used: int, fits: bool) -> None:
    request = guest(gcell(0, {0}, memory=1024, pagesize=pagesize))
    assert numa_passes(pages_host(huge_used=huge_used), request) is fits


def test_no_pagesize_with_mempages_checks_the_small_pages() -> None:
    # Floating guests may overcommit small pages (total counts), pinned ones may not.
    host = pages_host(small_used=524288)
    assert numa_passes(host, guest(gcell(0, {0}, memory=1024)))
    host = {"cells": [{**pages_host(small_used=524288)["cells"][0], "pcpuset": [0, 1]}]}
    assert not numa_passes(host, guest(pinned_gcell(0, {0}, memory=1024)))


def vf_pool(numa_node: int | None, count: int = 1, **tags: Any) -> dict[str, Any]:
    return {
        "vendor_id": "8086",
        "product_id": "1520",
        "numa_node": numa_node,
        "dev_type": "type-VF",
        "count": count,
        **tags,
    }


def pci_request(count: int = 1, alias: str | None = "a1", **extra: Any) -> dict[str, Any]:
    spec = {"vendor_id": "8086", "product_id": "1520"}
    spec.update(extra.pop("spec", {}))
    return {"count": count, "spec": [spec], "alias_name": alias, "request_id": "req1", **extra}


@pytest.mark.parametrize(
    ("policy", "pool_node", "fits"),
    [
        ("required", 1, True),  # the guest cell goes to host cell 1
        ("required", None, False),
        ("legacy", None, True),  # devices without NUMA info suit legacy
        ("preferred", None, True),
    ],
)
def test_pci_numa_affinity(policy: str, pool_node: int | None, fits: bool) -> None:
    batch = make_batch([{"numa_topology": two_cell_host(), "pci_stats": [vf_pool(pool_node)]}])
    spec = make_spec(
        numa_topology=guest(gcell(0, {0})), pci_requests=(pci_request(numa_policy=policy),)
    )
    assert bool(NUMATopologyFilter(CONF).filter(batch, spec)[0]) is fits


def test_pci_numa_affinity_required_cell_too_small() -> None:
    host = {"cells": [cell(0, {0, 1}), cell(1, {2, 3}, memory=256)]}
    batch = make_batch([{"numa_topology": host, "pci_stats": [vf_pool(1)]}])
    for policy, fits in (("required", False), ("legacy", False), ("preferred", True)):
        spec = make_spec(
            numa_topology=guest(gcell(0, {0}, memory=512)),
            pci_requests=(pci_request(numa_policy=policy),),
        )
        assert bool(NUMATopologyFilter(CONF).filter(batch, spec)[0]) is fits, policy


def test_pci_socket_policy() -> None:
    host = {
        "cells": [cell(0, {0, 1}, socket=0), cell(1, {2, 3}, socket=0), cell(2, {4, 5}, socket=1)]
    }
    busy = dict(host)
    busy["cells"] = [cell(0, {0, 1}, socket=0), cell(1, {2, 3}, 256, socket=0), host["cells"][2]]
    request = (pci_request(numa_policy="socket"),)
    small = guest(gcell(0, {0}, memory=512))
    # Device on cell 1; the guest fits cell 0 on the same socket.
    batch = make_batch([{"numa_topology": busy, "pci_stats": [vf_pool(1)]}])
    assert NUMATopologyFilter(CONF).filter(
        batch, make_spec(numa_topology=small, pci_requests=request)
    )[0]
    # Device on socket 1's cell, which is the only other: the guest fits cell 2 there.
    batch = make_batch([{"numa_topology": busy, "pci_stats": [vf_pool(2)]}])
    assert NUMATopologyFilter(CONF).filter(
        batch, make_spec(numa_topology=small, pci_requests=request)
    )[0]
    # No socket information: socket policy cannot be met unless the cell itself matches.
    no_socket = {"cells": [cell(0, {0, 1}), cell(1, {2, 3}, 256)]}
    batch = make_batch([{"numa_topology": no_socket, "pci_stats": [vf_pool(1)]}])
    assert not NUMATopologyFilter(CONF).filter(
        batch, make_spec(numa_topology=small, pci_requests=request)
    )[0]


def test_network_numa_affinity() -> None:
    host = {
        "cells": [
            cell(0, {0, 1}, network_metadata={"physnets": ["foo"], "tunneled": False}),
            cell(1, {2, 3}, 256, network_metadata={"physnets": ["bar"], "tunneled": True}),
        ]
    }
    small = guest(gcell(0, {0}, memory=512))

    def passes(network: dict[str, Any]) -> bool:
        batch = make_batch([{"numa_topology": host}])
        spec = make_spec(numa_topology=small, network_metadata=network)
        return bool(NUMATopologyFilter(CONF).filter(batch, spec)[0])

    assert passes({"physnets": ["foo"], "tunneled": False})
    # The guest fits only cell 0; physnet bar and tunnels are bound to cell 1.
    assert not passes({"physnets": ["bar"], "tunneled": False})
    assert not passes({"physnets": [], "tunneled": True})
    assert passes({"physnets": ["baz"], "tunneled": False})  # no affinity declared anywhere


def test_numa_candidates_with_pci_in_placement() -> None:
    pools = [vf_pool(0, rp_uuid="rp-a"), vf_pool(1, rp_uuid="rp-b")]
    batch = make_batch(
        [{"numa_topology": two_cell_host(), "pci_stats": pools}],
    )
    batch.candidate_mappings = [
        ({"req1-0": ("rp-a",)}, {"req1-0": ("rp-b",)}, {"req1-0": ("rp-c",)})
    ]
    spec = make_spec(
        numa_topology=guest(gcell(0, {0})), pci_requests=(pci_request(numa_policy="required"),)
    )
    f = NUMATopologyFilter(CONF)
    assert f.filter(batch, spec).tolist() == [True]
    assert f.passing_candidates(batch, 0, spec) == [0, 1]


def test_unreadable_topologies_fail_with_a_reason() -> None:
    batch = make_batch([{"numa_topology": {"cells": [{"id": 0, "cpuset": "x"}]}}])
    f = NUMATopologyFilter(CONF)
    spec = make_spec(numa_topology=guest(gcell(0, {0})))
    passed = f.filter(batch, spec)
    assert f.reasons(batch, spec, passed) == ["unreadable host NUMA topology"]
    spec = make_spec(numa_topology={"cells": [{"id": 0}]})
    passed = f.filter(make_batch([{"numa_topology": two_cell_host()}]), spec)
    assert not passed.any()


def test_versioned_object_primitives_read_like_plain_data() -> None:
    wrapped_cell = {"nova_object.name": "NUMACell", "nova_object.data": cell(0, {0, 1})}
    host = {"nova_object.name": "NUMATopology", "nova_object.data": {"cells": [wrapped_cell]}}
    assert numa.host_topology(host).cells[0].cpuset == frozenset({0, 1})
    assert numa_passes(host, guest(gcell(0, {0})))


def test_fit_places_guest_cells_on_host_cells() -> None:
    host = numa.host_topology({"cells": [cell(0, {0, 1}, 256), cell(1, {2, 3})]})
    inst = numa.instance_topology(guest(gcell(0, {0}, memory=512)))
    placed = fit_instance_to_host(host, inst, numa.Limits(1.0, 1.0))
    assert placed is not None and [c.id for c in placed] == [1]


# -- PciPassthroughFilter ------------------------------------------------------


def pci_passes(pools: list[dict[str, Any]], *requests: dict[str, Any]) -> bool:
    batch = make_batch([{"pci_stats": pools}])
    return bool(PciPassthroughFilter(CONF).filter(batch, make_spec(pci_requests=requests))[0])


def test_pci_without_requests_passes_any_host() -> None:
    assert pci_passes([])
    assert pci_passes([vf_pool(0)])


def test_pci_counts_and_spec_matching() -> None:
    pools = [vf_pool(0, 2)]
    assert pci_passes(pools, pci_request(2))
    assert not pci_passes(pools, pci_request(3))
    assert not pci_passes([], pci_request(1))
    # Strings compare case-insensitively; other vendor does not match.
    assert pci_passes([vf_pool(0, product_id="ABCD")], pci_request(spec={"product_id": "abcd"}))
    assert not pci_passes(pools, pci_request(spec={"vendor_id": "15b3"}))
    # Requests are served one after the other from the same pools.
    assert pci_passes(pools, pci_request(1), pci_request(1))
    assert not pci_passes(pools, pci_request(2), pci_request(1))
    # Several pools together serve one request.
    assert pci_passes([vf_pool(0), vf_pool(1)], pci_request(2))


def test_pci_special_device_kinds_only_when_asked_for() -> None:
    pf = vf_pool(0, dev_type="type-PF")
    assert not pci_passes([pf], pci_request())
    assert pci_passes([pf], pci_request(spec={"dev_type": "type-PF"}))
    vdpa = vf_pool(0, dev_type="vdpa")
    assert not pci_passes([vdpa], pci_request())
    assert pci_passes([vdpa], pci_request(spec={"dev_type": "vdpa"}))
    remote = vf_pool(0, remote_managed="true")
    assert not pci_passes([remote], pci_request())
    assert pci_passes([remote], pci_request(spec={"remote_managed": "True"}))
    # live_migratable: "true" and "false" requests get only pools that say so.
    live = vf_pool(0, live_migratable="true")
    assert pci_passes([live], pci_request(spec={"live_migratable": "true"}))
    assert not pci_passes([vf_pool(0)], pci_request(spec={"live_migratable": "true"}))
    assert not pci_passes([live], pci_request(spec={"live_migratable": "false"}))
    assert pci_passes([live], pci_request())


def test_pci_follows_placement_allocation_per_candidate() -> None:
    pools = [vf_pool(0, rp_uuid="rp-a"), vf_pool(0, 0, rp_uuid="rp-b")]
    batch = make_batch([{"pci_stats": pools}])
    batch.candidate_mappings = [({"req1-0": ("rp-b",)}, {"req1-0": ("rp-a",)})]
    spec = make_spec(pci_requests=(pci_request(),))
    f = PciPassthroughFilter(CONF)
    assert f.filter(batch, spec).tolist() == [True]
    assert f.passing_candidates(batch, 0, spec) == [1]
    batch.candidate_mappings = [({"req1-0": ("rp-b",)},)]
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False]
    assert f.reasons(batch, spec, passed) == ["lacks the requested PCI devices"]
    # A port request (no alias) is not tracked in Placement: any pool serves it.
    port = make_spec(pci_requests=(pci_request(alias=None),))
    assert f.filter(batch, port).tolist() == [True]


def test_pci_rp_uuids_from_the_request_spec_after_scheduling() -> None:
    pools = [vf_pool(0, rp_uuid="rp-a"), vf_pool(0, rp_uuid="rp-b")]
    req = pci.PciRequest.from_data(pci_request(spec={"rp_uuids": "rp-b"}))
    assert pci.rp_uuids_for(req, {}) == ["rp-b"]
    assert pci.support_requests(pools, [req], {})
    gone = pci.PciRequest.from_data(pci_request(spec={"rp_uuids": "rp-z"}))
    assert not pci.support_requests(pools, [gone], {})


# --- consuming an instance (Nova's consume_from_request, NUMA and PCI part) ---


def test_consume_pins_the_fitted_cpus_and_takes_memory_and_pages() -> None:
    host = {
        "cells": [
            cell(
                0, set(), 4096, pcpus={0, 1, 2, 3}, mempages=[{"size_kb": 4, "total": 1024 * 1024}]
            )
        ]
    }
    instance = numa.instance_topology(guest(pinned_gcell(0, {0, 1, 2}, memory=512)))
    consumed = consume_instance(host, [], instance, (), numa.Limits(1.0, 1.0), {})
    assert consumed.numa_topology is not None
    after = numa.host_topology(consumed.numa_topology).cells[0]
    assert after.pinned_cpus == {0, 1, 2}
    assert after.memory_usage == 512 and after.cpu_usage == 0
    assert after.mempages[0].used == 512 * 256
    # The host given is left alone, and a second instance no longer fits.
    assert host["cells"][0]["pinned_cpus"] == []
    again = consume_instance(consumed.numa_topology, [], instance, (), None, {})
    assert again.numa_topology == consumed.numa_topology
    assert not numa_passes(consumed.numa_topology, guest(pinned_gcell(0, {0, 1, 2})))
    assert numa_passes(consumed.numa_topology, guest(pinned_gcell(0, {0})))


def test_consume_isolate_pins_whole_cores_and_shared_counts_cpu_usage() -> None:
    host = {"cells": [cell(0, {0, 1, 2, 3}, siblings=[{0, 1}, {2, 3}])]}
    isolated = numa.instance_topology(guest(pinned_gcell(0, {0}, cpu_thread_policy="isolate")))
    after = consume_instance(host, [], isolated, (), None, {}).numa_topology
    assert after is not None
    assert numa.host_topology(after).cells[0].pinned_cpus == {0, 1}
    shared = numa.instance_topology(guest(gcell(0, {0, 1}, memory=256)))
    after = consume_instance(host, [], shared, (), numa.Limits(2.0, 1.0), {}).numa_topology
    assert after is not None
    used = numa.host_topology(after).cells[0]
    assert used.cpu_usage == 2 and used.memory_usage == 256 and not used.pinned_cpus


def test_consume_takes_pci_devices_and_drops_empty_pools() -> None:
    requests = (pci.PciRequest.from_data(pci_request()),)
    pools = [vf_pool(0, count=2)]
    left = consume_instance(None, pools, None, requests, None, {}).pci_stats
    assert [p["count"] for p in left] == [1]
    assert pools[0]["count"] == 2  # the host's pools are copied, not changed
    assert list(consume_instance(None, left, None, requests, None, {}).pci_stats) == []
    # Not enough devices (no PciPassthroughFilter): the pools stay as they were.
    assert consume_instance(None, [], None, requests, None, {}).pci_stats == []
    assert pci.apply_requests([], requests, {}) is None
