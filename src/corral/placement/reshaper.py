"""The reshaper: move inventory and the allocations on it between providers at once.

As upstream Placement (`objects/reshaper.py`), in one transaction:

1. every provider named in `inventories` must exist and be at the
   generation the caller names;
2. each of them first gets an interim inventory: what it has now, with the
   classes the request names replaced (nothing is removed yet, since
   inventory with allocations cannot go, and allocations cannot be made
   on inventory that is not there yet);
3. the allocations of every consumer named are replaced, with the claim
   checks of any allocation write, against the interim inventory;
4. each provider gets exactly the inventory asked for; a class still in use
   cannot be removed.

Capacity is thus checked once both parts are in place: the interim
inventory of every class that remains is its final inventory. Each step
bumps the generations it touches, as upstream, so clients see the same
generations after a reshape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from corral.errors import BadRequest, ConcurrentUpdate
from corral.placement import allocations, consumers
from corral.placement.allocations import ConsumerWrite, WriteSettings
from corral.placement.consumers import CONCURRENT_DATA
from corral.store import inventories as inventory_store
from corral.store import providers as provider_store
from corral.store.database import Database
from corral.store.inventories import Inventory
from corral.store.providers import ProviderRow

NOT_FOUND_CODE = "placement.resource_provider.not_found"


@dataclass(frozen=True, slots=True)
class ProviderInventory:
    """What one provider's inventory should be after the reshape."""

    generation: int
    inventories: dict[str, Inventory]


class ReshapeConflict(ConcurrentUpdate):
    """A generation moved while the reshape was being written."""


def reshape(
    db: Database,
    inventories: dict[str, ProviderInventory],
    writes: Sequence[ConsumerWrite],
    settings: WriteSettings,
) -> None:
    owners = consumers.resolve_owners(db, [w.consumer for w in writes], settings.defaults)

    def work(conn: Connection) -> None:
        providers = _checked_providers(conn, inventories)
        plan = allocations.plan_in(conn, writes)
        # Each step compares and swaps against the generation the previous
        # one left, starting from the one the caller named.
        generations = {uuid: p.generation for uuid, p in providers.items()}
        for uuid, wanted in inventories.items():
            # An empty inventory would replace nothing here (upstream skips it).
            if wanted.inventories:
                provider = providers[uuid]
                interim = inventory_store.get_inventories(conn, provider.id)
                interim.update(wanted.inventories)
                generations[uuid] = _replace(conn, provider, generations[uuid], interim)
        allocations.apply_in(conn, plan, owners)
        claimed = {c.provider_uuid for c in plan.claims}
        for uuid, wanted in inventories.items():
            expected = generations[uuid] + (1 if uuid in claimed else 0)
            _replace(conn, providers[uuid], expected, wanted.inventories)

    allocations.run_write(db, settings.retries, work)


def _checked_providers(
    conn: Connection, inventories: dict[str, ProviderInventory]
) -> dict[str, ProviderRow]:
    """The providers whose inventory is reshaped, each at the generation named."""
    found = provider_store.get_by_uuids(conn, inventories)
    for uuid, wanted in inventories.items():
        provider = found.get(uuid)
        if provider is None:
            raise BadRequest(
                f"Resource provider {uuid} in inventories not found: "
                f"No resource provider with uuid {uuid} found",
                code=NOT_FOUND_CODE,
            )
        if provider.generation != wanted.generation:
            raise ConcurrentUpdate(
                f"resource provider generation conflict for provider {uuid}: "
                f"actual: {provider.generation}, given: {wanted.generation}"
            )
    return found


def _replace(
    conn: Connection, provider: ProviderRow, expected: int, wanted: dict[str, Inventory]
) -> int:
    try:
        return inventory_store.replace_inventories(
            conn, provider.id, provider.uuid, expected, wanted
        )
    except ConcurrentUpdate:
        raise ReshapeConflict(CONCURRENT_DATA) from None
