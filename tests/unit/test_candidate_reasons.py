"""Why Placement offered no candidate on a host, one reason per host."""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.placement.candidates.reasons import (
    BEYOND_LIMIT,
    NO_CANDIDATE,
    NOT_IN_PLACEMENT,
    placement_reasons,
)
from corral.placement.index import IndexState, IndexView
from corral.placement.request import CandidateRequest, RequestGroup
from corral.scheduler.request_filters import DISABLED_TRAIT, Narrowing
from corral.store.snapshot import InventoryTuple, ProviderTuple, UsageTuple

RC = {0: "VCPU", 1: "MEMORY_MB", 2: "DISK_GB", 3: "VGPU"}
RC_ID = {name: ident for ident, name in RC.items()}
TRAITS = {0: DISABLED_TRAIT, 1: "CUSTOM_FAST", 2: "CUSTOM_SLOW", 3: "COMPUTE_IMAGE_TYPE_RAW"}
TRAIT_ID = {name: ident for ident, name in TRAITS.items()}
AZ_AGG = (100, "agg-az2")
ISOLATED_AGG = (101, "agg-isolated")


@dataclass
class Provider:
    id: int
    uuid: str
    parent: int | None = None
    root: int | None = None
    # class -> (total, used)
    inventory: dict[str, tuple[int, int]] = field(default_factory=dict)
    traits: tuple[str, ...] = ()
    aggregates: tuple[tuple[int, str], ...] = ()
    max_unit: int | None = None


def full(memory: int = 8192, memory_used: int = 0) -> dict[str, tuple[int, int]]:
    return {"VCPU": (16, 0), "MEMORY_MB": (memory, memory_used), "DISK_GB": (100, 0)}


def build(providers: list[Provider]) -> IndexState:
    state = IndexState()
    state.set_names(rc_names=RC, trait_names=TRAITS)
    state.apply_providers(
        None,
        [
            ProviderTuple(p.id, p.uuid, p.parent, p.root if p.root is not None else p.id)
            for p in providers
        ],
    )
    state.apply_inventories(
        None,
        [
            InventoryTuple(p.id, RC_ID[rc], total, 0, 1, p.max_unit or total, 1, 1.0)
            for p in providers
            for rc, (total, _used) in p.inventory.items()
        ],
    )
    state.apply_usages(
        None,
        [
            UsageTuple(p.id, RC_ID[rc], used)
            for p in providers
            for rc, (_total, used) in p.inventory.items()
            if used
        ],
    )
    state.apply_traits(None, [(p.id, TRAIT_ID[t]) for p in providers for t in p.traits])
    state.apply_aggregates(
        None, [(p.id, agg_id, uuid) for p in providers for agg_id, uuid in p.aggregates]
    )
    return state


def cloud() -> IndexState:
    """h1 fits; h2 has no MEMORY_MB; h3 is outside the zone; h4 is disabled;
    h5 has its MEMORY_MB on a child provider."""
    az = (AZ_AGG,)
    return build(
        [
            Provider(1, "h1", inventory=full(), aggregates=az),
            Provider(
                2,
                "h2",
                inventory={"VCPU": (16, 0), "DISK_GB": (100, 0)},
                aggregates=az,
            ),
            Provider(3, "h3", inventory=full()),
            Provider(4, "h4", inventory=full(), traits=(DISABLED_TRAIT,), aggregates=az),
            Provider(
                5,
                "h5",
                inventory={"VCPU": (16, 0), "DISK_GB": (100, 0)},
                aggregates=az,
            ),
            Provider(6, "h5-numa0", parent=5, root=5, inventory={"MEMORY_MB": (8192, 0)}),
        ]
    )


def flavor_request(memory_mb: int = 1024, **group: object) -> CandidateRequest:
    resources = {"VCPU": 1, "MEMORY_MB": memory_mb, "DISK_GB": 10}
    return CandidateRequest({"": RequestGroup(resources=resources, **group)})  # type: ignore[arg-type]


def zone_narrowing() -> Narrowing:
    narrowing = Narrowing()
    narrowing.root_forbidden[DISABLED_TRAIT] = "disabled"
    narrowing.member_of.append((frozenset({AZ_AGG[1]}), "not in AZ az2"))
    return narrowing


HOSTS = ["h1", "h2", "h3", "h4", "h5"]


def test_one_reason_per_host_that_was_not_offered() -> None:
    reasons = placement_reasons(
        IndexView(cloud()),
        HOSTS,
        flavor_request(),
        zone_narrowing(),
        offered={"h1"},
        truncated=False,
    )
    # h5 has MEMORY_MB on its child, so nothing rules it out: it just had no candidate
    assert reasons == {
        "lacked MEMORY_MB": 1,
        "not in AZ az2": 1,
        "disabled": 1,
        NO_CANDIDATE: 1,
    }


def test_nested_child_resource_counts_for_its_host() -> None:
    reasons = placement_reasons(
        IndexView(cloud()),
        ["h2", "h5"],
        flavor_request(),
        Narrowing(),
        offered=set(),
        truncated=False,
    )
    assert reasons == {"lacked MEMORY_MB": 1, NO_CANDIDATE: 1}


def test_offered_hosts_have_no_reason() -> None:
    reasons = placement_reasons(
        IndexView(cloud()),
        HOSTS,
        flavor_request(),
        zone_narrowing(),
        offered=set(HOSTS),
        truncated=False,
    )
    assert reasons == {}


def test_host_passing_every_check_was_beyond_the_limit_when_truncated() -> None:
    reasons = placement_reasons(
        IndexView(cloud()),
        ["h1", "h5"],
        flavor_request(),
        zone_narrowing(),
        offered=set(),
        truncated=True,
    )
    assert reasons == {BEYOND_LIMIT: 2}


def test_first_reason_wins() -> None:
    state = build(
        [
            # disabled, outside the zone and short of memory: counted as disabled only
            Provider(1, "h1", inventory={"VCPU": (4, 0)}, traits=(DISABLED_TRAIT,)),
            # outside the zone and short of memory: counted as outside the zone
            Provider(2, "h2", inventory={"VCPU": (4, 0)}),
            Provider(3, "h3", inventory={"VCPU": (4, 0)}, aggregates=(AZ_AGG,)),
        ]
    )
    reasons = placement_reasons(
        IndexView(state), ["h1", "h2", "h3"], flavor_request(), zone_narrowing(), set(), False
    )
    assert reasons == {"disabled": 1, "not in AZ az2": 1, "lacked MEMORY_MB": 1}


def test_host_unknown_to_placement() -> None:
    reasons = placement_reasons(
        IndexView(cloud()),
        ["h1", "ghost"],
        flavor_request(),
        Narrowing(),
        offered={"h1"},
        truncated=False,
    )
    assert reasons == {NOT_IN_PLACEMENT: 1}


def test_free_capacity_counts_usage_and_max_unit() -> None:
    state = build(
        [
            Provider(1, "used-up", inventory=full(memory=2048, memory_used=1536)),
            Provider(2, "small-units", inventory=full(), max_unit=512),
            Provider(3, "roomy", inventory=full(memory=2048, memory_used=1024)),
        ]
    )
    reasons = placement_reasons(
        IndexView(state),
        ["used-up", "small-units", "roomy"],
        flavor_request(1024),
        Narrowing(),
        set(),
        False,
    )
    assert reasons == {"lacked MEMORY_MB": 2, NO_CANDIDATE: 1}


def test_class_placement_has_never_heard_of() -> None:
    request = CandidateRequest({"": RequestGroup(resources={"CUSTOM_UNHEARD_OF": 1})})
    reasons = placement_reasons(IndexView(cloud()), HOSTS, request, Narrowing(), set(), False)
    assert reasons == {"lacked CUSTOM_UNHEARD_OF": len(HOSTS)}


def test_granular_group_traits_anywhere_in_the_tree() -> None:
    state = build(
        [
            Provider(1, "h1", inventory=full()),
            Provider(
                2, "h1-gpu", parent=1, root=1, inventory={"VGPU": (4, 0)}, traits=("CUSTOM_FAST",)
            ),
            Provider(3, "h2", inventory=full()),
            Provider(4, "h2-gpu", parent=3, root=3, inventory={"VGPU": (4, 0)}),
            Provider(5, "h3", inventory=full(), traits=("CUSTOM_SLOW",)),
            Provider(
                6, "h3-gpu", parent=5, root=5, inventory={"VGPU": (4, 0)}, traits=("CUSTOM_FAST",)
            ),
            Provider(7, "h4", inventory=full()),
        ]
    )
    request = CandidateRequest(
        {
            "": RequestGroup(resources={"VCPU": 1}),
            "gpu": RequestGroup(
                suffix="gpu",
                resources={"VGPU": 1},
                required_traits=(frozenset({"CUSTOM_FAST", "CUSTOM_UNKNOWN"}),),
                forbidden_traits=frozenset({"CUSTOM_SLOW"}),
            ),
        }
    )
    reasons = placement_reasons(
        IndexView(state), ["h1", "h2", "h3", "h4"], request, Narrowing(), set(), False
    )
    assert reasons == {
        NO_CANDIDATE: 1,
        "lacked trait CUSTOM_FAST or CUSTOM_UNKNOWN": 1,
        "had forbidden trait CUSTOM_SLOW": 1,
        "lacked VGPU": 1,
    }


def test_required_trait_nobody_has() -> None:
    request = flavor_request(required_traits=(frozenset({"CUSTOM_NOBODY"}),))
    reasons = placement_reasons(
        IndexView(cloud()), ["h1", "h3"], request, Narrowing(), set(), False
    )
    assert reasons == {"lacked trait CUSTOM_NOBODY": 2}


def test_root_required_trait_and_isolated_aggregate() -> None:
    state = build(
        [
            Provider(1, "raw", inventory=full(), traits=("COMPUTE_IMAGE_TYPE_RAW",)),
            Provider(2, "no-raw", inventory=full()),
            Provider(
                3,
                "isolated",
                inventory=full(),
                traits=("COMPUTE_IMAGE_TYPE_RAW",),
                aggregates=(ISOLATED_AGG,),
            ),
        ]
    )
    narrowing = Narrowing()
    narrowing.root_required["COMPUTE_IMAGE_TYPE_RAW"] = "does not support raw images"
    narrowing.root_required["CUSTOM_NOT_IN_PLACEMENT"] = "lacks CUSTOM_NOT_IN_PLACEMENT"
    narrowing.forbidden_aggs[ISOLATED_AGG[1]] = "in an aggregate isolated for other traits"
    reasons = placement_reasons(
        IndexView(state), ["raw", "no-raw", "isolated"], flavor_request(), narrowing, set(), False
    )
    assert reasons == {
        "in an aggregate isolated for other traits": 1,
        "does not support raw images": 1,
        # a trait Placement has never heard of: no root has it
        "lacks CUSTOM_NOT_IN_PLACEMENT": 1,
    }


def test_zone_aggregate_unknown_to_placement_rules_every_host_out() -> None:
    narrowing = Narrowing()
    narrowing.member_of.append((frozenset({"agg-nowhere"}), "not in AZ az9"))
    reasons = placement_reasons(
        IndexView(cloud()), HOSTS, flavor_request(), narrowing, set(), False
    )
    assert reasons == {"not in AZ az9": len(HOSTS)}


def test_removed_child_no_longer_counts() -> None:
    state = cloud()
    state.apply_providers({6}, [])
    reasons = placement_reasons(
        IndexView(state), ["h5"], flavor_request(), Narrowing(), set(), False
    )
    assert reasons == {"lacked MEMORY_MB": 1}
