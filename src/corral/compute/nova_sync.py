"""The diff-and-write half of the Nova feed (corral.compute.nova_feed): given
what Nova holds and what corral's compute tables hold, write only the
difference, through the same store functions the host API uses (so every
write reaches the change log and the host caches follow it).

What each function mirrors in Nova, read by nova-scheduler's HostManager:
- sync_aggregates: nova.objects.AggregateList.get_all (name, metadata, hosts),
  as HostManager._init_aggregates / update_aggregates keep them.
- sync_hosts: nova.objects.ComputeNodeList.get_all and
  nova.objects.ServiceList.get_by_binary('nova-compute') (disabled,
  disabled_reason, forced_down, the heartbeat nova.servicegroup.drivers.db
  judges liveness by), as HostManager._get_computes_for_cells reads them.
- remove_hosts: nodes and hosts Nova deleted (soft-deleted rows no longer
  read), whole hosts through corral.compute.hosts.delete_host.
- sync_instances: nova.objects.InstanceList.get_by_filters per host, as
  HostManager._get_instances_by_host / _get_instance_info; corral's own
  writes younger than `grace` seconds win (see corral.compute.nova_feed).
- sync_groups: nova.objects.InstanceGroupList (policy, rules, members), as
  nova.scheduler.utils.setup_instance_group reads them.

Each returns the number of write transactions it committed (0: nothing differed).
Hosts in `frozen` (skipped rows, unreadable cells) are left as corral holds them.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.compute.aggregates import unmirror_host
from corral.compute.hosts import delete_host, register_nodes
from corral.compute.nova_rows import MAX_NAME, BadRow, group_rules
from corral.errors import CorralError
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store import server_groups as group_store
from corral.store.compute_hosts import NodeRow, NodeValues, ServiceRow, ServiceState
from corral.store.database import Database, utcnow
from corral.store.instances import InstanceRow, InstanceValues
from corral.store.nova_db.reader import NovaAggregate, NovaGroup, NovaInstance, NovaService
from corral.store.server_groups import ServerGroupRow

# The feed's logger: its lines read as before the split, under one name.
LOG = logging.getLogger("corral.compute.nova_feed")

# Compute nodes written per transaction (corral.compute.hosts.register_nodes):
# few transactions, none holding the write lock long.
NODES_PER_TRANSACTION = 1000


@dataclass(frozen=True)
class Desired:
    """What Nova holds, as corral's records."""

    nodes: dict[tuple[str, str], NodeValues]
    services: dict[str, NovaService]
    instances: dict[str, NovaInstance]
    provider_of: dict[tuple[str, str], str]
    flavors: dict[str, dict[str, Any]]  # instance uuid -> its current flavor (instance_extra)
    images: dict[str, dict[str, Any]]  # instance uuid -> its image properties (system metadata)


# --- aggregates ----------------------------------------------------------------


def sync_aggregates(db: Database, nova: list[NovaAggregate]) -> int:
    # Not mirrored to Placement here: Nova's API mirrors its own aggregate
    # changes into Placement (which corral serves) when it makes them.
    with db.read() as conn:
        held = {a.uuid: a for a in aggregate_store.by_ids(conn)}
    wanted = {a.uuid: a for a in nova}
    gone = [a for u, a in held.items() if u not in wanted]
    new = [a for u, a in wanted.items() if u not in held]
    changed = [
        (held[u], a)
        for u, a in wanted.items()
        if u in held
        and (held[u].name, held[u].metadata, held[u].hosts) != (a.name, a.metadata, list(a.hosts))
    ]
    if not (gone or new or changed):
        return 0
    now = utcnow()
    with db.write() as conn:
        for row in gone:
            aggregate_store.delete(conn, row.id)
        for row, agg in changed:
            if row.name != agg.name:
                aggregate_store.rename(conn, row.id, agg.name, now)
            meta: dict[str, str | None] = {k: None for k in row.metadata if k not in agg.metadata}
            meta.update({k: v for k, v in agg.metadata.items() if row.metadata.get(k) != v})
            aggregate_store.update_metadata(conn, row.id, meta, now)
            aggregate_store.add_hosts(conn, row.id, set(agg.hosts) - set(row.hosts), now)
            aggregate_store.remove_hosts(conn, row.id, set(row.hosts) - set(agg.hosts))
        for agg in new:
            new_id = aggregate_store.insert(conn, agg.uuid, agg.name, agg.metadata, now)
            aggregate_store.add_hosts(conn, new_id, agg.hosts, now)
    return 1


# --- hosts and services --------------------------------------------------------


def sync_hosts(
    db: Database,
    desired: Desired,
    held_nodes: list[NodeRow],
    held_services: Mapping[str, ServiceRow],
    frozen: set[str],
) -> int:
    """Nodes in transactions of NODES_PER_TRANSACTION (register_nodes), then
    every service change and heartbeat in one transaction."""
    writes = 0
    held = {(n.host, n.nodename): n for n in held_nodes}
    changed = [
        (host, nodename, values)
        for (host, nodename), values in sorted(desired.nodes.items())
        if (row := held.get((host, nodename))) is None or row.values != values
    ]
    for start in range(0, len(changed), NODES_PER_TRANSACTION):
        refused = register_nodes(
            db, changed[start : start + NODES_PER_TRANSACTION], hardware_checked=True
        )
        for (host, nodename), exc in sorted(refused.items()):
            LOG.warning("Nova feed: cannot record node %s of host %s: %s", nodename, host, exc)
        writes += 1
    states: dict[str, ServiceState] = {}
    heartbeats: dict[str, datetime.datetime] = {}
    hosts = {h for h, _n in desired.nodes}
    for host in sorted(hosts - frozen):
        nova = desired.services[host]
        mine = held_services.get(host)
        state = ServiceState(
            disabled=nova.disabled,
            disabled_reason=nova.disabled_reason if nova.disabled else None,
            forced_down=nova.forced_down,
        )
        if mine is None or _state(mine) != state:
            states[host] = state
        if nova.last_heartbeat is not None and (
            mine is None or mine.last_heartbeat != nova.last_heartbeat
        ):
            heartbeats[host] = nova.last_heartbeat
    if states or heartbeats:
        now = utcnow()
        with db.write() as conn:
            # Services of new hosts were created by register_nodes just now.
            current = dict(held_services)
            new = [h for h in states if h not in current]
            current.update(host_store.services_of_hosts(conn, new))
            host_store.update_services(
                conn,
                {
                    current[h].id: state
                    for h, state in states.items()
                    if h in current and _state(current[h]) != state
                },
                now,
            )
            host_store.record_heartbeats(conn, heartbeats)
        writes += 1
    return writes


def _state(service: ServiceRow) -> ServiceState:
    return ServiceState(service.disabled, service.disabled_reason, service.forced_down)


def remove_hosts(
    db: Database, desired: Desired, held_nodes: list[NodeRow], frozen: set[str]
) -> int:
    """Nodes Nova no longer has; whole hosts through delete_host (which
    refuses while instances are recorded on them)."""
    by_host: dict[str, list[NodeRow]] = {}
    for node in held_nodes:
        by_host.setdefault(node.host, []).append(node)
    wanted_hosts = {h for h, _n in desired.nodes}
    writes = 0
    for host, nodes in sorted(by_host.items()):
        if host in frozen:
            continue
        if host not in wanted_hosts:
            try:
                delete_host(db, host)
                writes += 1
            except CorralError as exc:
                LOG.warning("Nova feed: host %s is gone from Nova but kept: %s", host, exc)
            continue
        gone = [n for n in nodes if (host, n.nodename) not in desired.nodes]
        if gone:
            with db.write() as conn:
                aggregates = [a.uuid for a in aggregate_store.of_hosts(conn, [host])]
                host_store.delete_nodes(conn, [n.id for n in gone])
            unmirror_host(db, [n.values.provider_uuid for n in gone], aggregates)
            writes += 1
    return writes


# --- instances -----------------------------------------------------------------


def sync_instances(
    db: Database,
    desired: Desired,
    held: Mapping[str, InstanceRow],
    frozen: set[str],
    grace: float,
) -> int:
    now = utcnow()
    cutoff = now - datetime.timedelta(seconds=grace)
    inserts: list[tuple[str, InstanceValues]] = []
    updates: list[tuple[int, InstanceValues]] = []
    deletes: list[int] = []
    for instance_uuid, nova in desired.instances.items():
        if nova.host in frozen:
            continue
        mine = held.get(instance_uuid)
        node = nova.node or ""
        flavor = desired.flavors.get(instance_uuid)
        image = desired.images.get(instance_uuid)
        values = InstanceValues(
            host=nova.host,
            node=node,
            provider_uuid=desired.provider_of.get((nova.host, node)),
            project_id=nova.project_id,
            user_id=nova.user_id,
            # The casts' flavor and image properties stay when Nova's rows
            # add nothing (no readable flavor, no image_* system metadata).
            flavor=flavor if flavor is not None else (dict(mine.values.flavor) if mine else {}),
            image_properties=(
                image if image is not None else (dict(mine.values.image_properties) if mine else {})
            ),
        )
        if mine is None:
            inserts.append((instance_uuid, values))
        elif mine.values != values and not _recent(mine, cutoff):
            updates.append((mine.id, values))
    for instance_uuid, mine in held.items():
        if instance_uuid in desired.instances or mine.values.host in frozen:
            continue
        if not _recent(mine, cutoff):
            deletes.append(mine.id)
    if not (inserts or updates or deletes):
        return 0
    with db.write() as conn:
        instance_store.delete_many(conn, deletes)
        instance_store.update_many(conn, updates, now)
        instance_store.insert_many(conn, inserts, now)
    return 1


# --- server groups -------------------------------------------------------------


def sync_groups(db: Database, nova: list[NovaGroup]) -> int:
    with db.read() as conn:
        held = {g.uuid: g for g in group_store.by_ids(conn)}
    wanted: dict[str, tuple[NovaGroup, dict[str, Any]]] = {}
    for group in nova:
        try:
            wanted[group.uuid] = (group, group_rules(group))
        except BadRow as exc:
            LOG.warning("Nova feed: skipping server group %s: %s", group.uuid, exc)
            if group.uuid in held:
                wanted[group.uuid] = (group, held[group.uuid].rules)  # keep it as it was
    plan = [
        (held.get(u), g, rules)
        for u, (g, rules) in wanted.items()
        if not _same_group(held.get(u), g, rules)
    ]
    gone = [g for u, g in held.items() if u not in wanted]
    if not (plan or gone):
        return 0
    now = utcnow()
    with db.write() as conn:
        for row in gone:
            group_store.delete(conn, row.id)
        for held_row, group, rules in plan:
            if held_row is not None and _same_identity(held_row, group, rules):
                group_id = held_row.id
                kept = set(held_row.members)
                for member in kept - set(group.members):
                    group_store.remove_member(conn, member)
            else:
                # Nova never changes a group's policy; a different one is a new group.
                if held_row is not None:
                    group_store.delete(conn, held_row.id)
                kept = set()
                group_id = group_store.insert(
                    conn,
                    uuid=group.uuid,
                    name=group.name[:MAX_NAME],
                    project_id=group.project_id,
                    user_id=group.user_id,
                    policy=group.policy or "",
                    rules=rules,
                    now=now,
                )
            # An instance is in one group at most: out of any other first.
            for member in group.members:
                if member not in kept:
                    group_store.remove_member(conn, member)
            group_store.add_members(conn, group_id, group.members, now)
    return 1


def _recent(row: InstanceRow, cutoff: datetime.datetime) -> bool:
    last = row.updated_at or row.created_at
    return last is not None and last > cutoff


def _same_identity(row: ServerGroupRow, group: NovaGroup, rules: Mapping[str, Any]) -> bool:
    return (row.name, row.project_id, row.user_id, row.policy, row.rules) == (
        group.name[:MAX_NAME],
        group.project_id,
        group.user_id,
        group.policy,
        dict(rules),
    )


def _same_group(row: ServerGroupRow | None, group: NovaGroup, rules: Mapping[str, Any]) -> bool:
    return (
        row is not None
        and _same_identity(row, group, rules)
        # As sets: corral's claims may have added members in another order.
        and set(row.members) == set(group.members)
    )
