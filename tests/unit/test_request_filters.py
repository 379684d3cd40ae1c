"""Nova 34's request filters (nova/scheduler/request_filter.py) as corral applies them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from corral.scheduler.batch import Aggregate
from corral.scheduler.request_filters import (
    DISABLED_TRAIT,
    RequestFilterSettings,
    narrow,
)
from corral.scheduler.spec import Flavor, Image, RequestSpec


def agg(ident: int, metadata: Mapping[str, str], *hosts: str) -> Aggregate:
    return Aggregate(
        id=ident,
        uuid=f"agg-{ident}",
        name=f"aggregate {ident}",
        metadata=dict(metadata),
        hosts=frozenset(hosts),
    )


def aggs(*items: Aggregate) -> dict[int, Aggregate]:
    return {a.id: a for a in items}


def make_spec(
    extra_specs: Mapping[str, str] | None = None,
    image: Image | None = None,
    project_id: str | None = "p1",
    availability_zone: str | None = None,
    is_bfv: bool = False,
) -> RequestSpec:
    return RequestSpec(
        flavor=Flavor(vcpus=1, memory_mb=512, root_gb=1, extra_specs=dict(extra_specs or {})),
        image=image or Image(),
        project_id=project_id,
        availability_zone=availability_zone,
        is_bfv=is_bfv,
    )


OFF = RequestFilterSettings()


# --- compute_status_filter --------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        OFF,
        RequestFilterSettings(
            limit_tenants_to_placement_aggregate=True,
            enable_isolated_aggregate_filtering=True,
            query_placement_for_image_type_support=True,
            image_metadata_prefilter=True,
        ),
    ],
)
def test_disabled_computes_are_always_forbidden_on_the_root(
    settings: RequestFilterSettings,
) -> None:
    narrowing = narrow(make_spec(), {}, settings)
    assert narrowing.root_forbidden == {DISABLED_TRAIT: "disabled"}
    assert narrowing.refusal is None


def test_nothing_else_narrows_with_every_option_off() -> None:
    zones = aggs(agg(1, {"availability_zone": "az1", "filter_tenant_id": "p1"}))
    narrowing = narrow(make_spec(), zones, OFF)
    assert narrowing.member_of == []
    assert narrowing.forbidden_aggs == {}
    assert narrowing.root_required == {}


# --- map_az_to_placement_aggregate ---------------------------------------------------


def test_zone_becomes_the_aggregates_that_carry_it() -> None:
    zones = aggs(
        agg(1, {"availability_zone": "az1"}, "h1"),
        agg(2, {"availability_zone": "az2"}, "h2"),
        agg(3, {"availability_zone": "az2"}, "h3"),
        agg(4, {"other": "az2"}, "h4"),
    )
    narrowing = narrow(make_spec(availability_zone="az2"), zones, OFF)
    assert narrowing.member_of == [(frozenset({"agg-2", "agg-3"}), "not in AZ az2")]


def test_zone_no_aggregate_carries_is_not_narrowed() -> None:
    zones = aggs(agg(1, {"availability_zone": "az1"}, "h1"))
    # e.g. the default zone, which no aggregate names
    assert narrow(make_spec(availability_zone="nova"), zones, OFF).member_of == []


def test_no_zone_asked_is_not_narrowed() -> None:
    zones = aggs(agg(1, {"availability_zone": "az1"}, "h1"))
    assert narrow(make_spec(availability_zone=None), zones, OFF).member_of == []


# --- require_tenant_aggregate ---------------------------------------------------------

TENANTS = RequestFilterSettings(limit_tenants_to_placement_aggregate=True)
TENANTS_REQUIRED = RequestFilterSettings(
    limit_tenants_to_placement_aggregate=True, placement_aggregate_required_for_tenants=True
)


def tenant_aggs() -> dict[int, Aggregate]:
    return aggs(
        agg(1, {"filter_tenant_id": "p1"}, "h1"),
        # any key starting with filter_tenant_id names a tenant
        agg(2, {"filter_tenant_id_2": "p2", "filter_tenant_id_3": "p1"}, "h2"),
        agg(3, {"filter_tenant_id": "p2"}, "h3"),
        # the project id as a value of some other key does not count
        agg(4, {"owner": "p1"}, "h4"),
    )


def test_tenant_aggregates_when_limited() -> None:
    narrowing = narrow(make_spec(project_id="p1"), tenant_aggs(), TENANTS)
    assert narrowing.member_of == [
        (frozenset({"agg-1", "agg-2"}), "not in an aggregate of the project")
    ]
    assert narrowing.refusal is None


def test_tenant_aggregates_ignored_when_not_limited() -> None:
    settings = RequestFilterSettings(placement_aggregate_required_for_tenants=True)
    narrowing = narrow(make_spec(project_id="p9"), tenant_aggs(), settings)
    assert narrowing.member_of == []
    assert narrowing.refusal is None


def test_tenant_without_aggregate_goes_anywhere_unless_required() -> None:
    narrowing = narrow(make_spec(project_id="p9"), tenant_aggs(), TENANTS)
    assert narrowing.member_of == []
    assert narrowing.refusal is None


def test_tenant_without_aggregate_is_refused_when_required() -> None:
    narrowing = narrow(make_spec(project_id="p9"), tenant_aggs(), TENANTS_REQUIRED)
    assert narrowing.refusal is not None
    assert "p9" in narrowing.refusal


def test_tenant_with_aggregate_is_not_refused_when_required() -> None:
    narrowing = narrow(make_spec(project_id="p2"), tenant_aggs(), TENANTS_REQUIRED)
    assert narrowing.refusal is None
    assert narrowing.member_of == [
        (frozenset({"agg-2", "agg-3"}), "not in an aggregate of the project")
    ]


def test_tenant_and_zone_both_narrow() -> None:
    both = aggs(
        agg(1, {"filter_tenant_id": "p1"}, "h1"),
        agg(2, {"availability_zone": "az1"}, "h1", "h2"),
    )
    narrowing = narrow(make_spec(availability_zone="az1"), both, TENANTS)
    assert [uuids for uuids, _label in narrowing.member_of] == [
        frozenset({"agg-1"}),
        frozenset({"agg-2"}),
    ]


# --- isolate_aggregates ----------------------------------------------------------------

ISOLATE = RequestFilterSettings(enable_isolated_aggregate_filtering=True)


def isolated_aggs() -> dict[int, Aggregate]:
    return aggs(
        agg(1, {"trait:CUSTOM_GPU": "required"}, "h1"),
        agg(2, {"trait:CUSTOM_GPU": "required", "trait:CUSTOM_FAST": "required"}, "h2"),
        agg(3, {"trait:CUSTOM_GPU": "optional"}, "h3"),
        agg(4, {"availability_zone": "az1"}, "h4"),
    )


def test_isolated_aggregates_are_forbidden_to_requests_without_their_traits() -> None:
    narrowing = narrow(make_spec(), isolated_aggs(), ISOLATE)
    assert set(narrowing.forbidden_aggs) == {"agg-1", "agg-2"}


def test_isolated_aggregate_is_open_when_every_trait_is_asked() -> None:
    narrowing = narrow(make_spec({"trait:CUSTOM_GPU": "required"}), isolated_aggs(), ISOLATE)
    assert set(narrowing.forbidden_aggs) == {"agg-2"}
    both = make_spec({"trait:CUSTOM_GPU": "required", "trait:CUSTOM_FAST": "required"})
    assert narrow(both, isolated_aggs(), ISOLATE).forbidden_aggs == {}


def test_isolated_aggregate_counts_image_and_granular_traits() -> None:
    # Nova reads ResourceRequest.all_required_traits: image and granular groups too
    image = Image(properties={"trait:CUSTOM_GPU": "required"})
    narrowing = narrow(make_spec(image=image), isolated_aggs(), ISOLATE)
    assert set(narrowing.forbidden_aggs) == {"agg-2"}
    granular = make_spec(
        {"resources1:VGPU": "1", "trait1:CUSTOM_GPU": "required", "trait:CUSTOM_FAST": "required"}
    )
    assert narrow(granular, isolated_aggs(), ISOLATE).forbidden_aggs == {}


def test_forbidden_trait_does_not_open_an_isolated_aggregate() -> None:
    narrowing = narrow(make_spec({"trait:CUSTOM_GPU": "forbidden"}), isolated_aggs(), ISOLATE)
    assert set(narrowing.forbidden_aggs) == {"agg-1", "agg-2"}


def test_isolation_off_forbids_nothing() -> None:
    assert narrow(make_spec(), isolated_aggs(), OFF).forbidden_aggs == {}


# --- require_image_type_support ------------------------------------------------------

IMAGE_TYPE = RequestFilterSettings(query_placement_for_image_type_support=True)


def test_image_type_requires_the_disk_format_trait() -> None:
    spec = make_spec(image=Image(disk_format="qcow2"))
    narrowing = narrow(spec, {}, IMAGE_TYPE)
    assert set(narrowing.root_required) == {"COMPUTE_IMAGE_TYPE_QCOW2"}
    assert "qcow2" in narrowing.root_required["COMPUTE_IMAGE_TYPE_QCOW2"]


def test_image_type_skipped_for_boot_from_volume() -> None:
    spec = make_spec(image=Image(disk_format="qcow2"), is_bfv=True)
    assert narrow(spec, {}, IMAGE_TYPE).root_required == {}


def test_image_type_unknown_format_or_none_adds_nothing() -> None:
    assert (
        narrow(make_spec(image=Image(disk_format="nonsense")), {}, IMAGE_TYPE).root_required == {}
    )
    assert narrow(make_spec(image=Image()), {}, IMAGE_TYPE).root_required == {}


def test_image_type_off_adds_nothing() -> None:
    assert narrow(make_spec(image=Image(disk_format="raw")), {}, OFF).root_required == {}


# --- transform_image_metadata ----------------------------------------------------------

PREFILTER = RequestFilterSettings(image_metadata_prefilter=True)


def test_image_metadata_becomes_root_traits() -> None:
    image = Image(
        properties={
            "hw_disk_bus": "virtio",
            "hw_cdrom_bus": "ide",
            "hw_video_model": "virtio",
            "hw_vif_model": "e1000e",
            "hw_architecture": "x86_64",
            "hw_emulation_architecture": "aarch64",
            "hw_machine_type": "q35",  # not a property Nova maps
        }
    )
    narrowing = narrow(make_spec(image=image), {}, PREFILTER)
    assert set(narrowing.root_required) == {
        "COMPUTE_STORAGE_BUS_VIRTIO",
        "COMPUTE_STORAGE_BUS_IDE",
        "COMPUTE_GRAPHICS_MODEL_VIRTIO",
        "COMPUTE_NET_VIF_MODEL_E1000E",
        "HW_ARCH_X86_64",
        "COMPUTE_ARCH_AARCH64",
    }
    assert "hw_disk_bus" in narrowing.root_required["COMPUTE_STORAGE_BUS_VIRTIO"]


def test_image_metadata_dashes_become_underscores() -> None:
    image = Image(properties={"hw_architecture": "x86-64"})
    assert set(narrow(make_spec(image=image), {}, PREFILTER).root_required) == {"HW_ARCH_X86_64"}


@pytest.mark.parametrize(
    "odd",
    [
        {"hw_video_model": "hologram"},
        # Nova 34 maps hw_viommu_model to COMPUTE_VIOMMU_<model>, which os-traits
        # does not define (it has COMPUTE_VIOMMU_MODEL_<model>)
        {"hw_viommu_model": "intel"},
    ],
)
def test_image_metadata_with_an_unknown_trait_adds_none(odd: dict[str, str]) -> None:
    # Nova's transform_image_metadata gives up on the whole image, not that one trait.
    image = Image(properties={"hw_disk_bus": "virtio", **odd})
    assert narrow(make_spec(image=image), {}, PREFILTER).root_required == {}


def test_image_metadata_off_adds_nothing() -> None:
    image = Image(properties={"hw_disk_bus": "virtio"})
    assert narrow(make_spec(image=image), {}, OFF).root_required == {}


def test_image_type_and_metadata_together() -> None:
    image = Image(disk_format="raw", properties={"hw_disk_bus": "scsi"})
    settings = RequestFilterSettings(
        query_placement_for_image_type_support=True, image_metadata_prefilter=True
    )
    assert set(narrow(make_spec(image=image), {}, settings).root_required) == {
        "COMPUTE_IMAGE_TYPE_RAW",
        "COMPUTE_STORAGE_BUS_SCSI",
    }
