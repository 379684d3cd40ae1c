"""Inventory rows of a resource provider, and replacing them as one write.

`replace_inventories` follows upstream Placement's `_set_inventory`: classes
not named are deleted (refused while allocations use them), named ones are
added or updated (an update may leave a provider over capacity: that is
allowed, as upstream, and only new claims are refused), and the provider's
generation is bumped by compare-and-swap.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from corral.errors import InventoryInUse, NotFound
from corral.store import resource_classes, tables
from corral.store.database import bump_generation, record_changes, utcnow

_inv = tables.inventories
_allocs = tables.allocations

MAX_INT = 2_147_483_647


@dataclass(frozen=True, slots=True)
class Inventory:
    """One class of a provider's inventory; defaults are upstream's."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def fields(self) -> dict[str, int | float]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


class ResourceClassNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such resource class {name}.")


def get_inventories(conn: Connection, provider_id: int) -> dict[str, Inventory]:
    """The provider's inventory by resource class name."""
    rows = conn.execute(
        select(_inv).where(_inv.c.resource_provider_id == provider_id).order_by(_inv.c.id)
    ).all()
    names = resource_classes.names_for_ids(conn, {r.resource_class_id for r in rows})
    return {
        names[r.resource_class_id]: Inventory(
            total=r.total,
            reserved=r.reserved,
            min_unit=r.min_unit,
            max_unit=r.max_unit,
            step_size=r.step_size,
            allocation_ratio=float(r.allocation_ratio),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    }


def replace_inventories(
    conn: Connection,
    provider_id: int,
    provider_uuid: str,
    expected_generation: int,
    inventories: Mapping[str, Inventory],
) -> int:
    """Make the provider's inventory exactly `inventories`; return the new generation.

    Raises ResourceClassNotFound for an unknown class, InventoryInUse when a
    class to delete has allocations, and ConcurrentUpdate when the
    provider's generation is no longer `expected_generation`.
    """
    ids = resource_classes.ids_for_names(conn, inventories)
    for name in inventories:
        if name not in ids:
            raise ResourceClassNotFound(name)
    have = set(
        conn.execute(
            select(_inv.c.resource_class_id).where(_inv.c.resource_provider_id == provider_id)
        ).scalars()
    )
    wanted = {ids[name]: inv for name, inv in inventories.items()}
    gone = have - set(wanted)
    if gone:
        _check_unused(conn, provider_id, provider_uuid, gone)
        conn.execute(
            _inv.delete().where(
                _inv.c.resource_provider_id == provider_id, _inv.c.resource_class_id.in_(gone)
            )
        )
    now = utcnow()
    for rc_id, inv in wanted.items():
        if rc_id in have:
            conn.execute(
                _inv.update()
                .where(
                    _inv.c.resource_provider_id == provider_id, _inv.c.resource_class_id == rc_id
                )
                .values(**inv.fields(), updated_at=now)
            )
        else:
            conn.execute(
                _inv.insert().values(
                    resource_provider_id=provider_id,
                    resource_class_id=rc_id,
                    created_at=now,
                    **inv.fields(),
                )
            )
    new_generation = bump_generation(conn, provider_id, expected_generation)
    record_changes(conn, [provider_id], "inventory")
    return new_generation


def _check_unused(
    conn: Connection, provider_id: int, provider_uuid: str, class_ids: set[int]
) -> None:
    used = list(
        conn.execute(
            select(_allocs.c.resource_class_id)
            .where(
                _allocs.c.resource_provider_id == provider_id,
                _allocs.c.resource_class_id.in_(class_ids),
            )
            .group_by(_allocs.c.resource_class_id)
            .order_by(_allocs.c.resource_class_id)
        ).scalars()
    )
    if used:
        names = resource_classes.names_for_ids(conn, used)
        in_use = ", ".join(names[rc] for rc in used)
        raise InventoryInUse(
            f"Inventory for '{in_use}' on resource provider '{provider_uuid}' in use."
        )
