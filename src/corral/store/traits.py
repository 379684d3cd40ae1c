"""Traits and the traits set on each resource provider."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, exists, select
from sqlalchemy.exc import IntegrityError

from corral.store import tables

_t = tables.traits
_rpt = tables.resource_provider_traits


@dataclass(frozen=True, slots=True)
class TraitRow:
    id: int
    name: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


def _select():  # type: ignore[no-untyped-def]
    return select(_t.c.id, _t.c.name, _t.c.created_at, _t.c.updated_at)


def _row(r) -> TraitRow:  # type: ignore[no-untyped-def]
    return TraitRow(id=r.id, name=r.name, created_at=r.created_at, updated_at=r.updated_at)


def get_by_name(conn: Connection, name: str) -> TraitRow | None:
    row = conn.execute(_select().where(_t.c.name == name)).first()
    return _row(row) if row is not None else None


def list_traits(
    conn: Connection,
    *,
    names: Iterable[str] | None = None,
    prefix: str | None = None,
    associated: bool | None = None,
) -> list[TraitRow]:
    """Traits matching every given filter, ordered by name.

    `names` keeps only those names; `prefix` those starting with it;
    `associated` those set (True) or not set (False) on some provider.
    """
    query = _select()
    if names is not None:
        query = query.where(_t.c.name.in_(list(set(names))))
    if prefix is not None:
        query = query.where(_t.c.name.startswith(prefix, autoescape=True))
    if associated is not None:
        used = exists().where(_rpt.c.trait_id == _t.c.id)
        query = query.where(used if associated else ~used)
    return [_row(r) for r in conn.execute(query.order_by(_t.c.name))]


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Name -> id for the traits that exist; unknown names are left out."""
    wanted = list(set(names))
    if not wanted:
        return {}
    rows = conn.execute(select(_t.c.name, _t.c.id).where(_t.c.name.in_(wanted)))
    return {r.name: r.id for r in rows}


def create(conn: Connection, name: str, now: datetime.datetime) -> TraitRow | None:
    """Insert a trait; None when it already exists (also when a racer just made it)."""
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                _t.insert().values(name=name, created_at=now).returning(_t.c.id)
            ).scalar_one()
    except IntegrityError:
        return None
    return TraitRow(id=int(new_id), name=name, created_at=now, updated_at=None)


def in_use(conn: Connection, trait_id: int) -> bool:
    row = conn.execute(select(_rpt.c.trait_id).where(_rpt.c.trait_id == trait_id).limit(1))
    return row.first() is not None


def delete(conn: Connection, trait_id: int) -> bool:
    return conn.execute(_t.delete().where(_t.c.id == trait_id)).rowcount == 1


def provider_traits(conn: Connection, provider_id: int) -> list[TraitRow]:
    query = (
        _select()
        .select_from(_t.join(_rpt, _rpt.c.trait_id == _t.c.id))
        .where(_rpt.c.resource_provider_id == provider_id)
        .order_by(_t.c.name)
    )
    return [_row(r) for r in conn.execute(query)]


def provider_trait_ids(conn: Connection, provider_id: int) -> set[int]:
    rows = conn.execute(select(_rpt.c.trait_id).where(_rpt.c.resource_provider_id == provider_id))
    return {r.trait_id for r in rows}


def add_to_provider(
    conn: Connection, provider_id: int, trait_ids: Iterable[int], now: datetime.datetime
) -> None:
    rows = [
        {"resource_provider_id": provider_id, "trait_id": tid, "created_at": now}
        for tid in sorted(set(trait_ids))
    ]
    if rows:
        conn.execute(_rpt.insert(), rows)


def remove_from_provider(conn: Connection, provider_id: int, trait_ids: Iterable[int]) -> None:
    ids = list(set(trait_ids))
    if ids:
        conn.execute(
            _rpt.delete().where(
                _rpt.c.resource_provider_id == provider_id, _rpt.c.trait_id.in_(ids)
            )
        )
