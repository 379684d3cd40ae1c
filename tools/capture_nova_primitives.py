"""Regenerate tests/fixtures/nova/ from Nova's own objects (run it with Nova's Python).

corral decodes and encodes Nova's versioned-object primitives without importing
Nova; its unit tests check that codec against what Nova itself produces. This
script produces that: it builds real Nova objects the way nova-api and
nova-conductor build them, serialises them with Nova's own
NovaObjectSerializer (what goes on the wire), and writes one JSON file each.
It also writes the field table of every object corral models, so a test can
check corral's schemas against Nova's.

    python3 -m venv ~/.cache/corral-nova34-venv
    ~/.cache/corral-nova34-venv/bin/pip install nova==34.0.0
    ~/.cache/corral-nova34-venv/bin/python tools/capture_nova_primitives.py

It runs in that virtualenv only; corral never imports Nova.
"""

from __future__ import annotations

import datetime
import json
import sys
import warnings
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore")

from nova import context as nova_context  # noqa: E402
from nova import exception, objects  # noqa: E402
from nova.objects import base as obj_base  # noqa: E402
from oslo_messaging._drivers import common as rpc_common  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402
from oslo_versionedobjects import base as ovo_base  # noqa: E402
from oslo_versionedobjects import fields as ovo_fields  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nova"

# The objects corral's codec models (corral.rpc.objects), with what they hold.
MODELLED = (
    "RequestSpec",
    "Flavor",
    "ImageMeta",
    "ImageMetaProps",
    "InstanceGroup",
    "Destination",
    "CellMapping",
    "SchedulerRetries",
    "ComputeNodeList",
    "ComputeNode",
    "HVSpec",
    "PciDevicePoolList",
    "PciDevicePool",
    "RequestGroup",
    "RequestLevelParams",
    "SchedulerLimits",
    "NUMATopologyLimits",
    "InstancePCIRequests",
    "InstancePCIRequest",
    "InstanceNUMATopology",
    "InstanceNUMACell",
    "VirtCPUTopology",
    "NetworkMetadata",
    "SecurityGroupList",
    "SecurityGroup",
    "NetworkRequestList",
    "NetworkRequest",
    "Selection",
    "Aggregate",
    "AggregateList",
    "Instance",
    "InstanceList",
)

CONTEXT = nova_context.RequestContext(
    user_id="5f1b5d1ad3a54bd3b4b5c54e03f2fc2e",
    project_id="6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00",
    request_id="req-0b5a1d6c-3c1f-4f3a-9d55-2a7f0f1c9e11",
    global_request_id="req-9a1f9f62-5b8f-4c43-a8c4-0f2d1b6b1c22",
    is_admin=True,
)
INSTANCE_UUID = "a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"
IMAGE_UUID = "c0ffee00-1234-4abc-8def-0123456789ab"
GROUP_UUID = "7d7c3b5e-2f44-4d5b-8a1e-8c0b0f9a6e11"
CELL_UUID = "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
NODE_UUID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
PORT_UUID = "f0e1d2c3-b4a5-4697-8877-665544332211"
AGG_UUID = "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9"
WHEN = datetime.datetime(2026, 5, 4, 3, 2, 1, tzinfo=datetime.UTC)


def wire(value: Any) -> Any:
    """What Nova's RPC client puts in a message for this argument."""
    serializer = obj_base.NovaObjectSerializer()
    return json.loads(jsonutils.dumps(serializer.serialize_entity(CONTEXT, value)))


def kind(field: ovo_fields.Field) -> str:
    t = field._type
    if isinstance(t, ovo_fields.Object):
        return f"object:{t._obj_name}"
    if isinstance(t, ovo_fields.List | ovo_fields.Set):
        return f"list:{kind(t._element_type)}"
    if isinstance(t, ovo_fields.Dict):
        return f"dict:{kind(t._element_type)}"
    if isinstance(t, ovo_fields.UUID):
        return "uuid"
    if isinstance(t, ovo_fields.Boolean | ovo_fields.FlexibleBoolean):
        return "bool"
    if isinstance(t, ovo_fields.Integer):
        return "int"
    if isinstance(t, ovo_fields.Float):
        return "float"
    if isinstance(t, ovo_fields.DateTime):
        return "datetime"
    if isinstance(t, ovo_fields.IPAddress):
        return "ip"
    if isinstance(t, ovo_fields.String) or type(t).__name__ == "VersionPredicate":
        return "str"
    raise TypeError(f"unmapped field type {type(t).__name__}")


def object_fields() -> dict[str, Any]:
    registry = obj_base.NovaObjectRegistry.obj_classes()
    out: dict[str, Any] = {}
    for name in MODELLED:
        cls = registry[name][0]
        out[name] = {
            "version": cls.VERSION,
            "fields": {
                fname: {"kind": kind(f), "nullable": bool(f.nullable)}
                for fname, f in sorted(cls.fields.items())
            },
        }
    return out


def flavor() -> objects.Flavor:
    return objects.Flavor(
        id=7,
        flavorid="m1.medium-numa",
        name="m1.medium-numa",
        vcpus=4,
        memory_mb=4096,
        root_gb=40,
        ephemeral_gb=10,
        swap=512,
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description="four cores, two NUMA nodes",
        extra_specs={
            "hw:numa_nodes": "2",
            "hw:mem_page_size": "large",
            "trait:HW_CPU_X86_AVX2": "required",
            "resources:CUSTOM_MAGIC": "1",
            "aggregate_instance_extra_specs:ssd": "true",
        },
        created_at=WHEN,
        updated_at=None,
        deleted_at=None,
        deleted=False,
    )


def image() -> dict[str, Any]:
    return {
        "id": IMAGE_UUID,
        "name": "cirros-0.6.2",
        "status": "active",
        "disk_format": "qcow2",
        "container_format": "bare",
        "min_ram": 128,
        "min_disk": 1,
        "size": 21430272,
        "virtual_size": 117440512,
        "checksum": "c8fc807773e5354afe61636071771906",
        "owner": CONTEXT.project_id,
        "visibility": "public",
        "protected": False,
        "created_at": WHEN,
        "updated_at": WHEN,
        "tags": ["tested"],
        "properties": {
            "hw_architecture": "x86_64",
            "img_hv_type": "kvm",
            "hw_vm_mode": "hvm",
            "hw_cpu_policy": "dedicated",
            "hw_numa_nodes": "2",
            "hw_numa_cpus.0": "0,1",
            "hw_numa_cpus.1": "2,3",
            "hw_numa_mem.0": "2048",
            "hw_numa_mem.1": "2048",
            "hw_vif_multiqueue_enabled": "true",
            "traits_required": ["HW_CPU_X86_AVX2"],
            "img_hv_requested_version": ">=6000000",
            "os_distro": "cirros",
        },
    }


def numa_topology() -> objects.InstanceNUMATopology:
    return objects.InstanceNUMATopology(
        instance_uuid=INSTANCE_UUID,
        cells=[
            objects.InstanceNUMACell(
                id=0,
                cpuset=set(),
                pcpuset={0, 1},
                memory=2048,
                pagesize=-2,
                cpu_policy="dedicated",
                cpu_topology=objects.VirtCPUTopology(sockets=1, cores=2, threads=1),
            ),
            objects.InstanceNUMACell(
                id=1, cpuset=set(), pcpuset={2, 3}, memory=2048, pagesize=-2, cpu_policy="dedicated"
            ),
        ],
        emulator_threads_policy="share",
    )


def pci_requests() -> objects.InstancePCIRequests:
    return objects.InstancePCIRequests(
        instance_uuid=INSTANCE_UUID,
        requests=[
            objects.InstancePCIRequest(
                count=1,
                spec=[{"vendor_id": "8086", "product_id": "1520"}],
                alias_name="nic",
                request_id="9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a",
                numa_policy="preferred",
            )
        ],
    )


def instance_group() -> objects.InstanceGroup:
    return objects.InstanceGroup(
        id=3,
        uuid=GROUP_UUID,
        name="web-anti",
        user_id=CONTEXT.user_id,
        project_id=CONTEXT.project_id,
        policy="anti-affinity",
        rules={"max_server_per_host": "2"},
        members=["11111111-2222-4333-8444-555555555555"],
        hosts=["compute-3"],
    )


def port_group() -> objects.RequestGroup:
    return objects.RequestGroup(
        requester_id=PORT_UUID,
        resources={"NET_BW_EGR_KILOBIT_PER_SEC": 1000},
        required_traits={"CUSTOM_PHYSNET_PHYSNET0", "CUSTOM_VNIC_TYPE_NORMAL"},
        forbidden_traits={"CUSTOM_SLOW"},
        aggregates=[[AGG_UUID]],
        forbidden_aggregates=set(),
        in_tree=None,
        use_same_provider=True,
    )


def boot_spec() -> objects.RequestSpec:
    """A boot as nova-api builds it and nova-conductor sends it, everything set."""
    filter_properties = {
        "scheduler_hints": {"group": GROUP_UUID, "different_host": ["compute-9"]},
        "ignore_hosts": None,
        "force_hosts": None,
        "force_nodes": None,
    }
    spec = objects.RequestSpec.from_components(
        CONTEXT,
        INSTANCE_UUID,
        image(),
        flavor(),
        numa_topology(),
        pci_requests(),
        filter_properties,
        instance_group(),
        "az1",
        security_groups=objects.SecurityGroupList(
            objects=[
                objects.SecurityGroup(
                    id=1,
                    uuid="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
                    name="default",
                    description="Default security group",
                    user_id=CONTEXT.user_id,
                    project_id=CONTEXT.project_id,
                )
            ]
        ),
        port_resource_requests=[port_group()],
        request_level_params=objects.RequestLevelParams(
            root_required={"COMPUTE_STATUS_ENABLED"},
            root_forbidden={"COMPUTE_STATUS_DISABLED"},
            same_subtree=[["_NIC1", "_NIC2"]],
        ),
    )
    spec.is_bfv = False
    spec.network_metadata = objects.NetworkMetadata(physnets={"physnet0"}, tunneled=True)
    spec.requested_networks = objects.NetworkRequestList(
        objects=[objects.NetworkRequest(port_id=PORT_UUID)]
    )
    spec.requested_destination = objects.Destination(
        host="compute-1",
        node="compute-1.example.org",
        cell=objects.CellMapping(uuid=CELL_UUID, name="cell1"),
        aggregates=[AGG_UUID],
        forbidden_aggregates={"9a8b7c6d-5e4f-4031-8a2b-1c0d9e8f7a6b"},
        allow_cross_cell_move=False,
    )
    spec.retry = objects.SchedulerRetries.from_dict(
        CONTEXT, {"num_attempts": 2, "hosts": [["compute-2", "compute-2.example.org"]]}
    )
    spec.num_instances = 2
    return spec


def minimal_spec() -> objects.RequestSpec:
    """A plain boot: a flavor, an image without properties, nothing else asked for."""
    small = objects.Flavor(
        id=1,
        flavorid="1",
        name="m1.tiny",
        vcpus=1,
        memory_mb=512,
        root_gb=1,
        ephemeral_gb=0,
        swap=0,
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=None,
        extra_specs={},
    )
    spec = objects.RequestSpec.from_components(
        CONTEXT,
        INSTANCE_UUID,
        {"id": IMAGE_UUID, "name": "cirros", "disk_format": "raw", "properties": {}},
        small,
        None,
        objects.InstancePCIRequests(instance_uuid=INSTANCE_UUID, requests=[]),
        {},
        None,
        None,
    )
    spec.is_bfv = False
    return spec


def bfv_spec() -> objects.RequestSpec:
    """Boot from volume: the image is the volume's image metadata, without an id."""
    spec = minimal_spec()
    spec.is_bfv = True
    spec.image = objects.ImageMeta.from_dict({"properties": {"hw_disk_bus": "scsi"}, "min_disk": 0})
    return spec


def selections() -> list[list[objects.Selection]]:
    def one(host: str, node_uuid: str, ar: dict[str, Any]) -> objects.Selection:
        return objects.Selection(
            compute_node_uuid=node_uuid,
            service_host=host,
            nodename=f"{host}.example.org",
            cell_uuid=CELL_UUID,
            limits=objects.SchedulerLimits.from_dict({"vcpu": 64, "memory_mb": 122880}),
            allocation_request=jsonutils.dumps(ar),
            allocation_request_version="1.36",
            availability_zone="az1",
        )

    ar = {
        "allocations": {NODE_UUID: {"resources": {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 50}}},
        "mappings": {"": [NODE_UUID]},
        "consumer_generation": None,
        "project_id": CONTEXT.project_id,
        "user_id": CONTEXT.user_id,
    }
    alt_uuid = "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6"
    alt_ar = {**ar, "allocations": {alt_uuid: ar["allocations"][NODE_UUID]}, "mappings": {}}
    return [[one("compute-1", NODE_UUID, ar), one("compute-2", alt_uuid, alt_ar)]]


def no_limits_selection() -> objects.Selection:
    return objects.Selection(
        compute_node_uuid=NODE_UUID,
        service_host="compute-1",
        nodename="compute-1.example.org",
        cell_uuid=CELL_UUID,
        limits=None,
        allocation_request=None,
        allocation_request_version=None,
        availability_zone=None,
    )


def numa_limits_selection() -> objects.Selection:
    """A Selection from a HostState NUMATopologyFilter passed: its limits hold
    NUMATopologyLimits (the host's ratios, the request's network metadata)."""
    limits = objects.NUMATopologyLimits(cpu_allocation_ratio=4.0, ram_allocation_ratio=1.5)
    limits.network_metadata = objects.NetworkMetadata(
        physnets={"physnet2", "physnet1"}, tunneled=True
    )
    return objects.Selection(
        compute_node_uuid=NODE_UUID,
        service_host="compute-1",
        nodename="compute-1.example.org",
        cell_uuid=CELL_UUID,
        limits=objects.SchedulerLimits.from_dict({"numa_topology": limits}),
        allocation_request=None,
        allocation_request_version=None,
        availability_zone="az1",
    )


def remote_no_valid_host() -> dict[str, Any]:
    reason = "0/3 hosts are available: 3 Insufficient MEMORY_MB."
    try:
        raise exception.NoValidHost(reason=reason)
    except exception.NoValidHost:
        data = json.loads(rpc_common.serialize_remote_exception(sys.exc_info()))
    data["tb"] = []  # a traceback of this script is of no use to the tests
    return data


def aggregates() -> tuple[objects.Aggregate, objects.AggregateList]:
    agg = objects.Aggregate(
        id=4,
        uuid=AGG_UUID,
        name="fast-ssd",
        hosts=["compute-1", "compute-2"],
        metadata={"availability_zone": "az1", "ssd": "true"},
        created_at=WHEN,
        updated_at=None,
        deleted_at=None,
        deleted=False,
    )
    return agg, objects.AggregateList(objects=[agg])


def instances() -> objects.InstanceList:
    inst = objects.Instance(
        id=42,
        uuid=INSTANCE_UUID,
        host="compute-1",
        node="compute-1.example.org",
        project_id=CONTEXT.project_id,
        user_id=CONTEXT.user_id,
        vm_state="active",
        task_state=None,
        power_state=1,
        launched_on="compute-1",
        availability_zone="az1",
        flavor=flavor(),
        old_flavor=None,
        new_flavor=None,
        memory_mb=4096,
        vcpus=4,
        root_gb=40,
        ephemeral_gb=10,
        image_ref=IMAGE_UUID,
        system_metadata={"image_hw_architecture": "x86_64", "image_os_distro": "cirros"},
        metadata={"role": "web"},
        display_name="web-1",
        hostname="web-1",
        created_at=WHEN,
        launched_at=WHEN,
        numa_topology=None,
        pci_requests=None,
        info_cache=objects.InstanceInfoCache(instance_uuid=INSTANCE_UUID, network_info="[]"),
        tags=objects.TagList(objects=[]),
        ec2_ids=objects.EC2Ids(instance_id="i-0000002a", ami_id="ami-00000001"),
        keypairs=objects.KeyPairList(objects=[]),
        security_groups=objects.SecurityGroupList(objects=[]),
        deleted=False,
        cleaned=False,
        locked=False,
    )
    return objects.InstanceList(objects=[inst])


def write(name: str, value: Any) -> None:
    path = OUT / name
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


def main() -> None:
    objects.register_all()
    OUT.mkdir(parents=True, exist_ok=True)
    write("object_fields.json", object_fields())
    write("request_spec_boot.json", wire(boot_spec()))
    write("request_spec_minimal.json", wire(minimal_spec()))
    write("request_spec_bfv.json", wire(bfv_spec()))
    # An older nova-conductor's spec: RequestSpec 1.8 (before user_id and
    # network_metadata), with the children it would have sent then.
    manifest = ovo_base.obj_tree_get_versions("RequestSpec")
    manifest.update(RequestSpec="1.8", ImageMetaProps="1.20")
    old = minimal_spec().obj_to_primitive(target_version="1.8", version_manifest=manifest)
    write("request_spec_v1_8.json", json.loads(jsonutils.dumps(old)))
    picked = selections()
    write("selections.json", wire(picked))
    write("selection_no_limits.json", wire(no_limits_selection()))
    numa_limits = numa_limits_selection()
    write("selection_numa_limits.json", wire(numa_limits))
    write("selection_numa_limits_legacy.json", jsonutils.to_primitive(numa_limits.to_dict()))
    write("selections_legacy.json", jsonutils.to_primitive([s[0].to_dict() for s in picked]))
    write("no_valid_host_remote.json", remote_no_valid_host())
    agg, agg_list = aggregates()
    write("aggregate.json", wire(agg))
    write("aggregate_list.json", wire(agg_list))
    write("instance_list.json", wire(instances()))
    write("context.json", CONTEXT.to_dict())


if __name__ == "__main__":
    main()
