"""Allocations: reading them, and replacing the allocations of consumers.

A write replaces every allocation of each consumer it names, in one
transaction, and never hands out capacity twice, on SQLite and PostgreSQL:

1. the generation of every provider the write touches is read and bumped
   (compare-and-swap, in provider id order so writers cannot deadlock on
   each other). From then on this transaction holds those provider rows,
   and any other write that could add usage there waits for it and then
   finds the generation moved;
2. only then usage and inventory are read, so they are the committed state
   that no one else can add to before this transaction ends;
3. the claim rules are checked (class in the inventory, min/max unit, step
   size, capacity) as upstream Placement checks them.

A write that loses the race in step 1 is redone from the start, up to
`[placement] allocation_conflict_retry_count` times, as upstream does.

Which providers are bumped follows upstream exactly, because clients see
generations: the providers named in the new allocations, and those a
consumer whose allocations are emptied held. Providers a consumer merely
moves away from lose usage only, so they need no bump; their change is
still recorded in the change log.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from corral.errors import BadRequest, ConcurrentUpdate, Conflict, NotFound
from corral.placement import consumers
from corral.placement.consumers import ConsumerSpec, Defaults, Owner
from corral.store import allocations as store
from corral.store import capacity, resource_classes
from corral.store import consumers as consumer_store
from corral.store import providers as provider_store
from corral.store.allocations import HeldAllocation, InventoryLimits, NewAllocation
from corral.store.consumers import ConsumerRow
from corral.store.database import Database, lock_and_bump_generation, record_changes, utcnow

CONCURRENT_PROVIDER = (
    "Another thread concurrently updated the resource provider data. Please retry your update"
)


class ResourceClassNotFound(NotFound):
    """A write names a resource class that does not exist (upstream: 400)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"No such resource class {name}.")


class InvalidInventory(Conflict):
    """A claim does not fit the inventory (upstream: 409)."""


class ProviderConflict(ConcurrentUpdate):
    """A provider's generation moved under the write, after every retry."""

    def __init__(self) -> None:
        super().__init__(CONCURRENT_PROVIDER)


def no_inventory(class_names: str, provider_uuids: str) -> InvalidInventory:
    return InvalidInventory(
        f"Inventory for '{class_names}' on resource provider '{provider_uuids}' invalid."
    )


def capacity_exceeded(class_name: str, provider_uuid: str) -> InvalidInventory:
    return InvalidInventory(
        f"Unable to create allocation for '{class_name}' on resource provider "
        f"'{provider_uuid}'. The requested amount would exceed the capacity."
    )


def constraints_violated(class_name: str, provider_uuid: str) -> InvalidInventory:
    return InvalidInventory(
        f"Unable to create allocation for '{class_name}' on resource provider "
        f"'{provider_uuid}'. The requested amount would violate inventory constraints."
    )


@dataclass(frozen=True, slots=True)
class ConsumerWrite:
    """The allocations one consumer should hold after the write.

    `allocations` is provider uuid -> resource class -> amount; empty means
    the consumer gives up everything it holds.
    """

    consumer: ConsumerSpec
    allocations: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class WriteSettings:
    retries: int
    defaults: Defaults


# --- reads -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderPart:
    generation: int
    resources: dict[str, int]


@dataclass(frozen=True, slots=True)
class ConsumerAllocations:
    """GET /allocations/{consumer_uuid}; owner fields are None when it has none."""

    allocations: dict[str, ProviderPart]
    project_id: str | None
    user_id: str | None
    generation: int | None
    consumer_type: str | None
    last_modified: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class ConsumerPart:
    generation: int
    resources: dict[str, int]


@dataclass(frozen=True, slots=True)
class ProviderAllocations:
    """GET /resource_providers/{uuid}/allocations."""

    generation: int
    allocations: dict[str, ConsumerPart]
    last_modified: datetime.datetime | None


def _newest(
    times: Sequence[tuple[datetime.datetime | None, datetime.datetime | None]],
) -> datetime.datetime | None:
    # Allocations are never updated, so this is the newest created_at.
    best: datetime.datetime | None = None
    for updated, created in times:
        when = updated or created
        if when is not None and (best is None or when > best):
            best = when
    return best


def consumer_allocations(db: Database, consumer_uuid: str) -> ConsumerAllocations:
    with db.read() as conn:
        rows = store.for_consumer(conn, consumer_uuid)
        if not rows:
            return ConsumerAllocations({}, None, None, None, None, None)
        names = resource_classes.names_for_ids(conn, {r.resource_class_id for r in rows})
        consumer = consumer_store.get_by_uuids(conn, [consumer_uuid])[consumer_uuid]
        type_name = consumers.UNKNOWN_TYPE
        if consumer.consumer_type_id is not None:
            found = consumer_store.consumer_type_names(conn, [consumer.consumer_type_id])
            type_name = found[consumer.consumer_type_id]
    parts: dict[str, ProviderPart] = {}
    for r in rows:
        part = parts.setdefault(r.provider_uuid, ProviderPart(r.provider_generation, {}))
        part.resources[names[r.resource_class_id]] = r.used
    return ConsumerAllocations(
        allocations=parts,
        project_id=consumer.project_external_id,
        user_id=consumer.user_external_id,
        generation=consumer.generation,
        consumer_type=type_name,
        last_modified=_newest([(r.updated_at, r.created_at) for r in rows]),
    )


def provider_allocations(db: Database, provider_uuid: str) -> ProviderAllocations:
    with db.read() as conn:
        provider = provider_store.get_by_uuid(conn, provider_uuid)
        if provider is None:
            raise NotFound(
                f"Resource provider '{provider_uuid}' not found: "
                f"No resource provider with uuid {provider_uuid} found"
            )
        rows = store.for_provider(conn, provider.id)
        names = resource_classes.names_for_ids(conn, {r.resource_class_id for r in rows})
    parts: dict[str, ConsumerPart] = {}
    for r in rows:
        part = parts.setdefault(r.consumer_uuid, ConsumerPart(r.consumer_generation, {}))
        part.resources[names[r.resource_class_id]] = r.used
    return ProviderAllocations(
        generation=provider.generation,
        allocations=parts,
        last_modified=_newest([(r.updated_at, r.created_at) for r in rows]),
    )


# --- writes ----------------------------------------------------------------


def delete_allocations(db: Database, consumer_uuid: str) -> None:
    """Remove everything the consumer holds, and the consumer.

    As upstream, no generation (provider or consumer) is checked or bumped:
    giving resources back cannot over-commit anything.
    """
    with db.write() as conn:
        held = store.held_by(conn, [consumer_uuid])
        if not held:
            raise NotFound(f"No allocations for consumer '{consumer_uuid}'")
        store.delete_for_consumers(conn, [consumer_uuid])
        consumer_store.delete_if_no_allocations(conn, [consumer_uuid])
        record_changes(conn, {h.provider_id for h in held}, "usage")


def set_allocations(db: Database, writes: Sequence[ConsumerWrite], settings: WriteSettings) -> None:
    """Replace the allocations of every consumer in `writes`, all or nothing."""
    owners = consumers.resolve_owners(db, [w.consumer for w in writes], settings.defaults)
    run_write(db, settings.retries, lambda conn: replace_in(conn, writes, owners))


T = TypeVar("T")


def run_write(db: Database, retries: int, work: Callable[[Connection], T]) -> T:
    """Run `work` in a write transaction, redoing it when it lost a race.

    Upstream makes `allocation_conflict_retry_count` attempts in all; at
    least one is always made here, so a count of 0 means "do not retry".
    """
    for _ in range(max(1, retries)):
        try:
            with db.write() as conn:
                return work(conn)
        except (_LostRace, consumers.ConsumerRace):
            continue
        except DBAPIError as exc:
            if not store.is_transient(exc):
                raise
            continue
    raise ProviderConflict()


class _LostRace(Exception):
    """A provider generation moved between reading and bumping it."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One (consumer, provider, class) amount; 0 gives the class back."""

    consumer_uuid: str
    provider_id: int
    provider_uuid: str
    class_id: int
    class_name: str
    used: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A write checked against what it names, ready to be applied."""

    writes: Sequence[ConsumerWrite]
    existing: dict[str, ConsumerRow]
    held: list[HeldAllocation]
    claims: list[Claim]


def plan_in(conn: Connection, writes: Sequence[ConsumerWrite]) -> Plan:
    """Check the consumers' generations and resolve providers and classes.

    Raises ConcurrentUpdate (a consumer generation mismatch), BadRequest (a
    provider that does not exist) or ResourceClassNotFound, in that order.
    """
    uuids = [w.consumer.uuid for w in writes]
    existing = consumer_store.get_by_uuids(conn, uuids)
    for w in writes:
        consumers.check_generation(w.consumer, existing.get(w.consumer.uuid))
    held = store.held_by(conn, uuids)
    return Plan(writes, existing, held, _claims(conn, writes, held))


def apply_in(conn: Connection, plan: Plan, owners: dict[str, Owner]) -> set[int]:
    """Claim what `plan` asks for, inside the caller's write transaction.

    Returns the ids of the providers whose usage changed. Raises
    `_LostRace` (the caller redoes the transaction), ConsumerConflict or
    InvalidInventory.
    """
    claims = plan.claims
    uuids = [w.consumer.uuid for w in plan.writes]
    provider_ids = {c.provider_id for c in claims}
    _bump_providers(conn, provider_ids)

    class_ids = {c.class_id for c in claims}
    before = store.usage(conn, provider_ids, class_ids)
    if plan.held:
        store.delete_for_consumers(conn, uuids)
        after = store.usage(conn, provider_ids, class_ids)
    else:
        # New consumers (every scheduling claim): nothing of theirs to take away.
        after = before
    limits = store.inventory_limits(conn, provider_ids, class_ids)
    check_claims(claims, limits, after, before)

    store.insert(
        conn,
        [
            NewAllocation(c.consumer_uuid, c.provider_id, c.class_id, c.used)
            for c in claims
            if c.used > 0
        ],
        utcnow(),
    )
    claiming = {c.consumer_uuid for c in claims}
    for w in plan.writes:
        uuid = w.consumer.uuid
        consumers.record_write(
            conn, w.consumer, plan.existing.get(uuid), owners[uuid], claims=uuid in claiming
        )
    holding = {c.consumer_uuid for c in claims if c.used > 0}
    consumer_store.delete_if_no_allocations(conn, claiming - holding)
    changed = provider_ids | {h.provider_id for h in plan.held}
    record_changes(conn, changed, "usage")
    return changed


def replace_in(
    conn: Connection, writes: Sequence[ConsumerWrite], owners: dict[str, Owner]
) -> set[int]:
    """The whole claim inside the caller's write transaction (see the module doc)."""
    return apply_in(conn, plan_in(conn, writes), owners)


def _claims(
    conn: Connection, writes: Sequence[ConsumerWrite], held: list[HeldAllocation]
) -> list[Claim]:
    """The claims of the write in request order, names resolved to rows.

    Errors come in upstream's order: a missing provider first, then an
    unknown resource class.
    """
    wanted = [p for w in writes for p in w.allocations]
    providers = provider_store.get_by_uuids(conn, wanted)
    for uuid in wanted:
        if uuid not in providers:
            raise BadRequest(f"Allocation for resource provider '{uuid}' that does not exist.")
    names = [rc for w in writes for res in w.allocations.values() for rc in res]
    class_ids = resource_classes.ids_for_names(conn, names)
    for name in names:
        if name not in class_ids:
            raise ResourceClassNotFound(name)

    emptied = {w.consumer.uuid for w in writes if not w.allocations}
    gone = [h for h in held if h.consumer_uuid in emptied]
    gone_providers = provider_store.get_by_ids(conn, {h.provider_id for h in gone})
    gone_names = resource_classes.names_for_ids(conn, {h.resource_class_id for h in gone})
    held_by_consumer: dict[str, list[HeldAllocation]] = defaultdict(list)
    for h in gone:
        held_by_consumer[h.consumer_uuid].append(h)

    claims: list[Claim] = []
    for w in writes:
        uuid = w.consumer.uuid
        if not w.allocations:
            claims.extend(
                Claim(
                    uuid,
                    h.provider_id,
                    gone_providers[h.provider_id].uuid,
                    h.resource_class_id,
                    gone_names[h.resource_class_id],
                    0,
                )
                for h in held_by_consumer[uuid]
            )
            continue
        for provider_uuid, resources in w.allocations.items():
            provider = providers[provider_uuid]
            claims.extend(
                Claim(uuid, provider.id, provider.uuid, class_ids[name], name, used)
                for name, used in resources.items()
            )
    return claims


def _bump_providers(conn: Connection, provider_ids: set[int]) -> None:
    """Lock and bump each provider, in id order (so two claims cannot deadlock),
    before usage is read: see `lock_and_bump_generation`."""
    for provider_id in sorted(provider_ids):
        if not lock_and_bump_generation(conn, provider_id):
            # Deleted since it was looked up: start again, and report it then.
            raise _LostRace()


def check_claims(
    claims: Sequence[Claim],
    limits: dict[tuple[int, int], InventoryLimits],
    used_now: dict[tuple[int, int], int],
    used_before: dict[tuple[int, int], int],
) -> None:
    """Upstream's capacity check, over usage without the consumers' old claims.

    `used_now` is the usage once the consumers' old allocations are gone;
    `used_before` the usage before. An over-capacity result is refused unless
    it leaves the provider no fuller than it was (an inventory may have
    shrunk below its usage), as upstream allows.
    """
    class_ids = {c.class_id for c in claims}
    with_inventory = {pid for (pid, rc) in limits if rc in class_ids}
    missing = list(
        dict.fromkeys(c.provider_uuid for c in claims if c.provider_id not in with_inventory)
    )
    if missing:
        names = ", ".join(dict.fromkeys(c.class_name for c in claims))
        raise no_inventory(names, ", ".join(missing))

    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for c in claims:
        key = (c.provider_id, c.class_id)
        wanted[key] += c.used
        if c.used == 0:
            continue
        inv = limits.get(key)
        if inv is None:
            raise no_inventory(c.class_name, c.provider_uuid)
        if not capacity.fits_units(c.used, inv.min_unit, inv.max_unit, inv.step_size):
            raise constraints_violated(c.class_name, c.provider_uuid)
        base = used_now.get(key, 0)
        cap = capacity.capacity(inv.total, inv.reserved, inv.allocation_ratio)
        if capacity.fits(c.used, base, cap) and capacity.fits(wanted[key], base, cap):
            continue
        before = used_before.get(key)
        if before is not None and base + wanted[key] <= before:
            continue
        raise capacity_exceeded(c.class_name, c.provider_uuid)
