"""Claims of many new consumers in one transaction, each accepted or refused alone.

The scheduler decides a round of requests at once and writes their claims
together: one transaction, a few statements in all instead of a dozen per
claim. The guarantee is the one of `allocations.replace_in`: every provider
named is locked (generation bumped, in id order) before usage and inventory
are read, so the check runs against the latest committed state and no one
else can add to it before this transaction ends. The claims are then checked
in order, each against the usage plus the claims accepted before it: a claim
that does not fit is refused and takes nothing, the others still land.

Only consumers that hold nothing yet take this path; a consumer that exists
is refused with ConsumerExists, and its caller writes it the one-by-one way
(consumer generations, moving allocations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from corral.errors import BadRequest, Conflict
from corral.placement.allocations import Claim, ConsumerWrite, ResourceClassNotFound, check_claims
from corral.placement.consumers import ConsumerRace, Owner
from corral.store import allocations as store
from corral.store import consumers as consumer_store
from corral.store import providers as provider_store
from corral.store import resource_classes
from corral.store.allocations import InventoryLimits, NewAllocation
from corral.store.consumers import NewConsumer
from corral.store.database import lock_and_bump_generations, record_changes, utcnow


class ConsumerExists(Conflict):
    """The consumer exists already: its claim needs the one-by-one write."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"Consumer {uuid} exists; it is not a new consumer.")


@dataclass(slots=True)
class BatchOutcome:
    """Which consumers' claims landed, and why the others did not."""

    accepted: list[str] = field(default_factory=list)
    refused: dict[str, Exception] = field(default_factory=dict)


def claim_each_in(
    conn: Connection, writes: Sequence[ConsumerWrite], owners: dict[str, Owner]
) -> BatchOutcome:
    """Write each new consumer's allocations that fit, in the caller's transaction.

    Raises ConsumerRace when another transaction created one of the
    consumers meanwhile (`allocations.run_write` redoes the whole write,
    which then refuses that consumer as existing).
    """
    uuids = [w.consumer.uuid for w in writes]
    if len(set(uuids)) != len(uuids):
        raise ValueError("a batch of claims names a consumer twice")
    outcome = BatchOutcome()
    existing = consumer_store.existing_uuids(conn, uuids)
    todo: list[ConsumerWrite] = []
    for w in writes:
        uuid = w.consumer.uuid
        if uuid in existing:
            outcome.refused[uuid] = ConsumerExists(uuid)
        elif not w.allocations:
            outcome.refused[uuid] = BadRequest(f"Consumer {uuid}: nothing to claim.")
        else:
            todo.append(w)

    providers = provider_store.ids_by_uuid(conn, {p for w in todo for p in w.allocations})
    class_ids = resource_classes.ids_for_names(
        conn, {rc for w in todo for res in w.allocations.values() for rc in res}
    )
    claims_of: dict[str, list[Claim]] = {}
    for w in todo:
        uuid = w.consumer.uuid
        try:
            claims_of[uuid] = _claims(w, providers, class_ids)
        except (BadRequest, ResourceClassNotFound) as exc:
            outcome.refused[uuid] = exc
    if not claims_of:
        return outcome

    wanted_ids = {c.provider_id for claims in claims_of.values() for c in claims}
    locked = lock_and_bump_generations(conn, wanted_ids)
    all_classes = {c.class_id for claims in claims_of.values() for c in claims}
    used = store.usage(conn, locked, all_classes)
    limits_of: dict[int, dict[tuple[int, int], InventoryLimits]] = defaultdict(dict)
    for key, limit in store.inventory_limits(conn, locked, all_classes).items():
        limits_of[key[0]][key] = limit
    new_allocations: list[NewAllocation] = []
    new_consumers: list[NewConsumer] = []
    touched: set[int] = set()
    for uuid, claims in claims_of.items():
        gone = [c.provider_uuid for c in claims if c.provider_id not in locked]
        if gone:
            outcome.refused[uuid] = _no_provider(gone[0])
            continue
        now_used = {(c.provider_id, c.class_id): used.get((c.provider_id, c.class_id), 0)
                    for c in claims}  # fmt: skip
        limits: dict[tuple[int, int], InventoryLimits] = {}
        for provider_id in {c.provider_id for c in claims}:
            limits.update(limits_of[provider_id])
        try:
            check_claims(claims, limits, now_used, now_used)
        except Conflict as exc:
            outcome.refused[uuid] = exc
            continue
        for c in claims:
            key = (c.provider_id, c.class_id)
            used[key] = used.get(key, 0) + c.used
            touched.add(c.provider_id)
        new_allocations.extend(
            NewAllocation(uuid, c.provider_id, c.class_id, c.used) for c in claims if c.used > 0
        )
        owner = owners[uuid]
        new_consumers.append(
            NewConsumer(uuid, owner.project_id, owner.user_id, owner.consumer_type_id, 1)
        )
        outcome.accepted.append(uuid)
    now = utcnow()
    if not consumer_store.insert_many(conn, new_consumers, now):
        raise ConsumerRace(", ".join(outcome.accepted))
    store.insert(conn, new_allocations, now)
    record_changes(conn, touched, "usage")
    return outcome


def _claims(
    write: ConsumerWrite,
    providers: dict[str, int],
    class_ids: dict[str, int],
) -> list[Claim]:
    claims = []
    uuid = write.consumer.uuid
    for provider_uuid, resources in write.allocations.items():
        provider_id = providers.get(provider_uuid)
        if provider_id is None:
            raise _no_provider(provider_uuid)
        for name, amount in resources.items():
            if name not in class_ids:
                raise ResourceClassNotFound(name)
            claims.append(Claim(uuid, provider_id, provider_uuid, class_ids[name], name, amount))
    return claims


def _no_provider(uuid: str) -> BadRequest:
    return BadRequest(f"Allocation for resource provider '{uuid}' that does not exist.")
