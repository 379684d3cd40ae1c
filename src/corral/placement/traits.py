"""Traits: the custom ones users create, and the set each provider carries.

Replacing a provider's traits bumps its generation only when the set really
changes, as upstream does; the caller's generation is still checked first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from corral.errors import BadRequest, ConcurrentUpdate, Conflict, NotFound
from corral.placement.providers import require as require_provider
from corral.store import traits as store
from corral.store.database import Database, bump_generation, record_changes, utcnow
from corral.store.providers import ProviderRow
from corral.store.traits import TraitRow

CUSTOM_PREFIX = "CUSTOM_"

GENERATION_CHANGED = (
    "Resource provider's generation already changed. Please update the generation and try again."
)
CONCURRENT_UPDATE = (
    "Another thread concurrently updated the resource provider data. Please retry your update"
)


def trait_not_found(name: str) -> NotFound:
    return NotFound(f"No such trait(s): {name}.")


def list_traits(
    db: Database,
    *,
    names: list[str] | None = None,
    prefix: str | None = None,
    associated: bool | None = None,
) -> list[TraitRow]:
    with db.read() as conn:
        return store.list_traits(conn, names=names, prefix=prefix, associated=associated)


def get_trait(db: Database, name: str) -> TraitRow:
    with db.read() as conn:
        trait = store.get_by_name(conn, name)
    if trait is None:
        raise trait_not_found(name)
    return trait


def ensure_trait(db: Database, name: str) -> tuple[TraitRow, bool]:
    """The trait, created if missing; the flag says whether this call created it."""
    with db.write() as conn:
        trait = store.get_by_name(conn, name)
        if trait is not None:
            return trait, False
        created = store.create(conn, name, utcnow())
        if created is not None:
            return created, True
        # Someone else created it a moment ago; upstream then has no timestamp.
        raced = store.get_by_name(conn, name)
        assert raced is not None
        return TraitRow(id=raced.id, name=raced.name, created_at=None, updated_at=None), False


def delete_trait(db: Database, name: str) -> None:
    """Delete a custom trait that no provider carries."""
    with db.write() as conn:
        trait = store.get_by_name(conn, name)
        if trait is None:
            raise trait_not_found(name)
        if not name.startswith(CUSTOM_PREFIX):
            raise BadRequest(f"Cannot delete standard trait {name}.")
        if store.in_use(conn, trait.id):
            raise Conflict(f"The trait {name} is in use by a resource provider.")
        if not store.delete(conn, trait.id):
            raise trait_not_found(name)


@dataclass(frozen=True)
class ProviderTraits:
    provider: ProviderRow
    generation: int
    traits: list[TraitRow]


def provider_traits(db: Database, uuid: str) -> ProviderTraits:
    with db.read() as conn:
        provider = require_provider(conn, uuid)
        traits = store.provider_traits(conn, provider.id)
    return ProviderTraits(provider, provider.generation, traits)


def set_provider_traits(
    db: Database, uuid: str, names: list[str], generation: int
) -> ProviderTraits:
    """Replace the provider's traits, if the caller saw its current generation."""
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        if provider.generation != generation:
            raise ConcurrentUpdate(GENERATION_CHANGED)
        wanted = store.list_traits(conn, names=names)
        known = {t.name for t in wanted}
        missing = [n for n in dict.fromkeys(names) if n not in known]
        if missing:
            raise BadRequest(f"No such trait {', '.join(missing)}")
        new_generation = _replace(conn, provider, {t.id for t in wanted}, GENERATION_CHANGED)
    return ProviderTraits(provider, new_generation, wanted)


def clear_provider_traits(db: Database, uuid: str) -> None:
    with db.write() as conn:
        provider = require_provider(conn, uuid)
        _replace(conn, provider, set(), CONCURRENT_UPDATE)


def _replace(conn: Connection, provider: ProviderRow, want: set[int], conflict_text: str) -> int:
    """Apply the change set; bump first so that the row lock orders concurrent writers."""
    have = store.provider_trait_ids(conn, provider.id)
    if have == want:
        return provider.generation
    try:
        generation = bump_generation(conn, provider.id, provider.generation)
    except ConcurrentUpdate:
        raise ConcurrentUpdate(conflict_text) from None
    now = utcnow()
    store.remove_from_provider(conn, provider.id, have - want)
    store.add_to_provider(conn, provider.id, want - have, now)
    record_changes(conn, [provider.id], "traits")
    return generation
