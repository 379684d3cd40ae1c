"""Capacity headroom's counting on its own: Placement's rules per tree
(corral.placement.headroom) and the host filters' cut, by bisection
(corral.scheduler.capacity.filtered_counts)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from corral.placement import headroom
from corral.placement.index.state import IndexState
from corral.placement.index.view import IndexView
from corral.placement.request import CandidateRequest, GroupPolicy, RequestGroup, RequestWideParams
from corral.scheduler.capacity import filtered_counts, taken_per_instance
from corral.scheduler.filters.compute import ComputeFilter
from corral.scheduler.filters.num_instances import NumInstancesFilter
from corral.store.snapshot import InventoryTuple, ProviderTuple, UsageTuple
from tests.unit.scheduler_fixtures import make_batch, make_conf, make_spec

RC = {"VCPU": 0, "MEMORY_MB": 1, "DISK_GB": 2, "CUSTOM_X": 10000}
TRAITS = {"CUSTOM_FAST": 1}


class Names:
    def rc_ids(self, names: Collection[str]) -> dict[str, int]:
        return {n: RC[n] for n in names if n in RC}

    def trait_ids(self, names: Collection[str]) -> dict[str, int]:
        return {n: TRAITS[n] for n in names if n in TRAITS}


def inv(
    provider: int,
    rc: str,
    total: int,
    *,
    reserved: int = 0,
    max_unit: int | None = None,
    step: int = 1,
    ratio: float = 1.0,
) -> InventoryTuple:
    return InventoryTuple(
        provider, RC[rc], total, reserved, 1, total if max_unit is None else max_unit, step, ratio
    )


def state(
    providers: list[ProviderTuple],
    inventories: list[InventoryTuple],
    usages: list[UsageTuple] = (),  # type: ignore[assignment]
    traits: list[tuple[int, int]] = (),  # type: ignore[assignment]
) -> IndexView:
    s = IndexState()
    s.apply_providers(None, providers)
    s.set_names({v: k for k, v in RC.items()}, {v: k for k, v in TRAITS.items()})
    s.apply_inventories(None, inventories)
    s.apply_usages(None, list(usages))
    s.apply_traits(None, list(traits))
    return IndexView(s)


def request(*groups: RequestGroup, policy: GroupPolicy | None = None) -> CandidateRequest:
    return CandidateRequest({g.suffix: g for g in groups}, RequestWideParams(group_policy=policy))


def roots(n: int) -> list[ProviderTuple]:
    return [ProviderTuple(i + 1, f"rp{i}", None, i + 1) for i in range(n)]


def test_flat_hosts_every_rule() -> None:
    view = state(
        roots(5),
        [
            inv(1, "VCPU", 16),
            inv(1, "MEMORY_MB", 32768),
            # VCPU 4 * 4.0 = 16, 2 used; MEMORY_MB 16384 - 4096 reserved
            inv(2, "VCPU", 4, ratio=4.0),
            inv(2, "MEMORY_MB", 16384, reserved=4096),
            # max_unit 1: VCPU:2 never fits
            inv(3, "VCPU", 32, max_unit=1),
            inv(3, "MEMORY_MB", 65536),
            # step_size 4: VCPU:2 is no multiple
            inv(4, "VCPU", 32, step=4),
            inv(4, "MEMORY_MB", 65536),
            # no MEMORY_MB at all
            inv(5, "VCPU", 32),
        ],
        [UsageTuple(2, RC["VCPU"], 2)],
    )
    shape = request(RequestGroup(resources={"VCPU": 2, "MEMORY_MB": 4096}))
    counts = headroom.fits_per_tree(Names(), view, shape)
    # slot i is provider i + 1
    assert counts.tolist() == [8, 3, 0, 0, 0]


def test_required_trait_and_unknown_aggregate() -> None:
    view = state(
        roots(2),
        [inv(1, "VCPU", 8), inv(2, "VCPU", 8)],
        traits=[(2, TRAITS["CUSTOM_FAST"])],
    )
    fast = RequestGroup(resources={"VCPU": 2}, required_traits=(frozenset({"CUSTOM_FAST"}),))
    assert headroom.fits_per_tree(Names(), view, request(fast)).tolist() == [0, 4]
    nowhere = RequestGroup(
        resources={"VCPU": 2}, member_of=(frozenset({"00000000-0000-0000-0000-000000000001"}),)
    )
    assert headroom.fits_per_tree(Names(), view, request(nowhere)).tolist() == [0, 0]


def test_nested_providers_serve_their_groups() -> None:
    # A root with VCPU and MEMORY_MB, two NUMA-like children with 5 CUSTOM_X each.
    view = state(
        [
            ProviderTuple(1, "root", None, 1),
            ProviderTuple(2, "numa0", 1, 1),
            ProviderTuple(3, "numa1", 1, 1),
        ],
        [
            inv(1, "VCPU", 64),
            inv(1, "MEMORY_MB", 65536),
            inv(2, "CUSTOM_X", 5),
            inv(3, "CUSTOM_X", 5),
        ],
    )
    one = request(
        RequestGroup(resources={"VCPU": 2, "MEMORY_MB": 1024}),
        RequestGroup(suffix="1", resources={"CUSTOM_X": 2}),
    )
    # 2 on each child (5 // 2), 32 by VCPU, 64 by memory: 4 in the tree.
    assert headroom.fits_per_tree(Names(), view, one).tolist() == [4, 0, 0]
    # The unsuffixed group may take CUSTOM_X from either child: 2 + 2.
    unsuffixed = request(RequestGroup(resources={"VCPU": 2, "CUSTOM_X": 2}))
    assert headroom.fits_per_tree(Names(), view, unsuffixed).tolist() == [4, 0, 0]
    # Two groups asking CUSTOM_X share the tree's 10: at most 10 // 4.
    two = request(
        RequestGroup(suffix="1", resources={"CUSTOM_X": 2}),
        RequestGroup(suffix="2", resources={"CUSTOM_X": 2}),
        policy=GroupPolicy.NONE,
    )
    assert headroom.fits_per_tree(Names(), view, two).tolist() == [2, 0, 0]


def test_free_per_tree() -> None:
    view = state(
        [ProviderTuple(1, "root", None, 1), ProviderTuple(2, "child", 1, 1)],
        [inv(1, "VCPU", 8), inv(2, "VCPU", 4), inv(1, "MEMORY_MB", 100, reserved=10)],
        [UsageTuple(1, RC["VCPU"], 3)],
    )
    free = headroom.free_per_tree(view, np.array([0, -1], dtype=np.intp))
    assert {rc: v.tolist() for rc, v in free.items()} == {"VCPU": [9, 0], "MEMORY_MB": [90, 0]}


def test_filters_cut_the_count_by_consumption() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 5})
    batch = make_batch(
        [
            {"num_instances": 0},
            {"num_instances": 3},
            {"num_instances": 5},
            {"num_instances": 0, "enabled": False},
            {"num_instances": 4},
            {"num_instances": 1},
        ]
    )
    most = np.array([10, 10, 10, 10, 1, 3], dtype=np.int64)
    filters = [ComputeFilter(conf), NumInstancesFilter(conf)]
    got = filtered_counts(filters, batch, make_spec(), most, {"VCPU": 1})
    assert got.tolist() == [5, 2, 0, 0, 1, 3]
    # Without filters the Placement count stands.
    assert filtered_counts([], batch, make_spec(), most, {}).tolist() == most.tolist()


def test_bisection_matches_one_at_a_time() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 37})
    rng = np.random.default_rng(7)
    hosts = [{"num_instances": int(n)} for n in rng.integers(0, 40, 200)]
    batch = make_batch(hosts)
    most = rng.integers(0, 60, 200).astype(np.int64)
    got = filtered_counts([NumInstancesFilter(conf)], batch, make_spec(), most, {})
    want = [max(0, min(int(m), 37 - h["num_instances"])) for m, h in zip(most, hosts, strict=True)]
    assert got.tolist() == want


def test_consumed_batch_and_taken() -> None:
    shape = request(
        RequestGroup(resources={"VCPU": 2, "MEMORY_MB": 1024}),
        RequestGroup(suffix="1", resources={"VCPU": 1, "CUSTOM_X": 1}),
        policy=GroupPolicy.NONE,
    )
    taken = taken_per_instance(shape)
    assert taken == {"VCPU": 3, "MEMORY_MB": 1024}
    batch = make_batch([{}, {}])
    after = batch.consumed(taken, np.array([0, 2], dtype=np.int64))
    assert after.vcpus_used.tolist() == [0, 6]
    assert after.free_ram_mb.tolist() == [32768, 32768 - 2048]
    assert after.num_instances.tolist() == [0, 2]
    assert batch.vcpus_used.tolist() == [0, 0]
