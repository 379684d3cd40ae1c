"""Server groups: Nova's policies and rules, members added as instances land."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from corral.errors import BadRequest, Conflict, NotFound
from corral.store import server_groups as store
from corral.store.database import Database, utcnow
from corral.store.server_groups import ServerGroupRow

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
# Nova: only anti-affinity takes rules, and max_server_per_host is the only one.
RULED_POLICY = "anti-affinity"
RULES = ("max_server_per_host",)


def group_not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance group {uuid} could not be found.")


def create_group(
    db: Database,
    *,
    name: str,
    policy: str,
    rules: Mapping[str, Any],
    project_id: str,
    user_id: str,
) -> ServerGroupRow:
    if policy not in POLICIES:
        raise BadRequest(f"Invalid policy {policy!r}; valid: {', '.join(POLICIES)}")
    if rules and policy != RULED_POLICY:
        raise BadRequest(f"Only {RULED_POLICY} policy supports rules.")
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise BadRequest(f"Unknown server group rules: {unknown}")
    group_uuid = str(uuidlib.uuid4())
    with db.write() as conn:
        store.insert(
            conn,
            uuid=group_uuid,
            name=name,
            project_id=project_id,
            user_id=user_id,
            policy=policy,
            rules=dict(rules),
            now=utcnow(),
        )
        created = store.get_by_uuid(conn, group_uuid)
    assert created is not None
    return created


def get_group(db: Database, uuid: str) -> ServerGroupRow:
    with db.read() as conn:
        group = store.get_by_uuid(conn, uuid)
    if group is None:
        raise group_not_found(uuid)
    return group


def list_groups(
    db: Database, *, project_id: str | None, limit: int, offset: int
) -> list[ServerGroupRow]:
    with db.read() as conn:
        return store.page(conn, project_id=project_id, limit=limit, offset=offset)


def delete_group(db: Database, uuid: str) -> None:
    with db.write() as conn:
        group = store.get_by_uuid(conn, uuid)
        if group is None:
            raise group_not_found(uuid)
        store.delete(conn, group.id)


def add_members_in(conn: Connection, group_uuid: str, instance_uuids: Sequence[str]) -> None:
    """Make the instances members of the group, inside the caller's transaction.

    As in Nova, an instance is a member of one group at most: one that is in
    another group already is a conflict.
    """
    group = store.get_by_uuid(conn, group_uuid)
    if group is None:
        raise group_not_found(group_uuid)
    elsewhere = {
        inst: gid
        for inst, gid in store.groups_of_instances(conn, instance_uuids).items()
        if gid != group.id
    }
    if elsewhere:
        raise Conflict(f"Instances {sorted(elsewhere)} are members of another server group.")
    store.add_members(conn, group.id, instance_uuids, utcnow())
