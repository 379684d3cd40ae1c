"""Compute hosts and their services: registration, enable/disable, heartbeats.

A host is Nova's service host: one nova-compute service and one or more
hypervisor nodes, each the root resource provider of its resources in
Placement. Registering a node also puts its provider into the Placement
aggregates of the host's aggregates (corral.compute.aggregates).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.compute.aggregates import mirror_host_aggregates, mirror_many, unmirror_host
from corral.compute.hardware import numa, pci
from corral.errors import BadRequest, Conflict, CorralError, NotFound
from corral.store import compute_hosts as store
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store.compute_hosts import NodeRow, NodeValues, ServiceRow
from corral.store.database import Database, utcnow


@dataclass(frozen=True)
class HostView:
    host: str
    service: ServiceRow | None
    nodes: list[NodeRow]


def service_is_up(service: ServiceRow | None, now: datetime.datetime, down_time: float) -> bool:
    """Nova's DB servicegroup driver: not forced down, and heard from within
    `down_time` seconds (a service never heard from counts from its creation)."""
    if service is None or service.forced_down:
        return False
    last = service.last_heartbeat or service.created_at
    if last is None:
        return False
    return abs((now - last).total_seconds()) <= down_time


def host_not_found(host: str) -> NotFound:
    return NotFound(f"Compute host {host} could not be found.")


def _check_hardware(values: NodeValues) -> None:
    """Refuse NUMA topology and PCI pools the filters could not read."""
    try:
        if values.numa_topology is not None:
            numa.host_topology(values.numa_topology)
        pci.host_pools(values.pci_stats)
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRequest(f"Unreadable numa_topology or pci_stats: {exc!r}") from None


def register_node(
    db: Database, host: str, nodename: str, values: NodeValues
) -> tuple[HostView, bool]:
    """Create or replace the node `nodename` of `host`; the host's service is
    created with its first node. Returns the host and whether the node is new.

    A provider belongs to one node: naming one that another node has is a conflict.
    """
    _check_hardware(values)
    now = utcnow()
    with db.write() as conn:
        owner = store.node_by_provider(conn, values.provider_uuid)
        if owner is not None and (owner.host, owner.nodename) != (host, nodename):
            raise Conflict(
                f"Resource provider {values.provider_uuid} is already the node "
                f"{owner.nodename} of host {owner.host}."
            )
        existing = {n.nodename: n for n in store.nodes_of_host(conn, host)}
        node = existing.get(nodename)
        if node is None:
            store.insert_node(conn, host, nodename, values, now)
        elif node.values != values:
            store.update_node(conn, node.id, values, now)
        if store.service(conn, host) is None:
            store.insert_service(conn, host, now)
        aggregate_uuids = [a.uuid for a in aggregate_store.of_hosts(conn, [host])]
        view = HostView(host, store.service(conn, host), store.nodes_of_host(conn, host))
    # After the commit, as Nova's API mirrors after its own write.
    mirror_host_aggregates(db, [values.provider_uuid], aggregate_uuids)
    return view, node is None


def register_nodes(
    db: Database, nodes: Sequence[tuple[str, str, NodeValues]], *, hardware_checked: bool = False
) -> dict[tuple[str, str], CorralError]:
    """`register_node` for many (host, nodename, values) in one transaction
    (then one mirror of their hosts' aggregates): each node is checked, and
    refused or written, as `register_node` would. Returns the refused
    (host, nodename) and why. `hardware_checked`: the caller parsed each
    node's NUMA topology and PCI pools with the same readers already (the
    Nova feed's corral.compute.nova_rows)."""
    refused: dict[tuple[str, str], CorralError] = {}
    checked: list[tuple[str, str, NodeValues]] = []
    for host, nodename, values in nodes:
        try:
            if not hardware_checked:
                _check_hardware(values)
        except BadRequest as exc:
            refused[(host, nodename)] = exc
            continue
        checked.append((host, nodename, values))
    if not checked:
        return refused
    now = utcnow()
    hosts = {host for host, _n, _v in checked}
    with db.write() as conn:
        owners = store.nodes_by_providers(conn, [v.provider_uuid for _h, _n, v in checked])
        existing = {(n.host, n.nodename): n for n in store.nodes_of_hosts(conn, hosts)}
        claimed: dict[str, tuple[str, str]] = {}
        inserts: list[tuple[str, str, NodeValues]] = []
        updates: list[tuple[int, NodeValues]] = []
        written: list[tuple[str, NodeValues]] = []
        for host, nodename, values in checked:
            owner = owners.get(values.provider_uuid)
            holder = (owner.host, owner.nodename) if owner is not None else None
            holder = claimed.get(values.provider_uuid, holder)
            if holder is not None and holder != (host, nodename):
                refused[(host, nodename)] = Conflict(
                    f"Resource provider {values.provider_uuid} is already the node "
                    f"{holder[1]} of host {holder[0]}."
                )
                continue
            claimed[values.provider_uuid] = (host, nodename)
            node = existing.get((host, nodename))
            if node is None:
                inserts.append((host, nodename, values))
            elif node.values != values:
                updates.append((node.id, values))
            written.append((host, values))
        store.update_nodes(conn, updates, now)
        store.insert_nodes(conn, inserts, now)
        served = store.services_of_hosts(conn, hosts)
        store.insert_services(conn, [h for h in hosts if h not in served], now)
        aggregates_of: dict[str, list[str]] = {}
        for aggregate in aggregate_store.of_hosts(conn, hosts):
            for member in aggregate.hosts:
                aggregates_of.setdefault(member, []).append(aggregate.uuid)
    # After the commit, as Nova's API mirrors after its own write.
    mirror_many(
        db,
        {
            values.provider_uuid: (aggregates_of.get(host, []), [])
            for host, values in written
            if aggregates_of.get(host)
        },
    )
    return refused


def show_host(db: Database, host: str) -> HostView:
    with db.read() as conn:
        nodes = store.nodes_of_host(conn, host)
        service = store.service(conn, host)
    if not nodes and service is None:
        raise host_not_found(host)
    return HostView(host, service, nodes)


def list_hosts(
    db: Database, *, marker: str | None, limit: int, provider_uuid: str | None = None
) -> list[HostView]:
    """A page of hosts by name, after `marker` (a host name)."""
    with db.read() as conn:
        names = store.host_names(conn, after=marker, limit=limit, provider_uuid=provider_uuid)
        nodes = store.nodes_of_hosts(conn, names)
        services = store.services_of_hosts(conn, names)
    by_host: dict[str, list[NodeRow]] = {name: [] for name in names}
    for node in nodes:
        by_host[node.host].append(node)
    return [
        HostView(name, services.get(name), sorted(by_host[name], key=lambda n: n.nodename))
        for name in names
    ]


def delete_host(db: Database, host: str) -> None:
    """Remove the host, its nodes and service, and its aggregate memberships
    (also in Placement). Refused while instances are on it, as Nova's service
    delete is."""
    with db.write() as conn:
        nodes = store.nodes_of_host(conn, host)
        service = store.service(conn, host)
        if not nodes and service is None:
            raise host_not_found(host)
        if instance_store.count_on_hosts(conn, [host]):
            raise Conflict(f"Compute host {host} is hosting instances; it cannot be deleted.")
        aggregates = aggregate_store.of_hosts(conn, [host])
        for aggregate in aggregates:
            aggregate_store.remove_host(conn, aggregate.id, host)
        store.delete_nodes(conn, [n.id for n in nodes])
        if service is not None:
            store.delete_service(conn, service.id)
    unmirror_host(db, [n.values.provider_uuid for n in nodes], [a.uuid for a in aggregates])


def update_service(db: Database, host: str, changes: Mapping[str, Any]) -> ServiceRow:
    """Enable or disable the host's service (with a reason), or force it down.

    `changes` may hold `disabled`, `disabled_reason` and `forced_down`; as in
    Nova, enabling clears the reason.
    """
    now = utcnow()
    with db.write() as conn:
        service = store.service(conn, host)
        if service is None:
            raise host_not_found(host)
        disabled = bool(changes.get("disabled", service.disabled))
        reason = changes.get("disabled_reason", service.disabled_reason) if disabled else None
        forced_down = bool(changes.get("forced_down", service.forced_down))
        store.update_service(
            conn,
            service.id,
            disabled=disabled,
            disabled_reason=reason,
            forced_down=forced_down,
            now=now,
        )
        updated = store.service(conn, host)
    assert updated is not None
    return updated


def heartbeat(db: Database, host: str) -> None:
    """The host's service reports in."""
    with db.write() as conn:
        if not store.record_heartbeat(conn, host, utcnow()):
            raise host_not_found(host)
