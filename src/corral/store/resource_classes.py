"""Resource class names and ids.

Standard classes have fixed ids (their position in os-resource-classes), so
they are resolved without a query; custom classes are looked up each time,
because another process may delete and re-create one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import os_resource_classes
from sqlalchemy import Connection, Row, func, insert, select, update

from corral.store import tables

STANDARD_IDS: dict[str, int] = {name: i for i, name in enumerate(os_resource_classes.STANDARDS)}
STANDARD_NAMES: dict[int, str] = {i: name for name, i in STANDARD_IDS.items()}

_rc = tables.resource_classes


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Name -> id for the classes that exist; unknown names are left out."""
    out: dict[str, int] = {}
    custom: list[str] = []
    for name in set(names):
        if name in STANDARD_IDS:
            out[name] = STANDARD_IDS[name]
        else:
            custom.append(name)
    if custom:
        rows = conn.execute(select(_rc.c.name, _rc.c.id).where(_rc.c.name.in_(custom)))
        out.update({r.name: r.id for r in rows})
    return out


def names_for_ids(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    custom: list[int] = []
    for rc_id in set(ids):
        if rc_id in STANDARD_NAMES:
            out[rc_id] = STANDARD_NAMES[rc_id]
        else:
            custom.append(rc_id)
    if custom:
        rows = conn.execute(select(_rc.c.id, _rc.c.name).where(_rc.c.id.in_(custom)))
        out.update({r.id: r.name for r in rows})
    return out


# --- the resource classes themselves (GET/POST/PUT/DELETE /resource_classes) ---

FIRST_CUSTOM_ID = 10000  # upstream numbers custom classes from here


@dataclass(frozen=True, slots=True)
class ResourceClassRow:
    id: int
    name: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


def _row(r: Row[Any]) -> ResourceClassRow:
    return ResourceClassRow(r.id, r.name, r.created_at, r.updated_at)


def list_all(conn: Connection) -> list[ResourceClassRow]:
    return [_row(r) for r in conn.execute(select(_rc).order_by(_rc.c.id))]


def get_by_name(conn: Connection, name: str) -> ResourceClassRow | None:
    row = conn.execute(select(_rc).where(_rc.c.name == name)).first()
    return None if row is None else _row(row)


def create(conn: Connection, name: str, now: datetime.datetime) -> ResourceClassRow:
    """Insert a custom class with the next free id; IntegrityError when the name
    (or, in a race with another writer, the id) is taken."""
    top = conn.execute(select(func.max(_rc.c.id))).scalar_one_or_none()
    next_id = max(FIRST_CUSTOM_ID, (top or 0) + 1)
    conn.execute(insert(_rc).values(id=next_id, name=name, created_at=now))
    return ResourceClassRow(next_id, name, now, None)


def rename(conn: Connection, rc_id: int, name: str, now: datetime.datetime) -> None:
    conn.execute(update(_rc).where(_rc.c.id == rc_id).values(name=name, updated_at=now))


def in_inventory(conn: Connection, rc_id: int) -> bool:
    inv = tables.inventories
    found = conn.execute(select(inv.c.id).where(inv.c.resource_class_id == rc_id).limit(1))
    return found.first() is not None


def providers_with_inventory(conn: Connection, rc_id: int) -> list[int]:
    """Ids of the providers that have inventory of the class."""
    inv = tables.inventories
    rows = conn.execute(
        select(inv.c.resource_provider_id)
        .where(inv.c.resource_class_id == rc_id)
        .order_by(inv.c.resource_provider_id)
    )
    return list(rows.scalars())


def delete(conn: Connection, rc_id: int) -> None:
    conn.execute(_rc.delete().where(_rc.c.id == rc_id))
