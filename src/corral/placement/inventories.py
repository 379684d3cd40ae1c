"""A resource provider's inventories: read, replace, and one class at a time.

Every write re-reads the provider inside its own transaction and replaces
the whole set through `store.inventories.replace_inventories`, which bumps
the generation by compare-and-swap; a single-class add, update or delete is
the current set with that one class changed. Messages are upstream's, since
clients and the conformance suite read them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import Connection

from corral.errors import BadRequest, ConcurrentUpdate, Conflict, NotFound
from corral.placement.providers import require as require_provider
from corral.store import inventories as store
from corral.store import resource_classes
from corral.store.capacity import capacity
from corral.store.database import Database
from corral.store.inventories import Inventory, ResourceClassNotFound
from corral.store.providers import ProviderRow

GENERATION_CONFLICT = "resource provider generation conflict"


@dataclass(frozen=True, slots=True)
class ProviderInventories:
    generation: int
    inventories: dict[str, Inventory]

    @property
    def last_modified(self) -> datetime.datetime | None:
        times = [i.updated_at or i.created_at for i in self.inventories.values()]
        present = [t for t in times if t is not None]
        return max(present) if present else None


def capacity_error(
    class_name: str, provider_uuid: str, inventory: Inventory, *, reserved_can_be_total: bool
) -> BadRequest | None:
    """Upstream's inventory check (handlers/inventory._validate_inventory_capacity)
    on the one capacity rule (corral.store.capacity): before 1.26 the capacity must
    be above 0, from 1.26 it may be 0 (a provider whose whole inventory is reserved)."""
    room = capacity(inventory.total, inventory.reserved, inventory.allocation_ratio)
    if reserved_can_be_total:
        if room >= 0:
            return None
        why = "The reserved value is greater than total."
    else:
        if room > 0:
            return None
        why = "The reserved value is greater than or equal to total."
    return BadRequest(
        f"Invalid inventory for '{class_name}' on resource provider '{provider_uuid}'. {why}"
    )


def _check_capacity(
    provider_uuid: str, wanted: dict[str, Inventory], action: str, reserved_can_be_total: bool
) -> None:
    for name, inventory in wanted.items():
        problem = capacity_error(
            name, provider_uuid, inventory, reserved_can_be_total=reserved_can_be_total
        )
        if problem is not None:
            raise BadRequest(
                f"Unable to {action} inventory for resource provider {provider_uuid}: "
                f"{problem.detail}"
            )


def _require_for_read(conn: Connection, uuid: str) -> ProviderRow:
    """The provider, or upstream's 404 of the two inventory GETs (which repeats
    the reason after its own sentence)."""
    try:
        return require_provider(conn, uuid)
    except NotFound as exc:
        raise NotFound(f"No resource provider with uuid {uuid} found : {exc.detail}") from None


def _require_class(conn: Connection, class_name: str) -> None:
    if not resource_classes.ids_for_names(conn, [class_name]):
        raise ResourceClassNotFound(class_name)


def list_inventories(db: Database, uuid: str) -> tuple[ProviderRow, ProviderInventories]:
    with db.read() as conn:
        provider = _require_for_read(conn, uuid)
        current = store.get_inventories(conn, provider.id)
    return provider, ProviderInventories(provider.generation, current)


def get_inventory(db: Database, uuid: str, class_name: str) -> tuple[int, Inventory]:
    _, result = list_inventories(db, uuid)
    inventory = result.inventories.get(class_name)
    if inventory is None:
        raise NotFound(f"No inventory of class {class_name} for {uuid}")
    return result.generation, inventory


def _replace(
    conn: Connection, provider: ProviderRow, wanted: dict[str, Inventory]
) -> ProviderInventories:
    generation = store.replace_inventories(
        conn, provider.id, provider.uuid, provider.generation, wanted
    )
    return ProviderInventories(generation, store.get_inventories(conn, provider.id))


def set_inventories(
    db: Database,
    uuid: str,
    generation: int,
    wanted: dict[str, Inventory],
    *,
    reserved_can_be_total: bool,
) -> ProviderInventories:
    """PUT /resource_providers/{uuid}/inventories: the whole set."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        if generation != provider.generation:
            raise ConcurrentUpdate(GENERATION_CONFLICT)
        _check_capacity(uuid, wanted, "update", reserved_can_be_total)
        try:
            return _replace(conn, provider, wanted)
        except ResourceClassNotFound as exc:
            raise BadRequest(
                f"Unknown resource class in inventory for resource provider {uuid}: {exc.detail}"
            ) from None
        except ConcurrentUpdate as exc:
            raise ConcurrentUpdate(f"update conflict: {exc.detail}") from None
        except Conflict as exc:  # InventoryInUse keeps its own code
            exc.detail = f"update conflict: {exc.detail}"
            raise


def create_inventory(
    db: Database, uuid: str, class_name: str, inventory: Inventory, *, reserved_can_be_total: bool
) -> ProviderInventories:
    """POST /resource_providers/{uuid}/inventories: one class the provider lacks."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        _check_capacity(uuid, {class_name: inventory}, "create", reserved_can_be_total)
        current = store.get_inventories(conn, provider.id)
        if class_name in current:
            raise ConcurrentUpdate(
                f"Update conflict: Inventory for {class_name} on resource provider "
                f"{uuid} already exists."
            )
        try:
            return _replace(conn, provider, {**current, class_name: inventory})
        except ResourceClassNotFound as exc:
            raise BadRequest(
                f"Unable to create inventory for resource provider {uuid}: {exc.detail}"
            ) from None
        except ConcurrentUpdate as exc:
            raise ConcurrentUpdate(f"Update conflict: {exc.detail}") from None


def update_inventory(
    db: Database,
    uuid: str,
    class_name: str,
    generation: int,
    inventory: Inventory,
    *,
    reserved_can_be_total: bool,
) -> ProviderInventories:
    """PUT /resource_providers/{uuid}/inventories/{class}: one class it has."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        if generation != provider.generation:
            raise ConcurrentUpdate(GENERATION_CONFLICT)
        _check_capacity(uuid, {class_name: inventory}, "update", reserved_can_be_total)
        # An unknown class is upstream's plain 404, a known one the provider
        # lacks its 400.
        _require_class(conn, class_name)
        current = store.get_inventories(conn, provider.id)
        if class_name not in current:
            raise BadRequest(
                "No inventory record with resource class for resource provider "
                f"{uuid}: No inventory of class {class_name} found."
            )
        try:
            return _replace(conn, provider, {**current, class_name: inventory})
        except ConcurrentUpdate as exc:
            raise ConcurrentUpdate(f"update conflict: {exc.detail}") from None


def delete_inventory(db: Database, uuid: str, class_name: str) -> None:
    """DELETE /resource_providers/{uuid}/inventories/{class}."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        prefix = f"No inventory of class {class_name} found for delete"
        try:
            _require_class(conn, class_name)
        except ResourceClassNotFound as exc:
            raise NotFound(f"{prefix}: {exc.detail}") from None
        current = store.get_inventories(conn, provider.id)
        if class_name not in current:
            raise NotFound(f"{prefix}: {prefix}")
        del current[class_name]
        try:
            _replace(conn, provider, current)
        except Conflict as exc:
            exc.detail = f"Unable to delete inventory of class {class_name}: {exc.detail}"
            exc.code = ConcurrentUpdate.code
            raise


def delete_inventories(db: Database, uuid: str) -> None:
    """DELETE /resource_providers/{uuid}/inventories (1.5+): all of it."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        try:
            _replace(conn, provider, {})
        except ConcurrentUpdate:
            raise ConcurrentUpdate(
                f"Unable to delete inventory for resource provider {uuid} because the "
                "inventory was updated by another process. Please retry your request."
            ) from None
