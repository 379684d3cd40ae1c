"""The payloads of Nova 34's scheduler.select_destinations.start / .end notifications.

Built from the RequestSpec primitive corral received (already checked by
corral.rpc.primitives), exactly as nova/scheduler/manager.py builds them from
the same RequestSpec:

- legacy (unversioned): `{"request_spec": spec.to_legacy_request_spec_dict()}`
  through Nova's JsonPayloadSerializer (oslo_serialization's to_primitive);
- versioned: `RequestSpecPayload(spec).obj_to_primitive()`
  (nova/notifications/objects/request_spec.py and its nested payloads).

The end notification sees the spec as Nova's _schedule leaves it: its
instance_uuid is the last instance scheduled, and each selected host is
appended to the server group's hosts.

Two things differ from Nova, on purpose: the `_context` that Nova's legacy
payload leaks inside the objects it cannot render as dicts (PCI requests,
CPU topology) is null here, not Nova's internal RequestContext attributes; and
the spec is the one received, not the one Nova's request filters modified
(they may add requested_destination.aggregates, e.g. for the availability
zone or tenant isolation).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from corral.rpc import image_meta
from corral.rpc.fields import DateTime
from corral.rpc.objects import SCHEMAS
from corral.rpc.primitives import CHANGES_KEY, DATA_KEY, NAME_KEY, VERSION_KEY

Primitive = Mapping[str, Any]

# Nova objects that are NovaObjectDictCompat: oslo's to_primitive renders them
# as a dict of their set fields; any other object as its __dict__.
_DICT_COMPAT = frozenset({"Flavor", "InstanceNUMATopology", "InstanceNUMACell"})
# timeutils.PERFECT_TIME_FORMAT, what to_primitive makes of a datetime.
_LEGACY_TIME = "%Y-%m-%dT%H:%M:%S.%f"

# ImageMetaPropsPayload 1.20: every ImageMetaProps field but one.
_IMAGE_PROPS = frozenset(image_meta.SCHEMA.fields) - {"hw_ephemeral_encryption_secret_uuid"}
_FLAVOR_FIELDS = (
    "flavorid", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "name", "swap",
    "rxtx_factor", "vcpu_weight", "disabled", "is_public", "extra_specs", "projects",
    "description",
)  # fmt: skip
_IMAGE_FIELDS = (
    "id", "name", "status", "visibility", "protected", "checksum", "owner", "size",
    "virtual_size", "container_format", "disk_format", "created_at", "updated_at", "tags",
    "direct_url", "min_ram", "min_disk",
)  # fmt: skip
_NUMA_CELL_FIELDS = (
    "id", "cpuset", "pcpuset", "cpuset_reserved", "memory", "pagesize", "cpu_pinning_raw",
    "cpu_policy", "cpu_thread_policy",
)  # fmt: skip
_PCI_REQUEST_FIELDS = ("count", "spec", "alias_name", "request_id", "numa_policy")
_GROUP_FIELDS = ("uuid", "name", "user_id", "project_id", "policies", "members", "hosts")
_SPEC_FIELDS = (
    "ignore_hosts", "instance_uuid", "project_id", "user_id", "availability_zone",
    "num_instances", "scheduler_hints",
)  # fmt: skip


def _data(o: object) -> dict[str, Any]:
    if not isinstance(o, Mapping) or not isinstance(o.get(DATA_KEY), Mapping):
        return {}
    return dict(o[DATA_KEY])


def _objects(o: object) -> list[Any]:
    """The members of an ObjectListBase primitive."""
    return list(_data(o).get("objects") or [])


def _payload(name: str, version: str, data: dict[str, Any]) -> dict[str, Any]:
    # A payload is reset before it is emitted: it carries no nova_object.changes.
    return {
        NAME_KEY: name,
        "nova_object.namespace": "nova",
        VERSION_KEY: version,
        DATA_KEY: data,
    }


def _schema(source: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """populate_schema: each key from the source, None where it is not set."""
    return {key: source.get(key) for key in keys}


# -- the versioned payload ---------------------------------------------------------


def _flavor(o: object) -> dict[str, Any]:
    return _payload("FlavorPayload", "1.4", _schema(_data(o), _FLAVOR_FIELDS))


def _image(o: object) -> dict[str, Any]:
    data = _data(o)
    props = {k: v for k, v in _data(data.get("properties")).items() if k in _IMAGE_PROPS}
    out = _schema(data, _IMAGE_FIELDS)
    out["properties"] = _payload("ImageMetaPropsPayload", "1.20", props)
    return _payload("ImageMetaPayload", "1.0", out)


def _numa(o: object, instance_uuid: object) -> dict[str, Any]:
    data = _data(o)
    cells = []
    for cell in data.get("cells") or []:
        cell_data = _data(cell)
        out = _schema(cell_data, _NUMA_CELL_FIELDS)
        topology = cell_data.get("cpu_topology")
        out["cpu_topology"] = (
            _payload(
                "VirtCPUTopologyPayload",
                "1.0",
                _schema(_data(topology), ("sockets", "cores", "threads")),
            )
            if topology is not None
            else None
        )
        cells.append(_payload("InstanceNUMACellPayload", "1.2", out))
    return _payload(
        "InstanceNUMATopologyPayload",
        "1.0",
        {
            "instance_uuid": data.get("instance_uuid", instance_uuid),
            "cells": cells,
            "emulator_threads_policy": data.get("emulator_threads_policy"),
        },
    )


def _pci(o: object, instance_uuid: object) -> dict[str, Any]:
    data = _data(o)
    requests = [
        _payload("InstancePCIRequestPayload", "1.1", _schema(_data(r), _PCI_REQUEST_FIELDS))
        for r in data.get("requests") or []
    ]
    return _payload(
        "InstancePCIRequestsPayload",
        "1.0",
        {
            "instance_uuid": data.get("instance_uuid", instance_uuid),
            "requests": requests,
        },
    )


def _destination(o: object) -> dict[str, Any]:
    data = _data(o)
    out: dict[str, Any] = {}
    for key in ("host", "node"):
        if data.get(key) is not None:
            out[key] = data[key]
    if data.get("cell") is not None:
        out["cell"] = _payload(
            "CellMappingPayload", "2.0", _schema(_data(data["cell"]), ("uuid", "name", "disabled"))
        )
    out["aggregates"] = data.get("aggregates")
    return _payload("DestinationPayload", "1.0", out)


def _retry(o: object) -> dict[str, Any]:
    data = _data(o)
    hosts = [_data(node).get("hypervisor_hostname") for node in _objects(data.get("hosts"))]
    return _payload(
        "SchedulerRetriesPayload", "1.0", {"num_attempts": data.get("num_attempts"), "hosts": hosts}
    )


def _group(o: object, added_hosts: Sequence[str]) -> dict[str, Any]:
    data = _data(o)
    out = _schema(data, _GROUP_FIELDS)
    if added_hosts:
        out["hosts"] = [*(out["hosts"] or []), *added_hosts]
    out["policy"] = data.get("policy")
    # InstanceGroup.rules keeps max_server_per_host only, as an int, which the
    # payload's DictOfStringsField turns back into a string.
    rules = data.get("_rules") or {}
    out["rules"] = (
        {"max_server_per_host": str(int(rules["max_server_per_host"]))}
        if "max_server_per_host" in rules
        else {}
    )
    return _payload("ServerGroupPayload", "1.1", out)


def _first(values: object) -> object:
    return values[0] if isinstance(values, list) and values else None


def versioned_payload(
    spec_obj: Primitive,
    *,
    last_instance: str | None = None,
    selected_hosts: Sequence[str] = (),
) -> dict[str, Any]:
    """RequestSpecPayload 1.1 of a RequestSpec primitive; with `last_instance` and
    `selected_hosts`, of the spec as Nova's scheduling leaves it (the end)."""
    d = _data(spec_obj)
    uuid = d.get("instance_uuid")
    out = _schema(d, _SPEC_FIELDS)
    if "num_instances" not in d:
        out["num_instances"] = 1
    if last_instance is not None:
        out["instance_uuid"] = last_instance
    out["flavor"] = _flavor(d["flavor"]) if "flavor" in d else None
    out["image"] = _image(d["image"]) if d.get("image") is not None else None
    out["numa_topology"] = (
        _numa(d["numa_topology"], uuid) if d.get("numa_topology") is not None else None
    )
    out["pci_requests"] = (
        _pci(d["pci_requests"], uuid) if d.get("pci_requests") is not None else None
    )
    destination = d.get("requested_destination")
    out["requested_destination"] = _destination(destination) if destination else None
    out["retry"] = _retry(d["retry"]) if d.get("retry") else None
    out["security_groups"] = [
        g.get("uuid") if "uuid" in g else g.get("name")
        for g in (_data(sg) for sg in _objects(d.get("security_groups")))
    ]
    group = d.get("instance_group")
    out["instance_group"] = _group(group, selected_hosts) if group else None
    out["force_hosts"] = _first(d.get("force_hosts"))
    out["force_nodes"] = _first(d.get("force_nodes"))
    return _payload("RequestSpecPayload", "1.1", out)


# -- the legacy payload ------------------------------------------------------------


def _legacy_time(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed.strftime(_LEGACY_TIME)


def _datetime_fields(name: object) -> frozenset[str]:
    schema = SCHEMAS.get(name) if isinstance(name, str) else None
    if schema is None:
        return frozenset()
    return frozenset(k for k, spec in schema.fields.items() if isinstance(spec.kind, DateTime))


def _legacy(value: object) -> object:
    """oslo_serialization's to_primitive of the object Nova decoded from `value`."""
    if isinstance(value, list):
        return [_legacy(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if NAME_KEY not in value:
        return {k: _legacy(v) for k, v in value.items()}
    name = value[NAME_KEY]
    times = _datetime_fields(name)
    fields = {k: _legacy_time(v) if k in times else _legacy(v) for k, v in _data(value).items()}
    if name in _DICT_COMPAT:
        return fields
    if name in {"ObjectList"} or name.endswith("List"):
        return [_legacy(v) for v in _objects(value)]
    # Any other object: its __dict__ (Nova's internal attributes).
    return {
        "_changed_fields": list(value.get(CHANGES_KEY) or []),
        "_context": None,
        "VERSION": value.get(VERSION_KEY),
        **{f"_obj_{k}": v for k, v in fields.items()},
    }


def _plain(value: object) -> object:
    """nova.objects.base.obj_to_primitive, then to_primitive: an object as a
    plain dict of its set fields, all the way down."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if NAME_KEY not in value:
        return {k: _plain(v) for k, v in value.items()}
    if str(value[NAME_KEY]).endswith("List"):
        return [_plain(v) for v in _objects(value)]
    times = _datetime_fields(value[NAME_KEY])
    return {k: _legacy_time(v) if k in times else _plain(v) for k, v in _data(value).items()}


def legacy_payload(spec_obj: Primitive, *, last_instance: str | None = None) -> dict[str, Any]:
    """`{"request_spec": to_legacy_request_spec_dict()}` as Nova's legacy notifier
    sends it."""
    d = _data(spec_obj)
    instance: dict[str, Any] = {}
    for key in ("numa_topology", "pci_requests", "project_id", "user_id", "availability_zone"):
        if key in d:
            instance[key] = _legacy(d[key])
    if "instance_uuid" in d:
        instance["uuid"] = d["instance_uuid"] if last_instance is None else last_instance
    flavor = _data(d.get("flavor"))
    if "flavor" in d:
        for key in ("root_gb", "ephemeral_gb", "memory_mb", "vcpus"):
            instance[key] = flavor.get(key)
    return {
        "request_spec": {
            "num_instances": d.get("num_instances", 1),
            "image": _plain(d["image"]) if d.get("image") is not None else {},
            "instance_properties": instance,
            "instance_type": _legacy(d["flavor"]) if "flavor" in d else {},
        }
    }
