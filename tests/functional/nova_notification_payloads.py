"""What Nova 34's scheduler puts in its select_destinations notifications (Nova's Python only).

Run by tests/functional/test_notifications_nova.py with the nova 34.0.0
virtualenv's interpreter; never imported by corral or its tests.

    python nova_notification_payloads.py < CASES_JSON

Each case names a RequestSpec built from Nova's objects (see `build`). For
each, the RequestSpec goes through obj_to_primitive (what nova-conductor
sends) and back through obj_from_primitive (what nova-scheduler holds), then
Nova's own code builds both payloads as nova/scheduler/manager.py does:
`{"request_spec": spec.to_legacy_request_spec_dict()}` through the legacy
notifier's JsonPayloadSerializer, and RequestSpecPayload(spec).obj_to_primitive().

Prints one line "RESULT <json>": [{"primitive", "legacy", "versioned"}, ...].
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

warnings.simplefilter("ignore")

import nova.conf  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects, rpc  # noqa: E402
from nova.notifications.objects import request_spec as reqspec_payload  # noqa: E402

CONF = nova.conf.CONF

INSTANCE = "6f1cd5c4-4e36-4b6c-9a7a-3d5f1e0c2b11"
GROUP = "0b6f1e44-3c2a-4d67-8e0f-5a9b2c7d1e33"
CELL = "9e5c2f10-7a4b-4c1d-8e2f-3b6a9d0c4e55"
REQUEST = "2c9a8f1e-6b3d-4e7a-9c0f-1d5e8b2a4c77"


class _Enabled:
    """nova.rpc.NOTIFIER as if notifications were on (populate_schema and emit
    are skipped otherwise)."""

    def is_enabled(self) -> bool:
        return True


def setup() -> None:
    CONF([], project="nova", default_config_files=[])
    CONF.set_override("notification_format", "both", group="notifications")
    objects.register_all()
    rpc.NOTIFIER = _Enabled()


def context() -> nova_context.RequestContext:
    return nova_context.RequestContext(
        user_id="5f1b5d1ad3a54bd3b4b5c54e03f2fc2e",
        project_id="6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00",
        is_admin=True,
    )


def flavor(case: dict[str, Any]) -> objects.Flavor:
    return objects.Flavor(
        id=7,
        flavorid="m1.corral",
        name="m1.corral",
        vcpus=case.get("vcpus", 2),
        memory_mb=2048,
        root_gb=20,
        ephemeral_gb=1,
        swap=512,
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=case.get("flavor_description"),
        extra_specs=case.get("extra_specs", {}),
    )


def image(case: dict[str, Any]) -> dict[str, Any]:
    if case.get("image") == "volume":
        return {"properties": {"hw_disk_bus": "virtio"}, "min_ram": 0, "min_disk": 0}
    return {
        "id": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
        "name": "cirros",
        "status": "active",
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": 25165824,
        "min_ram": 0,
        "min_disk": 1,
        "owner": "6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00",
        "checksum": "ee1eca47dc88f4879d8a229cc70a07c6",
        "created_at": "2024-03-01T10:20:30.000000",
        "tags": ["tag1"],
        "properties": case.get(
            "image_properties", {"hw_architecture": "x86_64", "hw_machine_type": "q35"}
        ),
    }


def numa() -> objects.InstanceNUMATopology:
    return objects.InstanceNUMATopology(
        instance_uuid=INSTANCE,
        cells=[
            objects.InstanceNUMACell(
                id=0,
                cpuset=set(),
                pcpuset={0, 1},
                memory=1024,
                pagesize=2048,
                cpu_policy="dedicated",
                cpu_thread_policy="prefer",
                cpu_pinning={0: 4, 1: 5},
                cpu_topology=objects.VirtCPUTopology(sockets=1, cores=2, threads=1),
            ),
            objects.InstanceNUMACell(id=1, cpuset={2, 3}, pcpuset=set(), memory=1024),
        ],
        emulator_threads_policy="share",
    )


def pci(case: dict[str, Any]) -> objects.InstancePCIRequests:
    requests = []
    if case.get("pci"):
        requests.append(
            objects.InstancePCIRequest(
                count=2,
                spec=[{"vendor_id": "8086", "product_id": "1520"}],
                alias_name="nic",
                request_id=REQUEST,
                numa_policy="preferred",
            )
        )
    return objects.InstancePCIRequests(instance_uuid=INSTANCE, requests=requests)


def group() -> objects.InstanceGroup:
    return objects.InstanceGroup(
        uuid=GROUP,
        name="web",
        user_id="5f1b5d1ad3a54bd3b4b5c54e03f2fc2e",
        project_id="6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00",
        policy="anti-affinity",
        rules={"max_server_per_host": "2"},
        members=[INSTANCE, "7a2de6d5-5f47-4d7c-8b8b-4e6f2f1d3c22"],
        hosts=["compute-1"],
    )


def build(ctxt: Any, case: dict[str, Any]) -> objects.RequestSpec:
    filter_properties: dict[str, Any] = {"scheduler_hints": case.get("hints", {})}
    if case.get("ignore_hosts"):
        filter_properties["ignore_hosts"] = case["ignore_hosts"]
    if case.get("force_hosts"):
        filter_properties["force_hosts"] = case["force_hosts"]
        filter_properties["force_nodes"] = case.get("force_nodes")
    security_groups = None
    if case.get("security_groups"):
        security_groups = objects.SecurityGroupList(
            objects=[objects.SecurityGroup(**sg) for sg in case["security_groups"]]
        )
    spec = objects.RequestSpec.from_components(
        ctxt,
        INSTANCE,
        image(case),
        flavor(case),
        numa() if case.get("numa") else None,
        pci(case),
        filter_properties,
        group() if case.get("group") else None,
        case.get("availability_zone"),
        security_groups=security_groups,
    )
    spec.num_instances = case.get("num_instances", 1)
    spec.is_bfv = case.get("image") == "volume"
    if case.get("destination"):
        cell = objects.CellMapping(
            uuid=CELL,
            name="cell1",
            transport_url="rabbit://",
            database_connection="mysql+pymysql://",
            disabled=False,
        )
        spec.requested_destination = objects.Destination(
            host="compute-2", node="compute-2.example.org", cell=cell
        )
        spec.requested_destination.require_aggregates(["agg-1", "agg-2"])
    if case.get("security_groups"):
        # from_components only sets them; RequestSpec.obj_to_primitive keeps them.
        spec.security_groups = security_groups
    if case.get("retry"):
        spec.retry = objects.SchedulerRetries(
            num_attempts=2,
            hosts=objects.ComputeNodeList(
                objects=[objects.ComputeNode(host="compute-1", hypervisor_hostname="node-1")]
            ),
        )
    return spec


def payload(spec: objects.RequestSpec) -> dict[str, Any]:
    """As notify_about_scheduler_action builds it, and emit() resets it."""
    versioned = reqspec_payload.RequestSpecPayload(request_spec=spec)
    versioned.obj_reset_changes(recursive=True)
    primitive: dict[str, Any] = versioned.obj_to_primitive()
    return primitive


def main() -> None:
    setup()
    cases = json.loads(sys.stdin.read())
    ctxt = context()
    out = []
    serializer = rpc.JsonPayloadSerializer()
    for case in cases:
        primitive = build(ctxt, case).obj_to_primitive()
        spec = objects.RequestSpec.obj_from_primitive(primitive, ctxt)
        legacy = serializer.serialize_entity(
            ctxt, {"request_spec": spec.to_legacy_request_spec_dict()}
        )
        versioned = payload(spec)
        # What _schedule leaves: each instance's uuid in turn, each selected
        # host appended to the group's hosts (_consume_selected_host).
        for instance_uuid, host in zip(
            case.get("instance_uuids", []), case.get("selected_hosts", []), strict=True
        ):
            spec.instance_uuid = instance_uuid
            spec.obj_reset_changes(["instance_uuid"])
            if spec.instance_group is not None:
                spec.instance_group.hosts.append(host)
                spec.instance_group.obj_reset_changes(["hosts"])
        out.append(
            {
                "primitive": json.loads(json.dumps(primitive, default=str)),
                "legacy": legacy,
                "versioned": versioned,
                "legacy_end": serializer.serialize_entity(
                    ctxt, {"request_spec": spec.to_legacy_request_spec_dict()}
                ),
                "versioned_end": payload(spec),
            }
        )
    print("RESULT " + json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
