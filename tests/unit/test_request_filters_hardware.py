"""Nova 34's request filters that read the flavor, the image and the PCI
requests (nova/scheduler/request_filter.py: accelerators_filter,
packed_virtqueue_filter, remote_managed_ports_filter,
ephemeral_encryption_filter, virtio_sound_filter, tpm_secret_security_filter,
owner_nova_filter), and the image's traits_required in isolate_aggregates."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from corral.placement.request import RequestGroup
from corral.scheduler.batch import Aggregate
from corral.scheduler.request_filters import (
    ALL_REQUEST_FILTERS,
    OWNER_NOVA,
    RequestFilterSettings,
    narrow,
)
from corral.scheduler.spec import Flavor, Image, RequestLevelParams, RequestSpec

OFF = RequestFilterSettings()
OWNER = RequestFilterSettings(require_owner_nova_trait=True)


def make_spec(
    extra_specs: Mapping[str, str] | None = None,
    image: Mapping[str, object] | None = None,
    pci_requests: tuple[Mapping[str, object], ...] = (),
    requested: tuple[RequestGroup, ...] = (),
    root_required: frozenset[str] = frozenset(),
) -> RequestSpec:
    return RequestSpec(
        flavor=Flavor(vcpus=2, memory_mb=512, root_gb=1, extra_specs=dict(extra_specs or {})),
        image=Image(properties=dict(image or {})),
        pci_requests=pci_requests,
        requested_resources=requested,
        request_level_params=RequestLevelParams(root_required=root_required),
    )


def required(spec: RequestSpec, settings: RequestFilterSettings = OFF) -> set[str]:
    narrowing = narrow(spec, {}, settings)
    assert narrowing.refusal is None
    return set(narrowing.root_required)


def test_filters_are_in_novas_order() -> None:
    assert [f.name for f in ALL_REQUEST_FILTERS] == [
        "require_tenant_aggregate",
        "map_az_to_placement_aggregate",
        "require_image_type_support",
        "compute_status_filter",
        "isolate_aggregates",
        "transform_image_metadata",
        "accelerators_filter",
        "packed_virtqueue_filter",
        "remote_managed_ports_filter",
        "ephemeral_encryption_filter",
        "virtio_sound_filter",
        "tpm_secret_security_filter",
        "owner_nova_filter",
    ]


def test_nothing_asked_adds_no_trait() -> None:
    assert required(make_spec()) == set()


# --- accelerators_filter ---------------------------------------------------------------


def test_device_profile_requires_accelerator_support() -> None:
    assert required(make_spec({"accel:device_profile": "gpu-profile"})) == {"COMPUTE_ACCELERATORS"}
    assert required(make_spec({"accel:device_profile": ""})) == set()


# --- packed_virtqueue_filter -----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image", "wanted"),
    [
        ({"hw:virtio_packed_ring": "true"}, {}, True),
        ({"hw:virtio_packed_ring": "yes"}, {}, True),
        ({}, {"hw_virtio_packed_ring": True}, True),
        ({}, {"hw_virtio_packed_ring": "1"}, True),  # the HTTP door's JSON
        ({"hw:virtio_packed_ring": "false"}, {}, False),
        ({}, {"hw_virtio_packed_ring": False}, False),
    ],
)
def test_packed_ring_requires_the_trait(
    extra: dict[str, str], image: dict[str, object], wanted: bool
) -> None:
    got = required(make_spec(extra, image))
    assert got == ({"COMPUTE_NET_VIRTIO_PACKED"} if wanted else set())


def test_packed_ring_flavor_and_image_disagreeing_refuses() -> None:
    spec = make_spec({"hw:virtio_packed_ring": "true"}, {"hw_virtio_packed_ring": False})
    assert "virtio_packed_ring" in (narrow(spec, {}, OFF).refusal or "")


# --- remote_managed_ports_filter ------------------------------------------------------


def _port_pci(remote_managed: str) -> dict[str, object]:
    return {
        "count": 1,
        "spec": [{"physical_network": "physnet1", "remote_managed": remote_managed}],
        "request_id": "8c1f3b0e-5f4a-4b1e-9c55-4a1f7a2e9d11",
        "requester_id": "port-1",
    }


def test_remote_managed_port_requires_the_trait() -> None:
    spec = make_spec(pci_requests=(_port_pci("True"),))
    assert required(spec) == {"COMPUTE_REMOTE_MANAGED_PORTS"}


def test_sriov_port_not_remote_managed_adds_nothing() -> None:
    assert required(make_spec(pci_requests=(_port_pci("False"),))) == set()


def test_flavor_alias_request_is_no_port() -> None:
    alias = {**_port_pci("True"), "alias_name": "a1"}
    assert required(make_spec(pci_requests=(alias,))) == set()


# --- ephemeral_encryption_filter -------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image", "wanted"),
    [
        ({"hw:ephemeral_encryption": "true"}, {}, {"COMPUTE_EPHEMERAL_ENCRYPTION"}),
        (
            {"hw:ephemeral_encryption": "true", "hw:ephemeral_encryption_format": "luks"},
            {},
            {"COMPUTE_EPHEMERAL_ENCRYPTION", "COMPUTE_EPHEMERAL_ENCRYPTION_LUKS"},
        ),
        (
            {},
            {"hw_ephemeral_encryption": True, "hw_ephemeral_encryption_format": "luksv2"},
            {"COMPUTE_EPHEMERAL_ENCRYPTION", "COMPUTE_EPHEMERAL_ENCRYPTION_LUKSV2"},
        ),
        # a format alone asks for nothing
        ({"hw:ephemeral_encryption_format": "plain"}, {}, set()),
        ({"hw:ephemeral_encryption": "false"}, {}, set()),
    ],
)
def test_ephemeral_encryption_traits(
    extra: dict[str, str], image: dict[str, object], wanted: set[str]
) -> None:
    assert required(make_spec(extra, image)) == wanted


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:ephemeral_encryption": "true", "hw:ephemeral_encryption_format": "rot13"}, {}),
        ({"hw:ephemeral_encryption": "true"}, {"hw_ephemeral_encryption": False}),
        (
            {"hw:ephemeral_encryption": "true", "hw:ephemeral_encryption_format": "luks"},
            {"hw_ephemeral_encryption_format": "plain"},
        ),
    ],
)
def test_ephemeral_encryption_invalid_or_conflicting_refuses(
    extra: dict[str, str], image: dict[str, object]
) -> None:
    assert narrow(make_spec(extra, image), {}, OFF).refusal


# --- virtio_sound_filter ---------------------------------------------------------------


def test_virtio_sound_requires_the_trait() -> None:
    assert required(make_spec({"hw:sound_model": "virtio"})) == {"COMPUTE_SOUND_MODEL_VIRTIO"}
    assert required(make_spec(image={"hw_sound_model": "virtio"})) == {"COMPUTE_SOUND_MODEL_VIRTIO"}
    # only virtio has a request filter
    assert required(make_spec({"hw:sound_model": "ich9"})) == set()


def test_sound_model_invalid_or_conflicting_refuses() -> None:
    assert narrow(make_spec({"hw:sound_model": "theremin"}), {}, OFF).refusal
    spec = make_spec({"hw:sound_model": "virtio"}, {"hw_sound_model": "ich9"})
    assert narrow(spec, {}, OFF).refusal


# --- tpm_secret_security_filter --------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "trait"),
    [
        (None, "COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER"),
        ("user", "COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER"),
        ("host", "COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST"),
        ("deployment", "COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT"),
    ],
)
def test_vtpm_secret_security_trait(security: str | None, trait: str) -> None:
    extra = {"hw:tpm_version": "2.0"}
    if security is not None:
        extra["hw:tpm_secret_security"] = security
    assert required(make_spec(extra)) == {trait}


def test_vtpm_from_the_image_gets_the_user_policy() -> None:
    spec = make_spec(image={"hw_tpm_version": "1.2"})
    assert required(spec) == {"COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER"}


def test_secret_security_without_a_vtpm_adds_nothing() -> None:
    assert required(make_spec({"hw:tpm_secret_security": "host"})) == set()


def test_unknown_secret_security_refuses_with_novas_reason() -> None:
    spec = make_spec({"hw:tpm_version": "2.0", "hw:tpm_secret_security": "vault"})
    narrowing = narrow(spec, {}, OFF)
    assert narrowing.refusal == "TPM secret security 'vault' is not supported."


def test_invalid_tpm_version_refuses() -> None:
    assert narrow(make_spec({"hw:tpm_version": "3.0"}), {}, OFF).refusal


# --- owner_nova_filter -----------------------------------------------------------------

_ALIAS_REQUEST = "5b2d6f8e-0c37-4d7e-9a41-1f2b3c4d5e6f"


def _pci_groups() -> tuple[RequestGroup, ...]:
    return (
        RequestGroup(suffix=f"{_ALIAS_REQUEST}-0", resources={"CUSTOM_PCI_8086_1563": 1}),
        RequestGroup(suffix="port-uuid", resources={"NET_BW_EGR_KILOBIT_PER_SEC": 10}),
    )


def test_owner_nova_off_adds_nothing() -> None:
    narrowing = narrow(make_spec(requested=_pci_groups()), {}, OFF)
    assert OWNER_NOVA not in narrowing.root_required
    assert narrowing.group_required == {}


def test_owner_nova_on_the_root_and_the_flavor_pci_groups() -> None:
    alias = {"count": 1, "spec": [{}], "alias_name": "nic", "request_id": _ALIAS_REQUEST}
    spec = make_spec(pci_requests=(alias,), requested=_pci_groups())
    narrowing = narrow(spec, {}, OWNER)
    assert OWNER_NOVA in narrowing.root_required
    # the port's group is not a PCI alias request: left alone, as Nova does
    assert narrowing.group_required == {f"{_ALIAS_REQUEST}-0": {OWNER_NOVA}}


def test_owner_nova_already_required_is_left_as_it_is() -> None:
    alias = {"count": 1, "spec": [{}], "alias_name": "nic", "request_id": _ALIAS_REQUEST}
    spec = make_spec(
        pci_requests=(alias,), requested=_pci_groups(), root_required=frozenset({OWNER_NOVA})
    )
    narrowing = narrow(spec, {}, OWNER)
    assert OWNER_NOVA not in narrowing.root_required
    assert narrowing.group_required == {}


# --- isolate_aggregates with the image's traits_required -------------------------------


def test_isolated_aggregate_open_to_image_traits_required() -> None:
    isolated = Aggregate(
        id=1,
        uuid="agg-1",
        name="gold",
        metadata={"trait:CUSTOM_GOLD": "required"},
        hosts=frozenset({"h1"}),
    )
    settings = RequestFilterSettings(enable_isolated_aggregate_filtering=True)
    plain = narrow(make_spec(), {1: isolated}, settings)
    assert set(plain.forbidden_aggs) == {"agg-1"}
    gold = make_spec(image={"traits_required": ["CUSTOM_GOLD"]})
    assert narrow(gold, {1: isolated}, settings).forbidden_aggs == {}


def test_a_refusal_stops_the_later_filters() -> None:
    spec = make_spec({"hw:tpm_version": "2.0", "hw:tpm_secret_security": "vault"})
    narrowing = narrow(spec, {}, OWNER)
    assert narrowing.refusal and OWNER_NOVA not in narrowing.root_required
