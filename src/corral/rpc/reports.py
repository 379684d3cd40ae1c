"""The arguments of Nova's scheduler casts, checked and decoded.

update_aggregates carries an Aggregate, an AggregateList or, as Nova's compute
API sends it (`update_aggregates(context, [aggregate])`), a plain list of
Aggregates; delete_aggregate an
Aggregate, update_instance_info an Instance or an InstanceList (nova-compute
wraps a single instance in a list), delete_instance_info and
sync_instance_info a host name and instance uuids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from corral.compute.image_meta import image_properties
from corral.compute.reports import NovaAggregate, ReportedInstance
from corral.rpc.errors import InvalidMessage
from corral.rpc.fields import ListOf, NovaObject, Uuid
from corral.rpc.object_bounds import NAME
from corral.rpc.primitives import DECODER, plain
from corral.rpc.request_spec import flavor as decode_flavor

MAX_INSTANCE_UUIDS = 100_000
# As many aggregates as an AggregateList may carry (rpc/objects.py).
MAX_AGGREGATES = 10_000


def host_name(value: object, path: str = "host_name") -> str:
    return cast(str, NAME.decode(value, path, DECODER, 0))


def instance_uuid(value: object, path: str = "instance_uuid") -> str:
    return cast(str, Uuid().decode(value, path, DECODER, 0))


def instance_uuids(value: object, path: str = "instance_uuids") -> list[str]:
    return cast("list[str]", ListOf(Uuid(), MAX_INSTANCE_UUIDS).decode(value, path, DECODER, 0))


def _aggregate(o: NovaObject) -> NovaAggregate:
    return NovaAggregate(
        uuid=cast(str, o.get("uuid")),
        name=cast(str, o.get("name")),
        hosts=tuple(cast("list[str]", o.get("hosts") or [])),
        metadata=dict(cast("Mapping[str, str]", o.get("metadata") or {})),
    )


def _require(o: NovaObject, path: str, *keys: str) -> None:
    for key in keys:
        if o.get(key) is None:
            raise InvalidMessage(f"{path}.{key}", "is required")


def aggregates(value: object, path: str = "aggregates") -> list[NovaAggregate]:
    if isinstance(value, list):
        # HostManager.update_aggregates takes a list as well as an object.
        if len(value) > MAX_AGGREGATES:
            raise InvalidMessage(path, f"holds more than {MAX_AGGREGATES} aggregates")
        return [aggregate(item, f"{path}[{i}]") for i, item in enumerate(value)]
    o = DECODER.decode(value, frozenset({"Aggregate", "AggregateList"}), path)
    members = [o] if o.name == "Aggregate" else cast("list[NovaObject]", o.get("objects") or [])
    for i, member in enumerate(members):
        _require(member, path if o.name == "Aggregate" else f"{path}[{i}]", "uuid", "name")
    return [_aggregate(m) for m in members]


def aggregate(value: object, path: str = "aggregate") -> NovaAggregate:
    o = DECODER.decode(value, "Aggregate", path)
    _require(o, path, "uuid", "name")
    return _aggregate(o)


def _instance(o: NovaObject, path: str) -> ReportedInstance:
    _require(o, path, "uuid", "node", "flavor")
    flavor = decode_flavor(cast(NovaObject, o.get("flavor")), f"{path}.flavor")
    return ReportedInstance(
        uuid=cast(str, o.get("uuid")),
        node=cast(str, o.get("node")),
        project_id=cast("str | None", o.get("project_id")) or "",
        user_id=cast("str | None", o.get("user_id")) or "",
        flavor={
            "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb,
            "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb,
            "swap": flavor.swap,
            "name": flavor.name,
            "flavorid": flavor.flavorid,
            "extra_specs": dict(flavor.extra_specs),
        },
        image_properties=image_properties(
            cast("Mapping[str, str | None]", plain(o.get("system_metadata") or {}))
        ),
    )


def instances(value: object, path: str = "instance_info") -> list[ReportedInstance]:
    o = DECODER.decode(value, frozenset({"Instance", "InstanceList"}), path)
    if o.name == "Instance":
        return [_instance(o, path)]
    members = cast("list[NovaObject]", o.get("objects") or [])
    return [_instance(m, f"{path}[{i}]") for i, m in enumerate(members)]
