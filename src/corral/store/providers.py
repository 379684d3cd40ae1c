"""Resource provider rows: lookups every other store module needs."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select
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
