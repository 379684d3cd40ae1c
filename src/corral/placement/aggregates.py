"""Which aggregates a resource provider belongs to.

From microversion 1.19 a replacement names the generation the caller saw and
always bumps it; before that it does neither, as upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.errors import ConcurrentUpdate
from corral.placement.providers import require as require_provider
from corral.placement.traits import CONCURRENT_UPDATE, GENERATION_CHANGED
from corral.store import aggregates as store
from corral.store.database import Database, bump_generation, record_changes, utcnow
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
