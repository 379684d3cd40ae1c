"""What a request spec asks of Placement (Nova's ResourceRequest.from_request_spec
and its request filters), and how a refusal is summed up."""

from __future__ import annotations

from corral.placement.request import GroupPolicy, RequestGroup
from corral.scheduler.batch import Aggregate
from corral.scheduler.explain import Explanation, StageReport
from corral.scheduler.request_filters import RequestFilterSettings, narrow
from corral.scheduler.resources import resource_draft
from corral.scheduler.spec import Flavor, Image, RequestSpec


def spec(**flavor: object) -> RequestSpec:
    extra = flavor.pop("extra_specs", {})
    base = {"vcpus": 2, "memory_mb": 2048, "root_gb": 20}
    base.update(flavor)
    return RequestSpec(flavor=Flavor(extra_specs=extra, **base))  # type: ignore[arg-type]


def test_flavor_becomes_the_unsuffixed_group() -> None:
    draft = resource_draft(spec(ephemeral_gb=5, swap=1500))
    # swap is in MB and rounds up to whole GB, as Nova's convert_mb_to_ceil_gb
    assert draft.root.resources == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 27}


def test_boot_from_volume_leaves_the_root_disk_out() -> None:
    bfv = RequestSpec(
        flavor=Flavor(vcpus=1, memory_mb=512, root_gb=20, ephemeral_gb=1), is_bfv=True
    )
    assert resource_draft(bfv).root.resources == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


def test_resources_extra_specs_override_and_zero_removes() -> None:
    draft = resource_draft(
        spec(extra_specs={"resources:VCPU": "4", "resources:DISK_GB": "0", "resources:VGPU": "1"})
    )
    assert draft.root.resources == {"VCPU": 4, "MEMORY_MB": 2048, "VGPU": 1}


def test_malformed_extra_specs_are_skipped() -> None:
    draft = resource_draft(
        spec(extra_specs={"resources:VCPU": "many", "resources:lower": "1", "trait:X": "maybe"})
    )
    assert draft.root.resources == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}
    assert not draft.root.required and not draft.root.forbidden


def test_granular_groups_traits_and_policy() -> None:
    draft = resource_draft(
        spec(
            extra_specs={
                "resources1:VGPU": "1",
                "trait1:CUSTOM_FAST": "required",
                "resources_net:NET_BW_EGR_KILOBIT_PER_SEC": "1000",
                "trait:HW_CPU_X86_AVX2": "required",
                "trait:CUSTOM_SLOW": "forbidden",
                "group_policy": "isolate",
            }
        )
    )
    groups = draft.frozen_groups()
    assert set(groups) == {"", "1", "_net"}
    assert groups["1"].resources == {"VGPU": 1}
    assert groups["1"].required_traits == (frozenset({"CUSTOM_FAST"}),)
    assert groups[""].required_traits == (frozenset({"HW_CPU_X86_AVX2"}),)
    assert groups[""].forbidden_traits == frozenset({"CUSTOM_SLOW"})
    assert draft.group_policy is GroupPolicy.ISOLATE


def test_several_granular_groups_default_to_policy_none() -> None:
    draft = resource_draft(spec(extra_specs={"resources1:VGPU": "1", "resources2:VGPU": "1"}))
    assert draft.group_policy is GroupPolicy.NONE


def test_image_traits_and_pinning() -> None:
    request = RequestSpec(
        flavor=Flavor(
            vcpus=4,
            memory_mb=1024,
            extra_specs={"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"},
        ),
        image=Image(properties={"trait:HW_CPU_X86_SSE42": "required", "trait:CUSTOM_X": "bad"}),
    )
    root = resource_draft(request).root
    assert root.resources == {"PCPU": 4, "MEMORY_MB": 1024}
    assert root.forbidden == {"HW_CPU_HYPERTHREADING"}
    assert root.required == {"HW_CPU_X86_SSE42"}


def test_emulator_threads_isolate_takes_one_more_pcpu() -> None:
    request = spec(
        extra_specs={"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"}
    )
    assert resource_draft(request).root.resources["PCPU"] == 3


def test_requested_resources_become_groups_of_their_own() -> None:
    port = RequestGroup(suffix="port1", resources={"NET_BW_IGR_KILOBIT_PER_SEC": 10})
    request = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=512), requested_resources=(port,))
    groups = resource_draft(request).frozen_groups()
    assert groups["port1"].resources == {"NET_BW_IGR_KILOBIT_PER_SEC": 10}


AZ1 = Aggregate(1, "a1", "zone-1", {"availability_zone": "az1"}, frozenset({"h1"}))
GOLD = Aggregate(2, "a2", "gold", {"filter_tenant_id": "gold"}, frozenset({"h2"}))
GPU = Aggregate(3, "a3", "gpu", {"trait:CUSTOM_GPU": "required"}, frozenset({"h3"}))
AGGREGATES = {a.id: a for a in (AZ1, GOLD, GPU)}


def test_disabled_hosts_are_always_excluded() -> None:
    narrowing = narrow(spec(), AGGREGATES, RequestFilterSettings())
    assert narrowing.root_forbidden == {"COMPUTE_STATUS_DISABLED": "disabled"}
    assert narrowing.member_of == [] and narrowing.forbidden_aggs == {}


def test_a_zone_is_the_aggregates_that_carry_it() -> None:
    in_az1 = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=1), availability_zone="az1")
    assert narrow(in_az1, AGGREGATES, RequestFilterSettings()).member_of == [
        (frozenset({"a1"}), "not in AZ az1")
    ]
    # A zone no aggregate names narrows nothing, as Nova's request filter.
    nowhere = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=1), availability_zone="nova")
    assert narrow(nowhere, AGGREGATES, RequestFilterSettings()).member_of == []


def test_tenant_aggregates() -> None:
    on = RequestFilterSettings(limit_tenants_to_placement_aggregate=True)
    gold = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=1), project_id="gold")
    other = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=1), project_id="other")
    assert narrow(gold, AGGREGATES, on).member_of == [
        (frozenset({"a2"}), "not in an aggregate of the project")
    ]
    assert narrow(gold, AGGREGATES, RequestFilterSettings()).member_of == []
    assert narrow(other, AGGREGATES, on).refusal is None
    required = RequestFilterSettings(
        limit_tenants_to_placement_aggregate=True, placement_aggregate_required_for_tenants=True
    )
    assert (
        narrow(other, AGGREGATES, required).refusal == "no aggregate is set aside for project other"
    )


def test_isolated_aggregates_keep_out_requests_without_their_traits() -> None:
    on = RequestFilterSettings(enable_isolated_aggregate_filtering=True)
    assert narrow(spec(), AGGREGATES, on).forbidden_aggs == {
        "a3": "in an aggregate isolated for other traits"
    }
    asks = spec(extra_specs={"trait:CUSTOM_GPU": "required"})
    assert narrow(asks, AGGREGATES, on).forbidden_aggs == {}


def test_image_type_and_image_metadata_prefilters() -> None:
    request = RequestSpec(
        flavor=Flavor(vcpus=1, memory_mb=1),
        image=Image(
            disk_format="qcow2", properties={"hw_disk_bus": "scsi", "hw_vif_model": "e1000"}
        ),
    )
    settings = RequestFilterSettings(
        query_placement_for_image_type_support=True, image_metadata_prefilter=True
    )
    required = narrow(request, {}, settings).root_required
    assert set(required) == {
        "COMPUTE_IMAGE_TYPE_QCOW2",
        "COMPUTE_STORAGE_BUS_SCSI",
        "COMPUTE_NET_VIF_MODEL_E1000",
    }
    bfv = RequestSpec(flavor=request.flavor, image=request.image, is_bfv=True)
    assert "COMPUTE_IMAGE_TYPE_QCOW2" not in narrow(bfv, {}, settings).root_required


def test_summary_orders_reasons_and_folds_the_tail() -> None:
    explanation = Explanation(
        hosts_total=10_000,
        stages=(
            StageReport(
                "placement", 10_000, 200, {"lacked MEMORY_MB": 9_200, "not in AZ az2": 600}
            ),
            StageReport("ComputeFilter", 200, 0, {"disabled": 150, "down": 50}),
        ),
    )
    assert explanation.summary() == (
        "0/10,000 hosts available: 9,200 lacked MEMORY_MB, 600 not in AZ az2, 150 disabled, 50 down"
    )
    many = Explanation(
        hosts_total=8, stages=(StageReport("x", 8, 0, {f"r{i}": 1 for i in range(8)}),)
    )
    assert many.summary().endswith(", 2 other")
    refused = Explanation(hosts_total=3, stages=(), refusal="no aggregate is set aside")
    assert refused.summary() == "0/3 hosts available: no aggregate is set aside"
