"""Admission: what a request names, checked once before it is decided.

Both front doors (the HTTP API and the Nova RPC server) hand the engine a
RequestSpec; admission runs on it once, before the request waits for its
round, over the host cache as it stands. What names something the cache
does not know yet is looked up again after the cache caught up with the
store, so a group, zone or host made a moment ago counts, and a plain
request costs no read:

- the server group (Nova's RequestSpec.instance_group, or the `group` hint)
  is resolved to the group the store knows, with the hosts of its members;
  an unknown group named only by uuid is refused; Nova's own group, unknown
  (made a moment ago, not yet copied by the Nova feed), is kept as Nova
  sent it, marked not `stored`;
- an availability zone that no aggregate names, and that is not
  `[DEFAULT] default_availability_zone`, is refused when the door asks for
  it. That check is Nova's compute API's (the HTTP door stands in for it);
  Nova's scheduler itself, and so the RPC door, does not narrow by such a
  zone at all;
- a requested destination's host or node must be a compute host, else the
  request is refused without a search (Nova's conductor gets NoValidHost).

The search stage reads the group again (`current_group`) when the request's
round comes: a claim of an earlier round may have added a member's host.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from corral.errors import BadRequest
from corral.scheduler.host_cache import HostCache
from corral.scheduler.spec import RequestSpec


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request spec as admitted: its group resolved, its destination found."""

    spec: RequestSpec
    # the root providers of the requested destination's host/node (empty: none named)
    destination_providers: tuple[str, ...] = ()
    # when set, the request is refused without a search: why
    refusal: str | None = None


def group_uuid(spec: RequestSpec) -> str | None:
    """The server group a request joins: its instance group, or the `group` hint."""
    if spec.instance_group is not None:
        return spec.instance_group.uuid
    hint = spec.scheduler_hints.get("group")
    return hint[0] if hint else None


def current_group(hosts: HostCache, spec: RequestSpec) -> RequestSpec:
    """The spec with its server group as the host cache knows it now (the
    members' hosts); the caller's members may include instances being built
    now and are kept."""
    group = spec.instance_group
    uuid = group_uuid(spec)
    if uuid is None:
        return spec
    current = hosts.instance_group(uuid)
    if current is None:
        if group is None:
            raise BadRequest(f"Unknown server group {uuid}.")
        if not group.stored:
            return spec
        return dataclasses.replace(spec, instance_group=dataclasses.replace(group, stored=False))
    if group is not None:
        members = tuple(dict.fromkeys((*group.members, *current.members)))
        current = dataclasses.replace(current, members=members)
    return dataclasses.replace(spec, instance_group=current)


def _check_zone(hosts: HostCache, zone: str | None) -> None:
    if zone is None or zone == hosts.default_availability_zone:
        return
    if not any(a.availability_zone == zone for a in hosts.aggregates().values()):
        raise BadRequest(f"The requested availability zone {zone} is not available.")


def destination_providers(hosts: HostCache, host: str | None, node: str | None) -> tuple[str, ...]:
    """The compute node providers of a host and/or node name."""
    found = []
    for provider in hosts.all_provider_uuids():
        key = hosts.node_of_provider(provider)
        if key is None:
            continue
        if (host is None or key[0] == host) and (node is None or key[1] == node):
            found.append(provider)
    return tuple(found)


def admit(hosts: HostCache, spec: RequestSpec, *, check_zone: bool = False) -> Admitted:
    """The request as the engine decides it; BadRequest for what names nothing known."""
    try:
        admitted = _admit(hosts, spec, check_zone)
    except BadRequest:
        admitted = None
    if admitted is None or admitted.refusal is not None:
        hosts.catch_up()
        admitted = _admit(hosts, spec, check_zone)
    return admitted


def _admit(hosts: HostCache, spec: RequestSpec, check_zone: bool) -> Admitted:
    if check_zone:
        _check_zone(hosts, spec.availability_zone)
    spec = current_group(hosts, spec)
    destination = spec.requested_destination
    if destination is None or not (destination.host or destination.node):
        return Admitted(spec)
    providers = destination_providers(hosts, destination.host, destination.node)
    if not providers:
        where = destination.node or destination.host
        return Admitted(spec, refusal=f"requested destination {where} is not a compute host")
    return Admitted(spec, providers)
