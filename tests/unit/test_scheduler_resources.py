"""A request spec as Placement request groups, checked against Nova 34's
ResourceRequest.from_request_spec (nova/scheduler/utils.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from corral.placement.request import GroupPolicy, RequestGroup
from corral.scheduler.resources import HYPERTHREADING, resource_draft
from corral.scheduler.spec import Flavor, Image, RequestSpec


def make_spec(
    extra_specs: Mapping[str, str] | None = None,
    image: Mapping[str, object] | None = None,
    requested: tuple[RequestGroup, ...] = (),
    is_bfv: bool = False,
    vcpus: int = 4,
    memory_mb: int = 4096,
    root_gb: int = 40,
    ephemeral_gb: int = 0,
    swap: int = 0,
) -> RequestSpec:
    flavor = Flavor(
        vcpus=vcpus,
        memory_mb=memory_mb,
        root_gb=root_gb,
        ephemeral_gb=ephemeral_gb,
        swap=swap,
        extra_specs=dict(extra_specs or {}),
    )
    return RequestSpec(
        flavor=flavor,
        image=Image(properties=dict(image or {})),
        requested_resources=requested,
        is_bfv=is_bfv,
    )


def root_resources(spec: RequestSpec) -> dict[str, int]:
    return resource_draft(spec).root.resources


# --- the flavor ----------------------------------------------------------------------


def test_flavor_gives_vcpu_memory_and_disk() -> None:
    assert root_resources(make_spec()) == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


@pytest.mark.parametrize(
    ("swap", "disk"),
    [(0, 45), (1, 46), (1024, 46), (1025, 47), (2048, 47)],
)
def test_disk_adds_ephemeral_and_swap_rounded_up_to_gb(swap: int, disk: int) -> None:
    spec = make_spec(root_gb=40, ephemeral_gb=5, swap=swap)
    assert root_resources(spec)["DISK_GB"] == disk


def test_boot_from_volume_leaves_root_disk_out() -> None:
    spec = make_spec(root_gb=40, ephemeral_gb=2, swap=512, is_bfv=True)
    assert root_resources(spec) == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 3}


def test_boot_from_volume_without_local_disk_asks_no_disk() -> None:
    assert "DISK_GB" not in root_resources(make_spec(is_bfv=True))
    assert "DISK_GB" not in root_resources(make_spec(root_gb=0))


def test_request_for_nothing_is_still_one_unsuffixed_group() -> None:
    draft = resource_draft(make_spec(vcpus=0, memory_mb=0, root_gb=0))
    groups = draft.frozen_groups()
    assert list(groups) == [""]
    assert dict(groups[""].resources) == {}


# --- resources[N]:RC extra specs -----------------------------------------------------


def test_resources_extra_specs_override_flavor_amounts() -> None:
    spec = make_spec({"resources:VCPU": "8", "resources:MEMORY_MB": "1024"})
    assert root_resources(spec) == {"VCPU": 8, "MEMORY_MB": 1024, "DISK_GB": 40}


def test_resources_extra_spec_zero_removes_the_class() -> None:
    spec = make_spec({"resources:DISK_GB": "0", "resources:MEMORY_MB": "0"})
    assert root_resources(spec) == {"VCPU": 4}


def test_resources_extra_spec_adds_other_classes() -> None:
    spec = make_spec({"resources:CUSTOM_MAGIC": "2", "resources:VGPU": "1"})
    assert root_resources(spec) == {
        "VCPU": 4,
        "MEMORY_MB": 4096,
        "DISK_GB": 40,
        "CUSTOM_MAGIC": 2,
        "VGPU": 1,
    }


def test_resources_pcpu_replaces_the_flavor_vcpu() -> None:
    # Nova's other spelling of pinning: no VCPU is added once PCPU is asked for.
    spec = make_spec({"resources:PCPU": "4"})
    assert root_resources(spec) == {"PCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_granular_class_replaces_the_flavor_amount_of_that_class() -> None:
    # Nova adds a flavor amount only for a class that no group already asks for.
    draft = resource_draft(make_spec({"resources1:MEMORY_MB": "1024", "resources1:PCPU": "4"}))
    assert draft.root.resources == {"DISK_GB": 40}
    assert draft.groups["1"].resources == {"MEMORY_MB": 1024, "PCPU": 4}


def test_granular_class_keeps_an_explicit_unsuffixed_amount() -> None:
    draft = resource_draft(
        make_spec({"resources:MEMORY_MB": "512", "resources1:MEMORY_MB": "1024"})
    )
    assert draft.root.resources == {"VCPU": 4, "MEMORY_MB": 512, "DISK_GB": 40}


@pytest.mark.parametrize(
    "extra",
    [
        {"resources:VCPU": "many"},
        {"resources:VCPU": "-1"},
        {"resources:VCPU": ""},
        {"resources:lower_case": "1"},
        {"resources:": "1"},
        {"resourcesX!:VGPU": "1"},
        {"trait:HW_CPU_X86_AVX2": "preferred"},
        {"trait:": "required"},
        {"group_policy": "sometimes"},
        {"resources:NOT_A_CLASS": "1"},
        {"resources:VGPU": str(2**31)},
        {"unrelated:key": "1"},
    ],
)
def test_malformed_extra_specs_are_skipped(extra: dict[str, str]) -> None:
    draft = resource_draft(make_spec(extra))
    assert list(draft.groups) == [""]
    assert draft.root.resources == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}
    assert not draft.root.required and not draft.root.forbidden
    assert draft.group_policy is None
    assert draft.refusal is None


# --- granular groups and group_policy -------------------------------------------------


def test_granular_groups_from_numbered_and_named_suffixes() -> None:
    draft = resource_draft(
        make_spec(
            {
                "resources1:VGPU": "1",
                "trait1:CUSTOM_FAST": "required",
                "trait1:CUSTOM_SLOW": "forbidden",
                "resources_net:NET_BW_EGR_KILOBIT_PER_SEC": "1000",
                "group_policy": "isolate",
            }
        )
    )
    assert set(draft.groups) == {"", "1", "_net"}
    assert draft.groups["1"].resources == {"VGPU": 1}
    assert draft.groups["1"].required == {"CUSTOM_FAST"}
    assert draft.groups["1"].forbidden == {"CUSTOM_SLOW"}
    assert draft.groups["_net"].resources == {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}
    assert draft.group_policy is GroupPolicy.ISOLATE
    frozen = draft.frozen_groups()
    assert frozen["1"].use_same_provider and not frozen[""].use_same_provider
    assert frozen["1"].required_traits == (frozenset({"CUSTOM_FAST"}),)
    assert frozen["1"].forbidden_traits == frozenset({"CUSTOM_SLOW"})


def test_granular_zero_amount_leaves_a_group_that_asks_nothing() -> None:
    draft = resource_draft(make_spec({"resources1:VGPU": "0"}))
    assert draft.groups["1"].resources == {}
    assert list(draft.frozen_groups()) == [""]


@pytest.mark.parametrize("policy", ["none", "isolate"])
def test_group_policy_from_extra_specs(policy: str) -> None:
    spec = make_spec({"resources1:VGPU": "1", "resources2:VGPU": "1", "group_policy": policy})
    assert resource_draft(spec).group_policy == GroupPolicy(policy)


def test_single_granular_group_needs_no_policy() -> None:
    assert resource_draft(make_spec({"resources1:VGPU": "1"})).group_policy is None


def test_several_granular_groups_default_to_policy_none() -> None:
    spec = make_spec({"resources1:VGPU": "1", "resources2:VGPU": "1"})
    assert resource_draft(spec).group_policy is GroupPolicy.NONE


# --- traits ----------------------------------------------------------------------------


def test_trait_extra_specs_required_and_forbidden() -> None:
    draft = resource_draft(
        make_spec({"trait:HW_CPU_X86_AVX2": "required", "trait:CUSTOM_SLOW": "forbidden"})
    )
    assert draft.root.required == {"HW_CPU_X86_AVX2"}
    assert draft.root.forbidden == {"CUSTOM_SLOW"}
    root = draft.frozen_groups()[""]
    assert root.required_traits == (frozenset({"HW_CPU_X86_AVX2"}),)
    assert root.forbidden_traits == frozenset({"CUSTOM_SLOW"})


def test_image_required_traits_go_to_the_unsuffixed_group() -> None:
    draft = resource_draft(
        make_spec(
            image={
                "trait:HW_CPU_X86_SGX": "required",
                # only "required" counts for an image, and never a granular group
                "trait:CUSTOM_NOPE": "forbidden",
                "trait1:CUSTOM_GRANULAR": "required",
                "hw_disk_bus": "virtio",
            }
        )
    )
    assert list(draft.groups) == [""]
    assert draft.root.required == {"HW_CPU_X86_SGX"}
    assert not draft.root.forbidden


# --- CPU pinning policies --------------------------------------------------------------


def test_dedicated_cpu_policy_asks_for_pcpu() -> None:
    spec = make_spec({"hw:cpu_policy": "dedicated"})
    assert root_resources(spec) == {"PCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_dedicated_cpu_policy_from_the_image() -> None:
    spec = make_spec(image={"hw_cpu_policy": "dedicated"})
    assert root_resources(spec) == {"PCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_shared_cpu_policy_keeps_vcpu() -> None:
    spec = make_spec({"hw:cpu_policy": "shared"})
    assert root_resources(spec) == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_emulator_threads_isolate_adds_one_pcpu() -> None:
    spec = make_spec({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"})
    assert root_resources(spec)["PCPU"] == 5


def test_emulator_threads_isolate_without_pinning_changes_nothing() -> None:
    spec = make_spec({"hw:emulator_threads_policy": "isolate"})
    assert root_resources(spec) == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


@pytest.mark.parametrize("where", ["flavor", "image"])
def test_thread_policy_isolate_forbids_hyperthreading(where: str) -> None:
    spec = (
        make_spec({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"})
        if where == "flavor"
        else make_spec(image={"hw_cpu_policy": "dedicated", "hw_cpu_thread_policy": "isolate"})
    )
    root = resource_draft(spec).root
    assert root.forbidden == {HYPERTHREADING}
    assert not root.required


def test_thread_policy_require_requires_hyperthreading() -> None:
    spec = make_spec({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})
    root = resource_draft(spec).root
    assert root.required == {HYPERTHREADING}
    assert not root.forbidden


def test_thread_policy_prefer_adds_no_trait() -> None:
    spec = make_spec({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "prefer"})
    root = resource_draft(spec).root
    assert not root.required and not root.forbidden


def test_flavor_policy_wins_over_the_image() -> None:
    # get_cpu_policy_constraint: a dedicated flavor wins over a shared image
    spec = make_spec(
        {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"},
        image={"hw_cpu_policy": "shared", "hw_cpu_thread_policy": "require"},
    )
    root = resource_draft(spec).root
    assert root.resources["PCPU"] == 4 and "VCPU" not in root.resources
    assert root.required == {HYPERTHREADING}


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:cpu_policy": "whatever"}, {}),
        ({}, {"hw_cpu_policy": "whatever"}),
        ({"hw:cpu_thread_policy": "sometimes"}, {}),
        ({"hw:emulator_threads_policy": "elsewhere"}, {}),
        # the flavor asks shared, the image more
        ({"hw:cpu_policy": "shared"}, {"hw_cpu_policy": "dedicated"}),
        ({"hw:cpu_policy": "mixed"}, {"hw_cpu_policy": "dedicated"}),
        # a thread policy other than prefer that the image contradicts
        ({"hw:cpu_thread_policy": "require"}, {"hw_cpu_thread_policy": "isolate"}),
    ],
)
def test_invalid_or_conflicting_cpu_policies_refuse(
    extra: dict[str, str], image: dict[str, object]
) -> None:
    # Nova's get_cpu_*_constraint raise, failing the request in the scheduler
    draft = resource_draft(make_spec(extra, image=image))
    assert draft.refusal


def test_dedicated_policy_marks_pinning_requested() -> None:
    assert resource_draft(make_spec({"hw:cpu_policy": "dedicated"})).cpu_pinning_requested
    assert not resource_draft(
        make_spec({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0"})
    ).cpu_pinning_requested


def test_translate_pinning_false_keeps_vcpu() -> None:
    # enable_pinning_translate=False: the fallback query asks VCPU, no thread trait
    spec = make_spec({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})
    draft = resource_draft(spec, translate_pinning=False)
    assert draft.root.resources == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}
    assert not draft.root.required


# --- mixed CPU policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image", "vcpu", "pcpu"),
    [
        ({"hw:cpu_dedicated_mask": "^0-1"}, {}, 2, 2),
        ({"hw:cpu_dedicated_mask": "1,3"}, {}, 2, 2),
        ({"hw:cpu_dedicated_mask": "0-2"}, {}, 1, 3),
        ({"hw:cpu_dedicated_mask": "0-2,^1"}, {}, 2, 2),
        ({"hw:cpu_dedicated_mask": "3", "hw:emulator_threads_policy": "isolate"}, {}, 3, 2),
        # the realtime mask when no dedicated mask is given
        ({"hw:cpu_realtime": "yes", "hw:cpu_realtime_mask": "^0"}, {}, 1, 3),
        # the image's realtime mask goes ahead of the flavor's
        (
            {"hw:cpu_realtime": "true", "hw:cpu_realtime_mask": "^0"},
            {"hw_cpu_realtime_mask": "^0-2"},
            3,
            1,
        ),
    ],
)
def test_mixed_cpu_policy_splits_vcpu_and_pcpu(
    extra: dict[str, str], image: dict[str, object], vcpu: int, pcpu: int
) -> None:
    spec = make_spec({"hw:cpu_policy": "mixed", **extra}, image=image)
    assert root_resources(spec) == {"VCPU": vcpu, "PCPU": pcpu, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_mixed_cpu_policy_from_the_image() -> None:
    spec = make_spec({"hw:cpu_dedicated_mask": "0"}, image={"hw_cpu_policy": "mixed"})
    assert root_resources(spec) == {"VCPU": 3, "PCPU": 1, "MEMORY_MB": 4096, "DISK_GB": 40}


@pytest.mark.parametrize(
    "extra",
    [
        {"hw:cpu_dedicated_mask": "0-3"},  # nothing left shared
        {"hw:cpu_dedicated_mask": "^0-3"},  # nothing dedicated
        {"hw:cpu_dedicated_mask": "2-9"},  # beyond the flavor's vCPUs
        {"hw:cpu_dedicated_mask": "3-1"},
        {"hw:cpu_dedicated_mask": "x"},
        {"hw:cpu_dedicated_mask": "0-99999999"},  # bounded before it is built
        {"hw:cpu_realtime": "yes"},  # every vCPU realtime, no emulator policy
    ],
)
def test_mixed_cpu_policy_with_a_bad_mask_refuses(extra: dict[str, str]) -> None:
    draft = resource_draft(make_spec({"hw:cpu_policy": "mixed", **extra}))
    assert draft.refusal


# --- requested_resources (ports, accelerators) ----------------------------------------


def test_requested_resources_become_their_own_groups() -> None:
    port = RequestGroup(
        suffix="port-1",
        resources={"NET_BW_EGR_KILOBIT_PER_SEC": 1000},
        required_traits=(frozenset({"CUSTOM_PHYSNET_A"}), frozenset({"CUSTOM_X", "CUSTOM_Y"})),
        forbidden_traits=frozenset({"CUSTOM_BAD"}),
        member_of=(frozenset({"agg-1", "agg-2"}),),
        forbidden_aggs=frozenset({"agg-3"}),
        in_tree="rp-1",
    )
    unnamed = RequestGroup(resources={"FPGA": 1})
    draft = resource_draft(make_spec(requested=(port, unnamed)))
    assert set(draft.groups) == {"", "port-1", "_requested1"}
    # a port's group does not share the flavor's policy decision: several groups
    # without one default to "none"
    assert draft.group_policy is GroupPolicy.NONE
    frozen = draft.frozen_groups()
    got = frozen["port-1"]
    assert dict(got.resources) == {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}
    assert got.required_traits == (
        frozenset({"CUSTOM_PHYSNET_A"}),
        frozenset({"CUSTOM_X", "CUSTOM_Y"}),
    )
    assert got.forbidden_traits == frozenset({"CUSTOM_BAD"})
    assert got.member_of == (frozenset({"agg-1", "agg-2"}),)
    assert got.forbidden_aggs == frozenset({"agg-3"})
    assert got.in_tree == "rp-1"
    assert dict(frozen["_requested1"].resources) == {"FPGA": 1}
    # the flavor's own amounts stay on the unsuffixed group
    assert dict(frozen[""].resources) == {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}


def test_single_requested_group_keeps_policy_unset() -> None:
    port = RequestGroup(suffix="port-1", resources={"NET_BW_IGR_KILOBIT_PER_SEC": 10})
    assert resource_draft(make_spec(requested=(port,))).group_policy is None


def test_empty_unsuffixed_group_is_left_out_when_others_ask() -> None:
    spec = make_spec(
        {"resources:VCPU": "0", "resources:MEMORY_MB": "0", "resources1:VGPU": "1"},
        root_gb=0,
    )
    assert list(resource_draft(spec).frozen_groups()) == ["1"]
