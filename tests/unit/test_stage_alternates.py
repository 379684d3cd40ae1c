"""The alternates stage on its own: the chosen host's Selection, then its alternates."""

from __future__ import annotations

import random
from collections.abc import Set
from typing import Any

from corral.api.scheduler.select import _limits
from corral.compute.hardware import numa
from corral.scheduler import registry
from corral.scheduler.batch import HostBatch
from corral.scheduler.filters import NUMATopologyFilter
from corral.scheduler.spec import AllocationRequest, Selection
from corral.scheduler.stages.alternates import (
    ALLOCATION_REQUEST_VERSION,
    alternates,
    selection,
    selections,
)
from corral.scheduler.stages.rank import Ranked, Ranker, RankMemo, RankSettings
from corral.scheduler.stages.search import Search
from tests.unit.scheduler_fixtures import candidate, make_batch, make_conf, make_search, make_spec

CONF = make_conf()


def ranked_by_free_ram(batch: HostBatch, search: Search) -> Ranked:
    r = Ranker([], [registry.WEIGHERS["RAMWeigher"](CONF)], RankSettings(), random.Random(0))
    return r.rank(search, batch, make_spec(), 0, RankMemo())


def hosts(batch_hosts: list[dict[str, Any]]) -> HostBatch:
    """Hosts best first by free RAM, in batch order."""
    return make_batch([{"free_ram_mb": 10000 - 1000 * i, **h} for i, h in enumerate(batch_hosts)])


def pick(
    batch: HostBatch,
    search: Search | None = None,
    chosen_before: Set[str] = frozenset(),
    *,
    return_alternates: bool = True,
    max_attempts: int = 3,
) -> list[Selection]:
    search = search or make_search(batch)
    ranked = ranked_by_free_ram(batch, search)
    return selections(
        search,
        ranked,
        ranked.order.head[0],
        chosen_before,
        return_alternates=return_alternates,
        max_attempts=max_attempts,
    )


def names(out: list[Selection]) -> list[str]:
    return [s.service_host for s in out]


def test_chosen_first_then_max_attempts_minus_one_alternates() -> None:
    batch = hosts([{}] * 5)
    assert names(pick(batch)) == ["host0", "host1", "host2"]
    assert names(pick(batch, max_attempts=5)) == ["host0", "host1", "host2", "host3", "host4"]
    assert names(pick(batch, max_attempts=10)) == [f"host{i}" for i in range(5)]
    assert names(pick(batch, max_attempts=1)) == ["host0"]


def test_the_chosen_host_need_not_be_the_best() -> None:
    batch = hosts([{}] * 4)
    search = make_search(batch)
    ranked = ranked_by_free_ram(batch, search)
    out = selections(search, ranked, 2, frozenset(), return_alternates=True, max_attempts=3)
    assert names(out) == ["host2", "host0", "host1"]


def test_no_alternates_when_not_asked() -> None:
    assert names(pick(hosts([{}] * 4), return_alternates=False)) == ["host0"]


def test_alternates_only_in_the_chosen_hosts_cell() -> None:
    batch = hosts([{}, {"cell_uuid": "cell2"}, {}, {"cell_uuid": "cell2"}, {}])
    out = pick(batch)
    assert names(out) == ["host0", "host2", "host4"]
    assert {s.cell_uuid for s in out} == {"cell1"}


def test_alternates_exclude_hosts_chosen_before() -> None:
    batch = hosts([{}] * 5)
    assert names(pick(batch, chosen_before={"rp-1", "rp-2"})) == ["host0", "host3", "host4"]


def test_alternates_skip_hosts_with_no_fitting_candidate() -> None:
    batch = hosts([{}, {"memory_mb_total": 256}, {}, {}])
    offered = {p: [candidate(p)] for p in batch.provider_uuid if p != "rp-2"}
    search = make_search(batch, offered)
    assert names(pick(batch, search)) == ["host0", "host3"]


def test_an_alternate_offers_its_first_fitting_candidate() -> None:
    batch = hosts([{}, {"memory_mb_total": 4096}])
    too_big = candidate("rp-1", MEMORY_MB=8192)
    fits = candidate("rp-1", MEMORY_MB=2048)
    search = make_search(batch, {"rp-0": [candidate("rp-0")], "rp-1": [too_big, fits]})
    out = pick(batch, search)
    assert names(out) == ["host0", "host1"]
    request = out[1].allocation_request
    assert request is not None
    assert request.allocations == {"rp-1": {"VCPU": 1, "MEMORY_MB": 2048}}


def test_a_selection_in_nova_shape() -> None:
    batch = make_batch([{"host": "cmp1", "node": "cmp1.example", "availability_zone": "az1"}])
    offered = {
        "rp-0": [
            candidate("rp-0", VCPU=2, MEMORY_MB=1024, DISK_GB=10)._replace(
                mappings={"": ["rp-0"], "_NET": ["rp-net"]}
            )
        ]
    }
    out = selection(make_search(batch, offered), batch, 0)
    assert out == Selection(
        service_host="cmp1",
        nodename="cmp1.example",
        compute_node_uuid="rp-0",
        cell_uuid="cell1",
        allocation_request=AllocationRequest(
            {"rp-0": {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10}},
            {"": ("rp-0",), "_NET": ("rp-net",)},
        ),
        allocation_request_version="1.36",
        limits={},
        availability_zone="az1",
    )
    assert ALLOCATION_REQUEST_VERSION == "1.36"
    assert out.allocation_request is not None
    assert out.allocation_request.to_dict() == {
        "allocations": {"rp-0": {"resources": {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10}}},
        "mappings": {"": ["rp-0"], "_NET": ["rp-net"]},
    }


def test_a_selection_without_a_fitting_candidate_has_no_allocation_request() -> None:
    batch = make_batch([{"vcpus_total": 1, "vcpus_used": 1}])
    out = selection(make_search(batch), batch, 0)
    assert out.allocation_request is None
    assert out.allocation_request_version == "1.36"


def test_a_batch_without_zones_gives_no_zone() -> None:
    batch = make_batch([{}])
    batch.availability_zone = []
    assert selection(make_search(batch), batch, 0).availability_zone is None


def test_alternates_leave_out_every_excluded_host() -> None:
    batch = hosts([{}] * 5)
    search = make_search(batch)
    ranked = ranked_by_free_ram(batch, search)
    out = alternates(search, ranked, "cell1", {"rp-0", "rp-2"}, 2)
    assert names(out) == ["host1", "host3"]
    assert names(alternates(search, ranked, "cell1", {"rp-0"}, 0)) == []
    assert names(alternates(search, ranked, "cell2", set(), 2)) == []


def test_a_rebuild_checks_alternates_need_no_candidate() -> None:
    batch = hosts([{}] * 3)
    search = make_search(batch, {p: [] for p in batch.provider_uuid})
    ranked = ranked_by_free_ram(batch, search)
    assert names(alternates(search, ranked, "cell1", {"rp-0"}, 2)) == []
    search.rebuild = True
    out = alternates(search, ranked, "cell1", {"rp-0"}, 2)
    assert names(out) == ["host1", "host2"]
    assert all(s.allocation_request is None for s in out)


def test_selections_carry_the_numa_limits_the_filter_set() -> None:
    """NUMATopologyFilter's host_state.limits['numa_topology'] (Nova's
    Selection.from_host_state), for the chosen host and its alternates; the
    HTTP door shows them as plain JSON."""

    topology = {
        "cells": [{"id": 0, "cpuset": [0, 1], "pcpuset": [], "memory": 2048, "siblings": []}]
    }
    batch = make_batch(
        [
            {"numa_topology": topology, "cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.5},
            {"numa_topology": topology, "cpu_allocation_ratio": 16.0, "ram_allocation_ratio": 1.0},
        ]
    )
    guest = {"cells": [{"id": 0, "cpuset": [0], "pcpuset": [], "memory": 512}]}
    spec = make_spec(
        numa_topology=guest, network_metadata={"physnets": ["net1"], "tunneled": False}
    )
    ranker = Ranker([NUMATopologyFilter(make_conf())], [], RankSettings(), random.Random(0))
    search = make_search(batch)
    ranked = ranker.rank(search, batch, spec, 0, RankMemo())
    out = selections(search, ranked, 0, set(), return_alternates=True, max_attempts=3)
    network = numa.NetworkMetadata(frozenset({"net1"}), False)
    by_host = {s.service_host: s.limits for s in out}
    assert by_host == {
        "host0": {"numa_topology": numa.Limits(4.0, 1.5, network)},
        "host1": {"numa_topology": numa.Limits(16.0, 1.0, network)},
    }
    assert _limits(by_host["host0"]) == {
        "numa_topology": {
            "cpu_allocation_ratio": 4.0,
            "ram_allocation_ratio": 1.5,
            "network_metadata": {"physnets": ["net1"], "tunneled": False},
        }
    }
    # No NUMA topology asked: Nova's filter sets nothing.
    ranked = ranker.rank(search, batch, make_spec(), 0, RankMemo())
    assert all(
        s.limits == {}
        for s in selections(search, ranked, 0, set(), return_alternates=True, max_attempts=3)
    )
