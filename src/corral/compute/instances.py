"""Instances placed on compute nodes: recorded when they land, removed with
their Placement allocations when they go (deleted, or a failed build)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from corral.compute.server_groups import add_members_in
from corral.errors import NotFound
from corral.store import allocations as allocation_store
from corral.store import consumers as consumer_store
from corral.store import instances as store
from corral.store import server_groups as group_store
from corral.store.database import Database, record_changes, utcnow
from corral.store.instances import InstanceRow, InstanceValues


@dataclass(frozen=True)
class PlacedInstance:
    """An instance and the compute node it landed on."""

    uuid: str
    host: str
    node: str
    project_id: str
    user_id: str
    provider_uuid: str | None = None
    flavor: dict[str, Any] = field(default_factory=dict)
    image_properties: dict[str, Any] = field(default_factory=dict)

    def values(self) -> InstanceValues:
        return InstanceValues(
            host=self.host,
            node=self.node,
            provider_uuid=self.provider_uuid,
            project_id=self.project_id,
            user_id=self.user_id,
            flavor=dict(self.flavor),
            image_properties=dict(self.image_properties),
        )


def instance_not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance {uuid} could not be found.")


def record_placed_in(
    conn: Connection, placed: Sequence[PlacedInstance], group_uuid: str | None = None
) -> None:
    """Record where the instances are (a new one is added, a known one moved)
    and, with `group_uuid`, make them members of that server group; inside the
    caller's transaction (the engine's claim, say)."""
    now = utcnow()
    for instance in placed:
        existing = store.get_by_uuid(conn, instance.uuid)
        if existing is None:
            store.insert(conn, instance.uuid, instance.values(), now)
        elif existing.values != instance.values():
            store.update(conn, existing.id, instance.values(), now)
    if group_uuid is not None:
        add_members_in(conn, group_uuid, [i.uuid for i in placed])


def record_new_in(
    conn: Connection, placed: Sequence[PlacedInstance], groups: dict[str, str]
) -> None:
    """The scheduler's record of where it placed instances, in few
    statements: those not recorded yet are inserted together; a recorded one
    (a move: resize, migration, evacuation) is left where it is, as Nova's
    HostManager keeps an instance on its host until the compute reports the
    move (update_instance_info, or the Nova database feed). `groups` maps
    instance uuid to the server group it joins (a member stays one)."""
    now = utcnow()
    known = store.existing_uuids(conn, [i.uuid for i in placed])
    store.insert_many(conn, [(i.uuid, i.values()) for i in placed if i.uuid not in known], now)
    members: dict[str, list[str]] = {}
    for instance_uuid, group_uuid in groups.items():
        members.setdefault(group_uuid, []).append(instance_uuid)
    for group_uuid, instance_uuids in members.items():
        add_members_in(conn, group_uuid, instance_uuids)


def record_placed(
    db: Database, placed: Sequence[PlacedInstance], group_uuid: str | None = None
) -> None:
    """`record_placed_in`, in a transaction of its own."""
    with db.write() as conn:
        record_placed_in(conn, placed, group_uuid)


def get_instance(db: Database, uuid: str) -> InstanceRow:
    with db.read() as conn:
        row = store.get_by_uuid(conn, uuid)
    if row is None:
        raise instance_not_found(uuid)
    return row


def list_instances(
    db: Database,
    *,
    host: str | None,
    project_id: str | None,
    marker: str | None,
    limit: int,
) -> list[InstanceRow]:
    """A page of instances in the order they were recorded, after `marker` (a uuid)."""
    with db.read() as conn:
        after_id = None
        if marker is not None:
            found = store.get_by_uuid(conn, marker)
            if found is None:
                raise NotFound(f"Marker {marker} could not be found.")
            after_id = found.id
        return store.page(conn, host=host, project_id=project_id, after_id=after_id, limit=limit)


def delete_instance(db: Database, uuid: str) -> None:
    """Forget the instance, its group membership and its Placement allocations,
    all in one transaction: what deleting a server or a failed build does.

    An instance that was never recorded but still holds allocations (its build
    failed before it landed) has them removed; NotFound when there is neither.
    """
    with db.write() as conn:
        row = store.get_by_uuid(conn, uuid)
        held = allocation_store.held_by(conn, [uuid])
        if row is None and not held:
            raise instance_not_found(uuid)
        if held:
            allocation_store.delete_for_consumers(conn, [uuid])
            consumer_store.delete_if_no_allocations(conn, [uuid])
            # Giving resources back bumps no generation (as Placement's DELETE).
            record_changes(conn, {h.provider_id for h in held}, "usage")
        group_store.remove_member(conn, uuid)
        if row is not None:
            store.delete(conn, row.id)
