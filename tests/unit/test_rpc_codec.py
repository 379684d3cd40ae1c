"""corral's codec of Nova object primitives, against primitives Nova 34 made.

The fixtures under tests/fixtures/nova/ come from Nova's own objects
(tools/capture_nova_primitives.py); nothing here imports Nova.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from corral.compute.hardware import numa
from corral.rpc.errors import InvalidMessage, NovaNoValidHost
from corral.rpc.fields import Obj, Opaque
from corral.rpc.objects import SCHEMAS
from corral.rpc.primitives import DECODER, PrimitiveDecoder
from corral.rpc.reports import aggregates, instances
from corral.rpc.request_spec import decode_request_spec
from corral.rpc.selections import legacy_dict, selection_primitive
from corral.scheduler.spec import AllocationRequest, Selection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- corral's schemas are Nova's --------------------------------------------------


NOVA_FIELDS = fixture("object_fields")


@pytest.mark.parametrize("name", sorted(NOVA_FIELDS))
def test_schema_matches_nova(name: str) -> None:
    nova = NOVA_FIELDS[name]
    schema = SCHEMAS[name]
    assert schema.version == nova["version"]
    assert sorted(schema.fields) == sorted(nova["fields"])
    for field_name, nova_field in nova["fields"].items():
        ours = schema.fields[field_name]
        assert ours.kind.describe() == nova_field["kind"], field_name
        assert ours.nullable == nova_field["nullable"], field_name


def test_every_nested_object_is_modelled_or_opaque() -> None:
    for schema in SCHEMAS.values():
        for field in schema.fields.values():
            kind: Any = field.kind
            while hasattr(kind, "item") or hasattr(kind, "value"):
                kind = getattr(kind, "item", None) or kind.value
            if isinstance(kind, Obj):
                assert kind.names <= set(SCHEMAS), (schema.name, kind.names)
            assert not isinstance(kind, Opaque) or schema.name == "Instance"


# --- decoding what Nova sends -----------------------------------------------------


def test_boot_request_spec() -> None:
    spec = decode_request_spec(fixture("request_spec_boot"))
    assert spec.flavor.vcpus == 4 and spec.flavor.memory_mb == 4096
    assert (spec.flavor.root_gb, spec.flavor.ephemeral_gb, spec.flavor.swap) == (40, 10, 512)
    assert spec.flavor.extra_specs["trait:HW_CPU_X86_AVX2"] == "required"
    assert spec.image.id == "c0ffee00-1234-4abc-8def-0123456789ab"
    assert spec.image.disk_format == "qcow2" and spec.image.min_ram == 128
    assert spec.image.properties["hw_architecture"] == "x86_64"
    assert spec.image.properties["hw_numa_cpus"] == [[0, 1], [2, 3]]
    assert spec.image.properties["hw_vif_multiqueue_enabled"] is True
    assert spec.num_instances == 2
    assert spec.project_id == "6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00"
    assert spec.user_id == "5f1b5d1ad3a54bd3b4b5c54e03f2fc2e"
    assert spec.availability_zone == "az1"
    assert spec.scheduler_hints == {
        "group": ("7d7c3b5e-2f44-4d5b-8a1e-8c0b0f9a6e11",),
        "different_host": ("compute-9",),
    }
    group = spec.instance_group
    assert group is not None
    assert group.policy == "anti-affinity" and group.rules == {"max_server_per_host": "2"}
    assert group.hosts == ("compute-3",) and group.name == "web-anti"
    dest = spec.requested_destination
    assert dest is not None
    assert (dest.host, dest.node) == ("compute-1", "compute-1.example.org")
    assert dest.aggregates == ("3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9",)
    assert dest.forbidden_aggregates == {"9a8b7c6d-5e4f-4031-8a2b-1c0d9e8f7a6b"}
    assert dest.cell_uuid == "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
    assert spec.retry_hosts == (("compute-2", "compute-2.example.org"),)
    (port,) = spec.requested_resources
    assert port.suffix == "f0e1d2c3-b4a5-4697-8877-665544332211"
    assert dict(port.resources) == {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}
    assert set(port.required_traits) == {
        frozenset({"CUSTOM_PHYSNET_PHYSNET0"}),
        frozenset({"CUSTOM_VNIC_TYPE_NORMAL"}),
    }
    assert port.forbidden_traits == {"CUSTOM_SLOW"}
    assert port.member_of == (frozenset({"3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9"}),)
    levels = spec.request_level_params
    assert levels.root_required == {"COMPUTE_STATUS_ENABLED"}
    assert levels.root_forbidden == {"COMPUTE_STATUS_DISABLED"}
    assert levels.same_subtree == (frozenset({"_NIC1", "_NIC2"}),)
    assert spec.instance_uuid == "a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"
    assert spec.is_bfv is False
    (pci,) = spec.pci_requests
    assert pci["count"] == 1 and pci["spec"] == [{"vendor_id": "8086", "product_id": "1520"}]
    assert spec.numa_topology is not None
    cells: Any = spec.numa_topology["cells"]
    assert [c["pcpuset"] for c in cells] == [[0, 1], [2, 3]]
    assert cells[0]["cpu_topology"] == {"sockets": 1, "cores": 2, "threads": 1}
    assert spec.network_metadata == {"physnets": ["physnet0"], "tunneled": True}


def test_numa_and_pci_data_read_by_the_filters() -> None:
    from corral.compute.hardware import numa, pci

    spec = decode_request_spec(fixture("request_spec_boot"))
    assert spec.numa_topology is not None and spec.network_metadata is not None
    topology = numa.instance_topology(spec.numa_topology)
    assert [c.pcpuset for c in topology.cells] == [frozenset({0, 1}), frozenset({2, 3})]
    assert pci.PciRequest.from_data(spec.pci_requests[0]).count == 1
    assert numa.NetworkMetadata.from_data(spec.network_metadata).physnets == {"physnet0"}


def test_minimal_and_boot_from_volume() -> None:
    spec = decode_request_spec(fixture("request_spec_minimal"))
    assert (spec.flavor.vcpus, spec.flavor.memory_mb, spec.flavor.name) == (1, 512, "m1.tiny")
    assert spec.image.properties == {} and spec.instance_group is None
    assert spec.requested_destination is None and spec.retry_hosts == ()
    assert spec.pci_requests == () and spec.numa_topology is None
    bfv = decode_request_spec(fixture("request_spec_bfv"))
    assert bfv.is_bfv is True and bfv.image.id is None
    assert bfv.image.properties == {"hw_disk_bus": "scsi"}


def test_older_minor_versions_are_accepted() -> None:
    old = fixture("request_spec_v1_8")
    assert old["nova_object.version"] == "1.8"
    assert old["nova_object.data"]["image"]["nova_object.data"]["properties"][
        "nova_object.version"
    ] == ("1.20")
    spec = decode_request_spec(old)
    assert spec.flavor.vcpus == 1 and spec.user_id is None and spec.network_metadata is None


def test_cast_arguments() -> None:
    (agg,) = aggregates(fixture("aggregate"))
    assert agg.uuid == "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9" and agg.name == "fast-ssd"
    assert agg.hosts == ("compute-1", "compute-2")
    assert agg.metadata == {"availability_zone": "az1", "ssd": "true"}
    assert aggregates(fixture("aggregate_list")) == [agg]
    (inst,) = instances(fixture("instance_list"))
    assert inst.uuid == "a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"
    assert inst.node == "compute-1.example.org"
    assert inst.flavor["vcpus"] == 4 and inst.flavor["memory_mb"] == 4096
    assert inst.image_properties == {"hw_architecture": "x86_64", "os_distro": "cirros"}


# --- refusing what is wrong --------------------------------------------------------


def boot() -> dict[str, Any]:
    return copy.deepcopy(fixture("request_spec_boot"))


def refusal(primitive: Any) -> str:
    with pytest.raises(InvalidMessage) as info:
        decode_request_spec(primitive)
    return str(info.value)


def data(primitive: dict[str, Any], *path: str) -> dict[str, Any]:
    node = primitive
    for key in path:
        node = node["nova_object.data"][key]
    result: dict[str, Any] = node["nova_object.data"]
    return result


def test_wrong_object_name() -> None:
    spec = boot()
    spec["nova_object.name"] = "Instance"
    assert refusal(spec) == "spec_obj: expected a RequestSpec object, got 'Instance'"
    spec = boot()
    spec["nova_object.data"]["flavor"]["nova_object.name"] = "ImageMeta"
    assert refusal(spec) == "spec_obj.flavor: expected a Flavor object, got 'ImageMeta'"


def test_wrong_namespace() -> None:
    spec = boot()
    spec["nova_object.namespace"] = "cinder"
    assert refusal(spec) == "spec_obj: RequestSpec: namespace 'cinder', expected 'nova'"


def test_unknown_major_and_newer_minor_versions() -> None:
    spec = boot()
    spec["nova_object.version"] = "2.0"
    assert refusal(spec) == (
        "spec_obj: RequestSpec version 2.0 is not supported (corral understands 1.0 to 1.15)"
    )
    spec = boot()
    spec["nova_object.version"] = "1.16"
    assert "RequestSpec version 1.16 is not supported" in refusal(spec)
    spec = boot()
    spec["nova_object.data"]["flavor"]["nova_object.version"] = "0.9"
    assert "spec_obj.flavor: Flavor version 0.9 is not supported" in refusal(spec)
    spec = boot()
    spec["nova_object.version"] = "1.x"
    assert refusal(spec) == "spec_obj: RequestSpec: malformed version '1.x'"


def test_newer_image_properties_are_carried() -> None:
    spec = boot()
    props = spec["nova_object.data"]["image"]["nova_object.data"]["properties"]
    props["nova_object.version"] = "1.45"
    props["nova_object.data"]["hw_future_thing"] = "on"
    assert decode_request_spec(spec).image.properties["hw_future_thing"] == "on"
    props["nova_object.data"]["hw_future_thing"] = {"nested": ["objects"]}
    assert "hw_future_thing: expected a scalar" in refusal(spec)
    props["nova_object.version"] = "1.44"
    props["nova_object.data"]["hw_future_thing"] = "on"
    assert "hw_future_thing: ImageMetaProps 1.44 has no such field" in refusal(spec)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: data(s, "flavor").update(vcpus="4"),
            "spec_obj.flavor.vcpus: expected an integer, got str",
        ),
        (
            lambda s: data(s, "flavor").update(vcpus=True),
            "spec_obj.flavor.vcpus: expected an integer, got bool",
        ),
        (
            lambda s: data(s, "flavor").update(memory_mb=2**64),
            f"spec_obj.flavor.memory_mb: {2**64} is out of range 0..{2**63 - 1}",
        ),
        (
            lambda s: data(s, "flavor").update(vcpus=None),
            "spec_obj.flavor.vcpus: may not be null",
        ),
        (
            lambda s: data(s, "flavor").pop("vcpus"),
            "spec_obj.flavor.vcpus: is required",
        ),
        (
            lambda s: s["nova_object.data"].pop("flavor"),
            "spec_obj.flavor: is required",
        ),
        (
            lambda s: s["nova_object.data"].update(instance_uuid="not-a-uuid"),
            "spec_obj.instance_uuid: expected a UUID, got 'not-a-uuid'",
        ),
        (
            lambda s: s["nova_object.data"].update(availability_zone="z" * 256),
            "spec_obj.availability_zone: string of 256 characters; at most 255 allowed",
        ),
        (
            lambda s: s["nova_object.data"].update(force_hosts=["h"] * 10_001),
            "spec_obj.force_hosts: 10001 items; at most 10000 allowed",
        ),
        (
            lambda s: s["nova_object.data"].update(scheduler_hints={"group": "not-a-list"}),
            "spec_obj.scheduler_hints.group: expected a list, got str",
        ),
        (
            lambda s: s["nova_object.data"].update(bogus=1),
            "spec_obj.bogus: RequestSpec 1.15 has no such field",
        ),
        (
            lambda s: s.update(extra="x"),
            "spec_obj: not a Nova object primitive (unexpected keys: extra)",
        ),
        (
            lambda s: s.update({"nova_object.data": []}),
            "spec_obj: RequestSpec: data is a list, not an object",
        ),
        (
            lambda s: data(s, "instance_group").update(policy="best-effort"),
            "spec_obj.instance_group.policy: 'best-effort' is not one of affinity, "
            "anti-affinity, soft-affinity, soft-anti-affinity",
        ),
        (
            lambda s: s["nova_object.data"]["requested_resources"][0]["nova_object.data"].update(
                requester_id=None
            ),
            "spec_obj.requested_resources[0].requester_id: is required for a requested "
            "resource group",
        ),
        (
            lambda s: data(s, "image").update(properties={"hw_architecture": "x86_64"}),
            "spec_obj.image.properties: not a Nova object primitive (unexpected keys: "
            "hw_architecture)",
        ),
    ],
    ids=[
        "int-as-string",
        "int-as-bool",
        "int-too-large",
        "null-not-nullable",
        "flavor-without-vcpus",
        "no-flavor",
        "bad-uuid",
        "string-too-long",
        "list-too-long",
        "hint-not-a-list",
        "unknown-field",
        "extra-envelope-key",
        "data-not-an-object",
        "unknown-group-policy",
        "port-group-without-requester",
        "plain-dict-for-object",
    ],
)
def test_malformed_fields(change: Any, expected: str) -> None:
    spec = boot()
    change(spec)
    assert refusal(spec) == expected


def test_nesting_depth_is_bounded() -> None:
    shallow = PrimitiveDecoder(max_depth=3)
    with pytest.raises(InvalidMessage) as info:
        shallow.decode(boot(), "RequestSpec", "spec_obj")
    assert "objects nested more than 3 deep" in str(info.value)
    # The real bound is far above what Nova sends.
    DECODER.decode(boot(), "RequestSpec", "spec_obj")


def test_non_objects_are_refused() -> None:
    for value in (None, [], "RequestSpec", 3):
        with pytest.raises(InvalidMessage, match="expected a Nova object"):
            decode_request_spec(value)


# --- answering as Nova does ---------------------------------------------------------


def allocation_request(text: str) -> AllocationRequest:
    """The candidate part (allocations, mappings) of an allocation request's JSON text."""
    body = json.loads(text)
    return AllocationRequest(
        {rp: dict(part["resources"]) for rp, part in body["allocations"].items()},
        {suffix: tuple(rps) for suffix, rps in body.get("mappings", {}).items()},
    )


def selection(host: str, node_uuid: str, request_text: str) -> Selection:
    return Selection(
        service_host=host,
        nodename=f"{host}.example.org",
        compute_node_uuid=node_uuid,
        cell_uuid="1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        allocation_request=allocation_request(request_text),
        allocation_request_version="1.36",
        limits={"vcpu": 64, "memory_mb": 122880.0},
        availability_zone="az1",
    )


CANDIDATE_KEYS = ("allocations", "mappings")


def comparable(primitive: Any) -> Any:
    """Nova lists `changes` from a set, in no particular order; an allocation
    request is JSON text whose spacing is the encoder's, and corral sends the
    candidate's part of it (Nova's claim adds the consumer's owner itself)."""
    if isinstance(primitive, dict):
        out = {}
        for k, v in primitive.items():
            if k == "nova_object.changes":
                out[k] = sorted(v)
            elif k == "allocation_request" and isinstance(v, str):
                decoded = json.loads(v)
                out[k] = {key: decoded[key] for key in CANDIDATE_KEYS if key in decoded}
            else:
                out[k] = comparable(v)
        return out
    if isinstance(primitive, list):
        return [comparable(v) for v in primitive]
    return primitive


def test_selection_primitives_are_novas() -> None:
    nova = fixture("selections")
    ours = [
        selection_primitive(
            selection(
                sel["nova_object.data"]["service_host"],
                sel["nova_object.data"]["compute_node_uuid"],
                sel["nova_object.data"]["allocation_request"],
            )
        )
        for sel in nova[0]
    ]
    assert comparable([ours]) == comparable(nova)
    # Round trip through corral's own decoder too.
    for primitive in ours:
        DECODER.decode(primitive, "Selection", "selection")


def test_selection_without_limits_or_allocation() -> None:
    nova = fixture("selection_no_limits")
    ours = selection_primitive(
        Selection(
            service_host="compute-1",
            nodename="compute-1.example.org",
            compute_node_uuid="0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
            cell_uuid="1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
            allocation_request=None,
            allocation_request_version=None,
        )
    )
    # Nova's from_host_state always sets SchedulerLimits (every field None when
    # the host has none); a Selection built with limits=None carries null.
    assert ours["nova_object.data"]["limits"]["nova_object.data"] == {
        "vcpu": None,
        "memory_mb": None,
        "disk_gb": None,
        "numa_topology": None,
    }
    ours["nova_object.data"]["limits"] = None
    assert comparable(ours) == comparable(nova)


def test_legacy_dicts_are_novas() -> None:
    nova = fixture("selections_legacy")
    first = fixture("selections")[0][0]["nova_object.data"]
    ours = legacy_dict(
        selection(first["service_host"], first["compute_node_uuid"], first["allocation_request"])
    )
    assert [ours] == nova


def test_limits_nova_cannot_carry_are_an_error() -> None:
    bad = Selection("h", "n", "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "c", None, None, {"pci": 1})
    with pytest.raises(ValueError, match="limits Nova cannot carry"):
        selection_primitive(bad)


def test_no_valid_host_travels_as_novas() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oslo.messaging's import of eventlet warns
        from oslo_messaging._drivers import common as rpc_common

    nova = fixture("no_valid_host_remote")
    try:
        raise NovaNoValidHost("0/3 hosts are available: 3 Insufficient MEMORY_MB.")
    except NovaNoValidHost:
        ours = json.loads(rpc_common.serialize_remote_exception(sys.exc_info()))
    ours["tb"] = []
    assert ours == nova


def _sorted_physnets(primitive: Any) -> Any:
    """Nova writes a SetOfStringsField in set order; corral sorts it."""
    if isinstance(primitive, dict):
        return {
            k: sorted(v) if k == "physnets" else _sorted_physnets(v) for k, v in primitive.items()
        }
    if isinstance(primitive, list):
        return [_sorted_physnets(v) for v in primitive]
    return primitive


def numa_limits_selection() -> Selection:
    limits = numa.Limits(4.0, 1.5, numa.NetworkMetadata(frozenset({"physnet1", "physnet2"}), True))
    return Selection(
        service_host="compute-1",
        nodename="compute-1.example.org",
        compute_node_uuid="0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
        cell_uuid="1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        allocation_request=None,
        allocation_request_version=None,
        limits={"numa_topology": limits},
        availability_zone="az1",
    )


def test_numa_limits_travel_as_novas_numa_topology_limits() -> None:
    """NUMATopologyFilter's host_state.limits['numa_topology'], as Nova's
    Selection.from_host_state puts it in SchedulerLimits (captured from Nova)."""
    ours = selection_primitive(numa_limits_selection())
    nova = fixture("selection_numa_limits")
    assert _sorted_physnets(comparable(ours)) == _sorted_physnets(comparable(nova))
    DECODER.decode(ours, "Selection", "selection")


def test_numa_limits_in_the_legacy_dict_are_novas() -> None:
    ours = legacy_dict(numa_limits_selection())
    nova = fixture("selection_numa_limits_legacy")
    assert _sorted_physnets(comparable(ours)) == _sorted_physnets(comparable(nova))


def test_numa_limits_without_network_metadata() -> None:
    sel = dataclasses.replace(
        numa_limits_selection(), limits={"numa_topology": numa.Limits(16.0, 1.0)}
    )
    data = selection_primitive(sel)["nova_object.data"]["limits"]["nova_object.data"]
    assert data["numa_topology"]["nova_object.data"] == {
        "cpu_allocation_ratio": 16.0,
        "ram_allocation_ratio": 1.0,
    }
    assert data["vcpu"] is None and data["memory_mb"] is None and data["disk_gb"] is None


@pytest.mark.parametrize(
    "limits",
    [
        {"numa_topology": 4},
        {"vcpu": numa.Limits(1.0, 1.0)},
        {"numa_topology": numa.Limits(0.0, 1.0)},
        {"numa_topology": numa.Limits(1.0, float("inf"))},
        {"numa_topology": numa.Limits(float("nan"), 1.0)},
    ],
)
def test_bad_numa_limits_are_an_error(limits: dict[str, Any]) -> None:
    sel = dataclasses.replace(numa_limits_selection(), limits=limits)
    with pytest.raises(ValueError):
        selection_primitive(sel)
