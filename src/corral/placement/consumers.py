"""Consumers: who holds allocations, their owner, type and generation.

The rules are upstream Placement's (`handlers/util.py` `ensure_consumer` and
`update_consumers`):

- before microversion 1.8 a write names no project or user; the consumer is
  recorded under the configured "incomplete consumer" project and user;
- from 1.28 the caller names the consumer generation it saw, null for a
  consumer it believes new; a mismatch is a 409 concurrent_update;
- from 1.38 the caller names a consumer type; before, an existing consumer
  keeps its type and a new one has none ("unknown");
- a write that names another project, user or type moves the consumer to
  them, without a separate generation bump.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from corral.errors import ConcurrentUpdate
from corral.store import consumers as store
from corral.store.consumers import ConsumerRow
from corral.store.database import Database, utcnow

# Upstream's name for a consumer without a type.
UNKNOWN_TYPE = "unknown"

CONCURRENT_DATA = "Another thread concurrently updated the data. Please retry your update"


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """What a write says about one consumer."""

    uuid: str
    project_id: str | None = None
    user_id: str | None = None
    # Only checked when `check_generation` (microversion 1.28+).
    generation: int | None = None
    check_generation: bool = False
    consumer_type: str | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """Internal ids of the project, user and (1.38+) type a write names."""

    project_id: int
    user_id: int
    consumer_type_id: int | None


@dataclass(frozen=True, slots=True)
class Defaults:
    """The configured owner of consumers written before microversion 1.8."""

    project_id: str
    user_id: str


class ConsumerRace(Exception):
    """Another transaction created this consumer first; the write is redone."""


class ConsumerConflict(ConcurrentUpdate):
    """The consumer's generation moved after this transaction read it."""

    def __init__(self) -> None:
        super().__init__(CONCURRENT_DATA)


def resolve_owners(
    db: Database, specs: Iterable[ConsumerSpec], defaults: Defaults
) -> dict[str, Owner]:
    """Owner ids per consumer uuid, creating missing projects, users and types.

    They are created in their own short transaction, before the claim, as
    upstream does: they are never deleted, so a claim that fails later
    leaves only harmless rows, and the claim holds fewer locks.
    """
    specs = list(specs)
    names = [_names(spec, defaults) for spec in specs]
    wanted = _Names(
        projects={p for p, _, _ in names},
        users={u for _, u, _ in names},
        types={t for _, _, t in names if t is not None},
    )
    with db.read() as conn:
        ids = _find_all(conn, wanted)
    if ids is None:
        with db.write() as conn:
            ids = _ensure_all(conn, wanted)
    project_ids, user_ids, type_ids = ids
    return {
        spec.uuid: Owner(
            project_ids[project], user_ids[user], type_ids[ctype] if ctype is not None else None
        )
        for spec, (project, user, ctype) in zip(specs, names, strict=True)
    }


@dataclass(frozen=True, slots=True)
class _Names:
    projects: set[str]
    users: set[str]
    types: set[str]


_Ids = tuple[dict[str, int], dict[str, int], dict[str, int]]


def _names(spec: ConsumerSpec, defaults: Defaults) -> tuple[str, str, str | None]:
    if spec.project_id is None or spec.user_id is None:
        return defaults.project_id, defaults.user_id, spec.consumer_type
    return spec.project_id, spec.user_id, spec.consumer_type


def _find_all(conn: Connection, wanted: _Names) -> _Ids | None:
    """The ids of every name, or None when any is missing."""
    out: _Ids = ({}, {}, {})
    finders = (store.find_project, store.find_user, store.find_consumer_type)
    for names, found, find in zip(
        (wanted.projects, wanted.users, wanted.types), out, finders, strict=True
    ):
        for name in names:
            row_id = find(conn, name)
            if row_id is None:
                return None
            found[name] = row_id
    return out


def _ensure_all(conn: Connection, wanted: _Names) -> _Ids:
    now = utcnow()
    return (
        {p: store.ensure_project(conn, p, now) for p in wanted.projects},
        {u: store.ensure_user(conn, u, now) for u in wanted.users},
        {t: store.ensure_consumer_type(conn, t, now) for t in wanted.types},
    )


def check_generation(spec: ConsumerSpec, existing: ConsumerRow | None) -> None:
    """The 1.28+ consumer generation check, with upstream's texts."""
    if not spec.check_generation:
        return
    if existing is not None:
        if existing.generation != spec.generation:
            raise ConcurrentUpdate(
                "consumer generation conflict - "
                f"expected {existing.generation} but got {_show(spec.generation)}"
            )
    elif spec.generation is not None:
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected null but got {spec.generation}"
        )


def _show(generation: int | None) -> str:
    # Upstream formats the Python value.
    return "None" if generation is None else str(generation)


def record_write(
    conn: Connection,
    spec: ConsumerSpec,
    existing: ConsumerRow | None,
    owner: Owner,
    *,
    claims: bool,
) -> None:
    """Create the consumer, or move it to the owner named, after a write.

    `claims` says whether the write claimed or gave back anything for this
    consumer. Only then is its generation bumped (a new consumer starts at
    0 and is bumped to 1), as upstream: a write that empties a consumer
    holding nothing leaves its generation alone, and leaves a new one
    behind at generation 0.

    Raises ConsumerRace when a concurrent writer created the consumer
    first, and ConsumerConflict when one changed it since it was read in
    this transaction.
    """
    now = utcnow()
    if existing is None:
        created = store.insert(
            conn,
            uuid=spec.uuid,
            project_id=owner.project_id,
            user_id=owner.user_id,
            consumer_type_id=owner.consumer_type_id,
            generation=1 if claims else 0,
            now=now,
        )
        if created is None:
            raise ConsumerRace(spec.uuid)
        return
    type_id = owner.consumer_type_id
    if type_id is None:
        type_id = existing.consumer_type_id
    unchanged = (owner.project_id, owner.user_id, type_id) == (
        existing.project_id,
        existing.user_id,
        existing.consumer_type_id,
    )
    if unchanged and not claims:
        return
    if not store.update(
        conn,
        existing.id,
        existing.generation,
        project_id=owner.project_id,
        user_id=owner.user_id,
        consumer_type_id=type_id,
        bump=claims,
        now=now,
    ):
        raise ConsumerConflict()
