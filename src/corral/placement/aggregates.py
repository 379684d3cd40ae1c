"""Which aggregates a resource provider belongs to.

From microversion 1.19 a replacement names the generation the caller saw and
always bumps it; before that it does neither, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from corral.errors import ConcurrentUpdate
from corral.placement.providers import require as require_provider
from corral.placement.traits import CONCURRENT_UPDATE, GENERATION_CHANGED
from corral.store import aggregates as store
from corral.store import providers as provider_store
from corral.store.chunks import in_chunks
from corral.store.database import (
    Database,
    bump_generation,
    lock_and_bump_generations,
    record_changes,
    utcnow,
)
from corral.store.providers import ProviderRow


@dataclass(frozen=True)
class ProviderAggregates:
    provider: ProviderRow
    generation: int
    aggregates: list[str]


def provider_aggregates(db: Database, uuid: str) -> ProviderAggregates:
    with db.read() as conn:
        provider = require_provider(conn, uuid)
        aggs = list(store.provider_aggregates(conn, provider.id).values())
    return ProviderAggregates(provider, provider.generation, aggs)


def set_provider_aggregates(
    db: Database, uuid: str, aggregate_uuids: list[str], generation: int | None
) -> ProviderAggregates:
    """Replace the provider's aggregates (unknown uuids become new aggregates).

    With `generation` (1.19+), a stale generation is a conflict and the
    generation is bumped even when the set does not change.
    """
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        new_generation = provider.generation
        if generation is not None:
            if provider.generation != generation:
                raise ConcurrentUpdate(GENERATION_CHANGED)
            try:
                # First, so that the row lock orders concurrent writers.
                new_generation = bump_generation(conn, provider.id, generation)
            except ConcurrentUpdate:
                raise ConcurrentUpdate(f"Update conflict: {CONCURRENT_UPDATE}") from None
        have = store.provider_aggregates(conn, provider.id)
        wanted = set(aggregate_uuids)
        to_remove = [agg_id for agg_id, agg_uuid in have.items() if agg_uuid not in wanted]
        have_uuids = set(have.values())
        to_add = [u for u in dict.fromkeys(aggregate_uuids) if u not in have_uuids]
        if to_remove or to_add:
            now = utcnow()
            store.remove_from_provider(conn, provider.id, to_remove)
            ids = store.ensure(conn, to_add, now)
            store.add_to_provider(conn, provider.id, [ids[u] for u in to_add], now)
        if to_remove or to_add or generation is not None:
            record_changes(conn, [provider.id], "aggregates")
    return ProviderAggregates(provider, new_generation, list(aggregate_uuids))


def change_many(
    db: Database, changes: Mapping[str, tuple[Sequence[str], Sequence[str]]]
) -> set[str]:
    """Add and remove aggregates of many providers in one transaction:
    provider uuid -> (aggregate uuids to add, to remove). Returns the
    providers Placement does not know (left alone).

    What `set_provider_aggregates` does with the generation a caller just
    read, for each provider whose aggregates change: its generation is bumped
    (its row locked, in id order, before its aggregates are read again) and
    the change logged; a provider whose aggregates are already as asked is
    not touched.
    """
    if not changes:
        return set()
    with db.write() as conn:
        ids: dict[str, int] = {}
        for chunk in in_chunks(changes):
            ids.update(provider_store.ids_by_uuid(conn, chunk))
        unknown = set(changes) - set(ids)

        def needs(have: Mapping[int, Mapping[int, str]]) -> dict[int, tuple[list[str], list[int]]]:
            plan: dict[int, tuple[list[str], list[int]]] = {}
            for uuid, pid in ids.items():
                add, remove = changes[uuid]
                current = have.get(pid, {})
                gone = set(remove)
                to_remove = [agg_id for agg_id, agg in current.items() if agg in gone]
                held = set(current.values())
                to_add = [u for u in dict.fromkeys(add) if u not in held and u not in gone]
                if to_add or to_remove:
                    plan[pid] = (to_add, to_remove)
            return plan

        plan = needs(store.providers_aggregates(conn, ids.values()))
        if plan:
            locked = lock_and_bump_generations(conn, plan)
            # Read again under the row locks: a writer may have moved them meanwhile.
            plan = {
                pid: step
                for pid, step in needs(store.providers_aggregates(conn, locked)).items()
                if pid in locked
            }
            now = utcnow()
            agg_ids = store.ensure(conn, sorted({u for add, _r in plan.values() for u in add}), now)
            for pid, (_to_add, to_remove) in plan.items():
                if to_remove:
                    store.remove_from_provider(conn, pid, to_remove)
            store.add_links(
                conn, {pid: [agg_ids[u] for u in to_add] for pid, (to_add, _r) in plan.items()}, now
            )
            record_changes(conn, sorted(locked), "aggregates")
    return unknown
