"""A Nova RequestSpec primitive in, corral's scheduler.spec.RequestSpec out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from corral.placement.request import RequestGroup
from corral.rpc.errors import InvalidMessage
from corral.rpc.fields import NovaObject
from corral.rpc.primitives import DECODER, plain
from corral.scheduler import spec

# Nova's group policies (InstanceGroup.policy).
GROUP_POLICIES = frozenset({"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"})


def _str(o: NovaObject, key: str) -> str | None:
    return cast("str | None", o.get(key))


def _int(o: NovaObject, key: str, default: int = 0) -> int:
    value = o.get(key)
    return default if value is None else cast(int, value)


def _strings(o: NovaObject, key: str) -> tuple[str, ...]:
    return tuple(cast("list[str] | None", o.get(key)) or ())


def _child(o: NovaObject, key: str) -> NovaObject | None:
    return cast("NovaObject | None", o.get(key))


def _objects(o: NovaObject | None) -> list[NovaObject]:
    """The members of an ObjectListBase primitive."""
    if o is None:
        return []
    return cast("list[NovaObject]", o.get("objects") or [])


def flavor(o: NovaObject, path: str) -> spec.Flavor:
    for required in ("vcpus", "memory_mb"):
        if o.get(required) is None:
            raise InvalidMessage(f"{path}.{required}", "is required")
    return spec.Flavor(
        vcpus=_int(o, "vcpus"),
        memory_mb=_int(o, "memory_mb"),
        root_gb=_int(o, "root_gb"),
        ephemeral_gb=_int(o, "ephemeral_gb"),
        swap=_int(o, "swap"),
        name=_str(o, "name") or "",
        flavorid=_str(o, "flavorid") or "",
        extra_specs=dict(cast("Mapping[str, str]", o.get("extra_specs") or {})),
    )


def image(o: NovaObject | None) -> spec.Image:
    if o is None:
        return spec.Image()
    props = _child(o, "properties")
    return spec.Image(
        id=_str(o, "id"),
        name=_str(o, "name"),
        disk_format=_str(o, "disk_format"),
        container_format=_str(o, "container_format"),
        min_ram=_int(o, "min_ram"),
        min_disk=_int(o, "min_disk"),
        size=_int(o, "size"),
        properties=dict(cast("Mapping[str, object]", plain(props))) if props else {},
    )


def instance_group(o: NovaObject | None, path: str) -> spec.InstanceGroup | None:
    if o is None:
        return None
    uuid = _str(o, "uuid")
    if uuid is None:
        raise InvalidMessage(f"{path}.uuid", "is required")
    # InstanceGroup < 1.11 had only `policies`, a list of one.
    policy = _str(o, "policy") or next(iter(_strings(o, "policies")), None)
    if policy not in GROUP_POLICIES:
        raise InvalidMessage(
            f"{path}.policy", f"{policy!r} is not one of {', '.join(sorted(GROUP_POLICIES))}"
        )
    return spec.InstanceGroup(
        uuid=uuid,
        policy=policy,
        rules=dict(cast("Mapping[str, str]", o.get("_rules") or {})),
        members=_strings(o, "members"),
        hosts=_strings(o, "hosts"),
        name=_str(o, "name"),
    )


def destination(o: NovaObject | None) -> spec.Destination | None:
    if o is None:
        return None
    cell = _child(o, "cell")
    return spec.Destination(
        host=_str(o, "host"),
        node=_str(o, "node"),
        aggregates=_strings(o, "aggregates"),
        forbidden_aggregates=frozenset(_strings(o, "forbidden_aggregates")),
        allow_cross_cell_move=bool(o.get("allow_cross_cell_move", False)),
        cell_uuid=_str(cell, "uuid") if cell is not None else None,
    )


def retry_hosts(o: NovaObject | None) -> tuple[tuple[str, str], ...]:
    if o is None:
        return ()
    out: list[tuple[str, str]] = []
    for node in _objects(_child(o, "hosts")):
        host = _str(node, "host")
        if host:
            out.append((host, _str(node, "hypervisor_hostname") or ""))
    return tuple(out)


def request_group(o: NovaObject, path: str) -> RequestGroup:
    """A port's or device profile's group: its requester_id is its suffix, as in
    Nova's ResourceRequest._add_request_group."""
    suffix = _str(o, "requester_id")
    if not suffix:
        raise InvalidMessage(f"{path}.requester_id", "is required for a requested resource group")
    resources = cast("Mapping[str, int]", o.get("resources") or {})
    required = _strings(o, "required_traits")
    aggregates = cast("list[list[str]]", o.get("aggregates") or [])
    if not (resources or required or _strings(o, "forbidden_traits") or aggregates):
        raise InvalidMessage(path, "a requested resource group must ask for something")
    return RequestGroup(
        suffix=suffix,
        resources=dict(resources),
        required_traits=tuple(frozenset({t}) for t in sorted(set(required))),
        forbidden_traits=frozenset(_strings(o, "forbidden_traits")),
        member_of=tuple(frozenset(any_of) for any_of in aggregates if any_of),
        forbidden_aggs=frozenset(_strings(o, "forbidden_aggregates")),
        in_tree=_str(o, "in_tree"),
    )


def request_level_params(o: NovaObject | None) -> spec.RequestLevelParams:
    if o is None:
        return spec.RequestLevelParams()
    subtrees = cast("list[list[str]]", o.get("same_subtree") or [])
    return spec.RequestLevelParams(
        root_required=frozenset(_strings(o, "root_required")),
        root_forbidden=frozenset(_strings(o, "root_forbidden")),
        same_subtree=tuple(frozenset(s) for s in subtrees),
    )


def to_request_spec(o: NovaObject, path: str = "spec_obj") -> spec.RequestSpec:
    """corral's request spec from a decoded RequestSpec."""
    flavor_obj = _child(o, "flavor")
    if flavor_obj is None:
        raise InvalidMessage(f"{path}.flavor", "is required")
    hints = cast("Mapping[str, list[str]]", o.get("scheduler_hints") or {})
    groups = cast("list[NovaObject]", o.get("requested_resources") or [])
    pci = _child(o, "pci_requests")
    numa = _child(o, "numa_topology")
    network = _child(o, "network_metadata")
    return spec.RequestSpec(
        flavor=flavor(flavor_obj, f"{path}.flavor"),
        image=image(_child(o, "image")),
        num_instances=_int(o, "num_instances", 1),
        project_id=_str(o, "project_id"),
        user_id=_str(o, "user_id"),
        availability_zone=_str(o, "availability_zone"),
        scheduler_hints={k: tuple(v) for k, v in hints.items()},
        instance_group=instance_group(_child(o, "instance_group"), f"{path}.instance_group"),
        force_hosts=_strings(o, "force_hosts"),
        force_nodes=_strings(o, "force_nodes"),
        ignore_hosts=_strings(o, "ignore_hosts"),
        requested_destination=destination(_child(o, "requested_destination")),
        is_bfv=bool(o.get("is_bfv", False)),
        retry_hosts=retry_hosts(_child(o, "retry")),
        requested_resources=tuple(
            request_group(g, f"{path}.requested_resources[{i}]") for i, g in enumerate(groups)
        ),
        request_level_params=request_level_params(_child(o, "request_level_params")),
        instance_uuid=_str(o, "instance_uuid"),
        pci_requests=tuple(
            cast("Mapping[str, object]", plain(r)) for r in cast(list, pci.get("requests") or [])
        )
        if pci is not None
        else (),
        numa_topology=cast("Mapping[str, object]", plain(numa)) if numa is not None else None,
        network_metadata=cast("Mapping[str, object]", plain(network))
        if network is not None
        else None,
    )


def decode_request_spec(value: object, path: str = "spec_obj") -> spec.RequestSpec:
    """Check a RequestSpec primitive throughout, then build corral's spec from it."""
    return to_request_spec(DECODER.decode(value, "RequestSpec", path), path)
