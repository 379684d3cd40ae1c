"""The Nova objects corral reads from RPC messages, as Nova 34 defines them.

Each schema is the object's newest version in Nova 34 (2026.2) and its fields
at that version, with the bounds corral holds them to. The unit tests check
every name, kind and nullability here against Nova's own definitions
(tests/fixtures/nova/object_fields.json, captured from Nova by
tools/capture_nova_primitives.py).

Objects corral never reads but that ride along inside one it does (an
Instance's info cache, keypairs, tags, ...) are `opaque`: their envelope is
checked, their data is bounded, and they decode to nothing.
"""

from __future__ import annotations

from corral.rpc import image_meta
from corral.rpc.cast_objects import AGGREGATE, INSTANCE
from corral.rpc.fields import (
    Bool,
    DateTime,
    DictOf,
    Float,
    Int,
    IpAddress,
    ListOf,
    Nullable,
    ObjectSchema,
    Str,
    Uuid,
    obj,
)
from corral.rpc.object_bounds import (
    AGGREGATE_UUID,
    COUNT,
    DOCUMENT,
    HOSTS,
    NAME,
    PERSISTENT,
    SMALL_COUNT,
    TEXT,
    URL,
    f,
    list_of,
    schema,
)

FLAVOR = schema(
    "Flavor",
    "1.2",
    {
        **PERSISTENT,
        "id": f(Int()),
        "name": f(NAME, True),
        "memory_mb": f(COUNT),
        "vcpus": f(COUNT),
        "root_gb": f(COUNT),
        "ephemeral_gb": f(COUNT),
        "flavorid": f(NAME),
        "swap": f(COUNT),
        "rxtx_factor": f(Float(), True),
        "vcpu_weight": f(Int(), True),
        "disabled": f(Bool()),
        "is_public": f(Bool()),
        "extra_specs": f(DictOf(NAME, max_items=1_000)),
        "projects": f(ListOf(NAME)),
        "description": f(TEXT, True),
    },
)

IMAGE_META = schema(
    "ImageMeta",
    "1.8",
    {
        "id": f(Uuid()),
        "name": f(NAME),
        "status": f(NAME),
        "visibility": f(NAME),
        "protected": f(Bool()),
        "checksum": f(NAME),
        "owner": f(NAME),
        "size": f(COUNT),
        "virtual_size": f(COUNT),
        "container_format": f(NAME),
        "disk_format": f(NAME),
        "created_at": f(DateTime(), True),
        "updated_at": f(DateTime(), True),
        "tags": f(ListOf(NAME, 1_000)),
        "direct_url": f(URL),
        "min_ram": f(COUNT),
        "min_disk": f(COUNT),
        "properties": f(obj("ImageMetaProps")),
    },
)

INSTANCE_GROUP = schema(
    "InstanceGroup",
    "1.11",
    {
        **PERSISTENT,
        "id": f(Int()),
        "user_id": f(NAME, True),
        "project_id": f(NAME, True),
        "uuid": f(Uuid()),
        "name": f(NAME, True),
        # Before 1.11 the policy was the only element of `policies`.
        "policies": f(ListOf(NAME, 16), True),
        "policy": f(NAME, True),
        "_rules": f(DictOf(NAME, max_items=16)),
        "members": f(HOSTS, True),
        "hosts": f(HOSTS, True),
    },
)

CELL_MAPPING = schema(
    "CellMapping",
    "1.1",
    {
        **{k: v for k, v in PERSISTENT.items() if k in ("created_at", "updated_at")},
        "id": f(Int()),
        "uuid": f(Uuid()),
        "name": f(NAME, True),
        "transport_url": f(URL),
        "database_connection": f(URL),
        "disabled": f(Bool()),
    },
)

DESTINATION = schema(
    "Destination",
    "1.4",
    {
        "host": f(NAME),
        "node": f(NAME, True),
        "cell": f(obj("CellMapping"), True),
        "aggregates": f(ListOf(Str(max_length=65_535), 1_000), True),
        "allow_cross_cell_move": f(Bool()),
        "forbidden_aggregates": f(ListOf(AGGREGATE_UUID, 1_000), True),
    },
)

HV_SPEC = schema("HVSpec", "1.2", {"arch": f(NAME), "hv_type": f(NAME), "vm_mode": f(NAME)})

PCI_DEVICE_POOL = schema(
    "PciDevicePool",
    "1.1",
    {
        "product_id": f(NAME),
        "vendor_id": f(NAME),
        "numa_node": f(Int(), True),
        "tags": f(DictOf(Nullable(NAME), max_items=256)),
        "count": f(COUNT),
    },
)

COMPUTE_NODE = schema(
    "ComputeNode",
    "1.19",
    {
        **PERSISTENT,
        "id": f(Int()),
        "uuid": f(Uuid()),
        "service_id": f(Int(), True),
        "host": f(NAME, True),
        "vcpus": f(COUNT),
        "memory_mb": f(COUNT),
        "local_gb": f(COUNT),
        "vcpus_used": f(COUNT),
        "memory_mb_used": f(COUNT),
        "local_gb_used": f(COUNT),
        "hypervisor_type": f(NAME),
        "hypervisor_version": f(COUNT),
        "hypervisor_hostname": f(NAME, True),
        "free_ram_mb": f(Int(), True),
        "free_disk_gb": f(Int(), True),
        "current_workload": f(Int(), True),
        "running_vms": f(Int(), True),
        "cpu_info": f(DOCUMENT, True),
        "disk_available_least": f(Int(), True),
        "metrics": f(DOCUMENT, True),
        "stats": f(DictOf(Nullable(TEXT)), True),
        "host_ip": f(IpAddress(), True),
        "numa_topology": f(DOCUMENT, True),
        "supported_hv_specs": f(ListOf(obj("HVSpec"), 1_000)),
        "pci_device_pools": f(obj("PciDevicePoolList"), True),
        "cpu_allocation_ratio": f(Float()),
        "ram_allocation_ratio": f(Float()),
        "disk_allocation_ratio": f(Float()),
        "mapped": f(Int()),
    },
)

SCHEDULER_RETRIES = schema(
    "SchedulerRetries",
    "1.1",
    {"num_attempts": f(SMALL_COUNT), "hosts": f(obj("ComputeNodeList"))},
)

NETWORK_METADATA = schema(
    "NetworkMetadata",
    "1.0",
    {"physnets": f(ListOf(NAME, 1_000)), "tunneled": f(Bool())},
)

NUMA_TOPOLOGY_LIMITS = schema(
    "NUMATopologyLimits",
    "1.1",
    {
        "cpu_allocation_ratio": f(Float()),
        "ram_allocation_ratio": f(Float()),
        "network_metadata": f(obj("NetworkMetadata")),
    },
)

SCHEDULER_LIMITS = schema(
    "SchedulerLimits",
    "1.0",
    {
        "numa_topology": f(obj("NUMATopologyLimits"), True),
        "vcpu": f(Int(), True),
        "disk_gb": f(Int(), True),
        "memory_mb": f(Int(), True),
    },
)

REQUEST_GROUP = schema(
    "RequestGroup",
    "1.3",
    {
        "use_same_provider": f(Bool()),
        "resources": f(DictOf(Int(1, 2**31 - 1), max_items=256)),
        "required_traits": f(ListOf(NAME, 1_000)),
        "forbidden_traits": f(ListOf(NAME, 1_000)),
        "aggregates": f(ListOf(ListOf(AGGREGATE_UUID, 1_000), 1_000)),
        "forbidden_aggregates": f(ListOf(AGGREGATE_UUID, 1_000)),
        "requester_id": f(NAME, True),
        "provider_uuids": f(ListOf(Uuid(), 1_000)),
        "in_tree": f(Uuid(), True),
    },
)

REQUEST_LEVEL_PARAMS = schema(
    "RequestLevelParams",
    "1.1",
    {
        "root_required": f(ListOf(NAME, 1_000)),
        "root_forbidden": f(ListOf(NAME, 1_000)),
        "same_subtree": f(ListOf(ListOf(NAME, 256), 256)),
    },
)

INSTANCE_PCI_REQUEST = schema(
    "InstancePCIRequest",
    "1.4",
    {
        "count": f(Int(1, 1_000)),
        "spec": f(ListOf(DictOf(Nullable(NAME), max_items=256), 256)),
        "alias_name": f(NAME, True),
        "is_new": f(Bool()),
        "numa_policy": f(NAME, True),
        "request_id": f(Uuid(), True),
        "requester_id": f(NAME, True),
    },
)

INSTANCE_PCI_REQUESTS = schema(
    "InstancePCIRequests",
    "1.1",
    {"instance_uuid": f(Uuid()), "requests": f(ListOf(obj("InstancePCIRequest"), 256))},
)

VIRT_CPU_TOPOLOGY = schema(
    "VirtCPUTopology",
    "1.0",
    {"sockets": f(Int(0), True), "cores": f(Int(0), True), "threads": f(Int(0), True)},
)

_CPU_SET = ListOf(Int(0, 1 << 20), 4096)

INSTANCE_NUMA_CELL = schema(
    "InstanceNUMACell",
    "1.6",
    {
        "id": f(Int(0)),
        "cpuset": f(_CPU_SET),
        "pcpuset": f(_CPU_SET),
        "cpuset_reserved": f(_CPU_SET, True),
        "memory": f(COUNT),
        "pagesize": f(Int(), True),
        "cpu_topology": f(obj("VirtCPUTopology"), True),
        "cpu_pinning_raw": f(DictOf(Int(0, 1 << 20), max_items=4096, key_length=8), True),
        "cpu_policy": f(NAME, True),
        "cpu_thread_policy": f(NAME, True),
    },
)

INSTANCE_NUMA_TOPOLOGY = schema(
    "InstanceNUMATopology",
    "1.3",
    {
        "id": f(Int()),
        "instance_uuid": f(Uuid()),
        "cells": f(ListOf(obj("InstanceNUMACell"), 64)),
        "emulator_threads_policy": f(NAME, True),
    },
)

SECURITY_GROUP = schema(
    "SecurityGroup",
    "1.2",
    {
        **PERSISTENT,
        "id": f(Int()),
        "uuid": f(Uuid()),
        "name": f(NAME),
        "description": f(NAME),
        "user_id": f(NAME),
        "project_id": f(NAME),
    },
)

NETWORK_REQUEST = schema(
    "NetworkRequest",
    "1.3",
    {
        "network_id": f(NAME, True),
        "address": f(IpAddress(), True),
        "port_id": f(Uuid(), True),
        "pci_request_id": f(Uuid(), True),
        "tag": f(NAME, True),
        "arq_uuid": f(Uuid(), True),
        "device_profile": f(NAME, True),
    },
)

REQUEST_SPEC = schema(
    "RequestSpec",
    "1.15",
    {
        "id": f(Int()),
        "image": f(obj("ImageMeta"), True),
        "numa_topology": f(obj("InstanceNUMATopology"), True),
        "pci_requests": f(obj("InstancePCIRequests"), True),
        "project_id": f(NAME, True),
        "user_id": f(NAME, True),
        "availability_zone": f(NAME, True),
        "flavor": f(obj("Flavor")),
        "num_instances": f(Int(1, 10_000)),
        "ignore_hosts": f(HOSTS, True),
        "force_hosts": f(HOSTS, True),
        "force_nodes": f(HOSTS, True),
        "requested_destination": f(obj("Destination"), True),
        "retry": f(obj("SchedulerRetries"), True),
        "limits": f(obj("SchedulerLimits"), True),
        "instance_group": f(obj("InstanceGroup"), True),
        # Hint values are free text: JsonFilter's `query` is a JSON document.
        "scheduler_hints": f(DictOf(ListOf(TEXT, 1_000), max_items=256), True),
        "instance_uuid": f(Uuid()),
        "security_groups": f(obj("SecurityGroupList")),
        "network_metadata": f(obj("NetworkMetadata")),
        "is_bfv": f(Bool()),
        "requested_resources": f(ListOf(obj("RequestGroup"), 1_000), True),
        "request_level_params": f(obj("RequestLevelParams")),
        "requested_networks": f(obj("NetworkRequestList")),
    },
)

SELECTION = schema(
    "Selection",
    "1.1",
    {
        "compute_node_uuid": f(Uuid()),
        "service_host": f(NAME),
        "nodename": f(NAME),
        "cell_uuid": f(Uuid()),
        "limits": f(obj("SchedulerLimits"), True),
        "allocation_request": f(DOCUMENT, True),
        "allocation_request_version": f(NAME, True),
        "availability_zone": f(NAME, True),
    },
)

SCHEMAS: dict[str, ObjectSchema] = {
    s.name: s
    for s in (
        REQUEST_SPEC,
        FLAVOR,
        IMAGE_META,
        image_meta.SCHEMA,
        INSTANCE_GROUP,
        DESTINATION,
        CELL_MAPPING,
        SCHEDULER_RETRIES,
        list_of("ComputeNodeList", "1.17", "ComputeNode", 1_000),
        COMPUTE_NODE,
        HV_SPEC,
        list_of("PciDevicePoolList", "1.1", "PciDevicePool", 1_000),
        PCI_DEVICE_POOL,
        REQUEST_GROUP,
        REQUEST_LEVEL_PARAMS,
        SCHEDULER_LIMITS,
        NUMA_TOPOLOGY_LIMITS,
        INSTANCE_PCI_REQUESTS,
        INSTANCE_PCI_REQUEST,
        INSTANCE_NUMA_TOPOLOGY,
        INSTANCE_NUMA_CELL,
        VIRT_CPU_TOPOLOGY,
        NETWORK_METADATA,
        list_of("SecurityGroupList", "1.1", "SecurityGroup", 1_000),
        SECURITY_GROUP,
        list_of("NetworkRequestList", "1.1", "NetworkRequest", 1_000),
        NETWORK_REQUEST,
        SELECTION,
        AGGREGATE,
        list_of("AggregateList", "1.3", "Aggregate", 10_000),
        INSTANCE,
        list_of("InstanceList", "2.6", "Instance", 10_000),
    )
}

# Opaque objects: the major version corral accepts for each (Nova 34's).
OPAQUE_MAJORS: dict[str, int] = {
    "ServiceList": 1,
    "InstanceInfoCache": 1,
    "SecurityGroupList": 1,
    "InstanceFault": 1,
    "PciDeviceList": 1,
    "InstanceNUMATopology": 1,
    "InstancePCIRequests": 1,
    "InstanceDeviceMetadata": 1,
    "TagList": 1,
    "Flavor": 1,
    "VirtCPUModel": 1,
    "EC2Ids": 1,
    "MigrationContext": 1,
    "KeyPairList": 1,
    "TrustedCerts": 1,
    "ResourceList": 1,
}
