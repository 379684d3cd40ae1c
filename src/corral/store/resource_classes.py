"""Resource class names and ids.

Standard classes have fixed ids (their position in os-resource-classes), so
they are resolved without a query; custom classes are looked up each time,
because another process may delete and re-create one.
"""

from __future__ import annotations

from collections.abc import Iterable

import os_resource_classes
from sqlalchemy import Connection, select

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
