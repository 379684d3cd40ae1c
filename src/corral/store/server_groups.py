"""Server groups: a policy, its rules and the instances that are members."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from corral.store import host_changes, tables
from corral.store.chunks import in_chunks

_groups = tables.server_groups
_members = tables.server_group_members


@dataclass(frozen=True, slots=True)
class ServerGroupRow:
    id: int
    uuid: str
    name: str
    project_id: str
    user_id: str
    policy: str
    rules: dict[str, Any]
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    members: list[str] = field(default_factory=list)  # instance uuids, in joining order


def _select(
    conn: Connection, where: Any = None, *, limit: int | None = None, offset: int = 0
) -> list[ServerGroupRow]:
    query = select(_groups).order_by(_groups.c.id)
    if where is not None:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = [
        ServerGroupRow(
            r.id,
            r.uuid,
            r.name,
            r.project_id,
            r.user_id,
            r.policy,
            dict(r.rules or {}),
            r.created_at,
            r.updated_at,
        )
        for r in conn.execute(query)
    ]
    by_id = {r.id: r for r in rows}
    for chunk in in_chunks(by_id):
        members = conn.execute(
            select(_members.c.group_id, _members.c.instance_uuid)
            .where(_members.c.group_id.in_(chunk))
            .order_by(_members.c.id)
        )
        for m in members:
            by_id[m.group_id].members.append(m.instance_uuid)
    return rows


def get_by_uuid(conn: Connection, uuid: str) -> ServerGroupRow | None:
    found = _select(conn, _groups.c.uuid == uuid)
    return found[0] if found else None


def by_ids(conn: Connection, ids: Collection[int] | None = None) -> list[ServerGroupRow]:
    """Every group (None) or those of these ids that still exist, by id."""
    if ids is None:
        return _select(conn)
    out: list[ServerGroupRow] = []
    for chunk in in_chunks(ids):
        out.extend(_select(conn, _groups.c.id.in_(chunk)))
    return sorted(out, key=lambda r: r.id)


def page(
    conn: Connection, *, project_id: str | None, limit: int, offset: int
) -> list[ServerGroupRow]:
    where = None if project_id is None else _groups.c.project_id == project_id
    return _select(conn, where, limit=limit, offset=offset)


def insert(
    conn: Connection,
    *,
    uuid: str,
    name: str,
    project_id: str,
    user_id: str,
    policy: str,
    rules: Mapping[str, Any],
    now: datetime.datetime,
) -> int:
    new_id = int(
        conn.execute(
            _groups.insert()
            .values(
                uuid=uuid,
                name=name,
                project_id=project_id,
                user_id=user_id,
                policy=policy,
                rules=dict(rules),
                created_at=now,
                updated_at=now,
            )
            .returning(_groups.c.id)
        ).scalar_one()
    )
    host_changes.record(conn, host_changes.SERVER_GROUPS, [new_id])
    return new_id


def delete(conn: Connection, group_id: int) -> None:
    conn.execute(_members.delete().where(_members.c.group_id == group_id))
    conn.execute(_groups.delete().where(_groups.c.id == group_id))
    host_changes.record(conn, host_changes.SERVER_GROUPS, [group_id])


def groups_of_instances(conn: Connection, instance_uuids: Collection[str]) -> dict[str, int]:
    """instance uuid -> the id of the group it is a member of."""
    out: dict[str, int] = {}
    for chunk in in_chunks(instance_uuids):
        query = select(_members.c.instance_uuid, _members.c.group_id).where(
            _members.c.instance_uuid.in_(chunk)
        )
        out.update((r[0], int(r[1])) for r in conn.execute(query))
    return out


def add_members(
    conn: Connection, group_id: int, instance_uuids: Iterable[str], now: datetime.datetime
) -> list[str]:
    """Add the instances to the group; return those that were not members yet."""
    added: list[str] = []
    for instance_uuid in dict.fromkeys(instance_uuids):
        try:
            with conn.begin_nested():
                conn.execute(
                    _members.insert().values(
                        group_id=group_id, instance_uuid=instance_uuid, created_at=now
                    )
                )
            added.append(instance_uuid)
        except IntegrityError:
            continue
    if added:
        host_changes.record(conn, host_changes.SERVER_GROUPS, [group_id])
    return added


def remove_member(conn: Connection, instance_uuid: str) -> list[int]:
    """Take the instance out of every group; return the ids of the groups changed."""
    groups = [
        int(r[0])
        for r in conn.execute(
            select(_members.c.group_id).where(_members.c.instance_uuid == instance_uuid)
        )
    ]
    if groups:
        conn.execute(_members.delete().where(_members.c.instance_uuid == instance_uuid))
        host_changes.record(conn, host_changes.SERVER_GROUPS, groups)
    return groups
