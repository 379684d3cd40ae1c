"""Resource provider rows: lookups every other store module needs."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.orm import aliased

from corral.store import tables

_rp = tables.resource_providers
_parent = aliased(_rp, name="parent")
_root = aliased(_rp, name="root")


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: int
    uuid: str
    name: str
    generation: int
    parent_provider_id: int | None
    root_provider_id: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


def _provider_select():  # type: ignore[no-untyped-def]
    return (
        select(
            _rp.c.id,
            _rp.c.uuid,
            _rp.c.name,
            _rp.c.generation,
            _rp.c.parent_provider_id,
            _rp.c.root_provider_id,
            _parent.c.uuid.label("parent_provider_uuid"),
            _root.c.uuid.label("root_provider_uuid"),
            _rp.c.created_at,
            _rp.c.updated_at,
        )
        .select_from(_rp)
        .outerjoin(_parent, _parent.c.id == _rp.c.parent_provider_id)
        .outerjoin(_root, _root.c.id == _rp.c.root_provider_id)
    )


def _row(r) -> ProviderRow:  # type: ignore[no-untyped-def]
    return ProviderRow(
        id=r.id,
        uuid=r.uuid,
        name=r.name,
        generation=r.generation,
        parent_provider_id=r.parent_provider_id,
        root_provider_id=r.root_provider_id,
        parent_provider_uuid=r.parent_provider_uuid,
        root_provider_uuid=r.root_provider_uuid,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def get_by_uuid(conn: Connection, uuid: str) -> ProviderRow | None:
    row = conn.execute(_provider_select().where(_rp.c.uuid == uuid)).first()
    return _row(row) if row is not None else None


def ids_by_uuid(conn: Connection, uuids: Iterable[str]) -> dict[str, int]:
    """uuid -> id of the providers that exist (no joins, no timestamps)."""
    wanted = list(set(uuids))
    if not wanted:
        return {}
    return {r.uuid: r.id for r in conn.execute(_IDS_BY_UUID, {"uuids": wanted})}


# Built once: every claim round runs it.
_IDS_BY_UUID = select(_rp.c.uuid, _rp.c.id).where(
    _rp.c.uuid.in_(bindparam("uuids", expanding=True))
)


def get_by_uuids(conn: Connection, uuids: Iterable[str]) -> dict[str, ProviderRow]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = conn.execute(_provider_select().where(_rp.c.uuid.in_(wanted)))
    return {r.uuid: _row(r) for r in rows}


def get_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, ProviderRow]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(_provider_select().where(_rp.c.id.in_(wanted)))
    return {r.id: _row(r) for r in rows}


def ids_in_tree(conn: Connection, root_id: int) -> dict[int, int | None]:
    """Provider id -> parent id for every provider whose root is `root_id`."""
    rows = conn.execute(
        select(_rp.c.id, _rp.c.parent_provider_id).where(_rp.c.root_provider_id == root_id)
    )
    return {r.id: r.parent_provider_id for r in rows}


def subtree_ids(conn: Connection, provider: ProviderRow) -> set[int]:
    """The provider and all its descendants (walked in Python over its tree)."""
    children: dict[int, list[int]] = {}
    for pid, parent in ids_in_tree(conn, provider.root_provider_id).items():
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found = {provider.id}
    stack = [provider.id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def conflicting_fields(conn: Connection, uuid: str, name: str) -> list[str]:
    """Which of uuid and name an existing provider already uses ("uuid", "name")."""
    rows = conn.execute(
        select(_rp.c.uuid, _rp.c.name).where((_rp.c.uuid == uuid) | (_rp.c.name == name))
    ).all()
    out: list[str] = []
    if any(r.uuid == uuid for r in rows):
        out.append("uuid")
    if any(r.name == name for r in rows):
        out.append("name")
    return out


def name_taken(conn: Connection, name: str, *, exclude_id: int) -> bool:
    row = conn.execute(
        select(_rp.c.id).where(_rp.c.name == name, _rp.c.id != exclude_id).limit(1)
    ).first()
    return row is not None


def insert(
    conn: Connection,
    *,
    uuid: str,
    name: str,
    parent_id: int | None,
    root_id: int | None,
    now: datetime.datetime,
) -> int:
    """Insert a provider and return its id; a root provider becomes its own root."""
    new_id: int = conn.execute(
        _rp.insert()
        .values(
            uuid=uuid,
            name=name,
            generation=0,
            parent_provider_id=parent_id,
            root_provider_id=root_id,
            created_at=now,
        )
        .returning(_rp.c.id)
    ).scalar_one()
    if root_id is None:
        conn.execute(
            _rp.update().where(_rp.c.id == new_id).values(root_provider_id=new_id, updated_at=now)
        )
    return new_id


def update(
    conn: Connection,
    provider_id: int,
    *,
    name: str,
    parent_id: int | None,
    root_id: int,
    now: datetime.datetime,
) -> None:
    conn.execute(
        _rp.update()
        .where(_rp.c.id == provider_id)
        .values(name=name, parent_provider_id=parent_id, root_provider_id=root_id, updated_at=now)
    )


def set_root(
    conn: Connection, provider_ids: Iterable[int], root_id: int, now: datetime.datetime
) -> None:
    ids = list(provider_ids)
    if ids:
        conn.execute(
            _rp.update().where(_rp.c.id.in_(ids)).values(root_provider_id=root_id, updated_at=now)
        )


def has_children(conn: Connection, provider_id: int) -> bool:
    row = conn.execute(
        select(_rp.c.id).where(_rp.c.parent_provider_id == provider_id).limit(1)
    ).first()
    return row is not None


def has_allocations(conn: Connection, provider_id: int) -> bool:
    alloc = tables.allocations
    row = conn.execute(
        select(alloc.c.id).where(alloc.c.resource_provider_id == provider_id).limit(1)
    ).first()
    return row is not None


def delete(conn: Connection, provider_id: int) -> bool:
    """Delete the provider row and everything hanging off it but allocations.

    The caller checks for children and allocations first; returns False when
    the row was already gone.
    """
    for table in (
        tables.inventories,
        tables.resource_provider_aggregates,
        tables.resource_provider_traits,
    ):
        conn.execute(table.delete().where(table.c.resource_provider_id == provider_id))
    # A root refers to itself; clear that so the row can go under FK checks.
    conn.execute(
        _rp.update()
        .where(_rp.c.id == provider_id, _rp.c.root_provider_id == provider_id)
        .values(root_provider_id=None)
    )
    result = conn.execute(_rp.delete().where(_rp.c.id == provider_id))
    return result.rowcount == 1


def provider_select():  # type: ignore[no-untyped-def]
    """The SELECT of ProviderRow columns, for store modules that add filters."""
    return _provider_select()


def to_provider(r) -> ProviderRow:  # type: ignore[no-untyped-def]
    return _row(r)


# An arbitrary constant naming corral's "provider trees change" advisory lock.
_TREE_LOCK_KEY = 0x636F7272616C01


def lock_trees(conn: Connection) -> None:
    """Serialise changes of tree shape (moves, children added) until commit.

    Under READ COMMITTED two moves in one tree, or a child created under a
    provider being moved, could otherwise each read a root the other is
    changing and leave a stale root_provider_id. SQLite writers are already
    serialised by BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TREE_LOCK_KEY})
