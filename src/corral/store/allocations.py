"""Allocation rows: reads for the API and the statements a claim is made of.

Allocations are only ever inserted and deleted, never updated: replacing a
consumer's allocations deletes its rows and inserts new ones, as upstream.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import DBAPIError

from corral.store import tables

_allocs = tables.allocations
_rp = tables.resource_providers
_inv = tables.inventories
_consumers = tables.consumers


@dataclass(frozen=True, slots=True)
class ConsumerAllocation:
    """One row of GET /allocations/{consumer_uuid}."""

    provider_uuid: str
    provider_generation: int
    resource_class_id: int
    used: int
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class ProviderAllocation:
    """One row of GET /resource_providers/{uuid}/allocations."""

    consumer_uuid: str
    consumer_generation: int
    resource_class_id: int
    used: int
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class HeldAllocation:
    """What a consumer holds now, for replacing or removing it."""

    consumer_uuid: str
    provider_id: int
    resource_class_id: int
    used: int


@dataclass(frozen=True, slots=True)
class NewAllocation:
    consumer_uuid: str
    provider_id: int
    resource_class_id: int
    used: int


@dataclass(frozen=True, slots=True)
class InventoryLimits:
    """The inventory fields a claim is checked against."""

    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float


def for_consumer(conn: Connection, consumer_uuid: str) -> list[ConsumerAllocation]:
    """The consumer's allocations with each provider's current generation.

    Joined to the consumer row like upstream, so allocations without a
    consumer record (there are none in corral) would not show.
    """
    query = (
        select(
            _rp.c.uuid.label("provider_uuid"),
            _rp.c.generation.label("provider_generation"),
            _allocs.c.resource_class_id,
            _allocs.c.used,
            _allocs.c.created_at,
            _allocs.c.updated_at,
        )
        .select_from(
            _allocs.join(_rp, _rp.c.id == _allocs.c.resource_provider_id).join(
                _consumers, _consumers.c.uuid == _allocs.c.consumer_id
            )
        )
        .where(_allocs.c.consumer_id == consumer_uuid)
        .order_by(_allocs.c.id)
    )
    return [
        ConsumerAllocation(
            provider_uuid=r.provider_uuid,
            provider_generation=r.provider_generation,
            resource_class_id=r.resource_class_id,
            used=r.used,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in conn.execute(query)
    ]


def for_provider(conn: Connection, provider_id: int) -> list[ProviderAllocation]:
    query = (
        select(
            _consumers.c.uuid.label("consumer_uuid"),
            _consumers.c.generation.label("consumer_generation"),
            _allocs.c.resource_class_id,
            _allocs.c.used,
            _allocs.c.created_at,
            _allocs.c.updated_at,
        )
        .select_from(_allocs.join(_consumers, _consumers.c.uuid == _allocs.c.consumer_id))
        .where(_allocs.c.resource_provider_id == provider_id)
        .order_by(_allocs.c.id)
    )
    return [
        ProviderAllocation(
            consumer_uuid=r.consumer_uuid,
            consumer_generation=r.consumer_generation,
            resource_class_id=r.resource_class_id,
            used=r.used,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in conn.execute(query)
    ]


def held_by(conn: Connection, consumer_uuids: Iterable[str]) -> list[HeldAllocation]:
    wanted = list(set(consumer_uuids))
    if not wanted:
        return []
    query = (
        select(
            _allocs.c.consumer_id,
            _allocs.c.resource_provider_id,
            _allocs.c.resource_class_id,
            _allocs.c.used,
        )
        .where(_allocs.c.consumer_id.in_(wanted))
        .order_by(_allocs.c.id)
    )
    return [
        HeldAllocation(
            consumer_uuid=r.consumer_id,
            provider_id=r.resource_provider_id,
            resource_class_id=r.resource_class_id,
            used=r.used,
        )
        for r in conn.execute(query)
    ]


def usage(
    conn: Connection, provider_ids: Iterable[int], class_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Sum of `used` per (provider, class), for the given providers and classes."""
    pids, rcids = list(set(provider_ids)), list(set(class_ids))
    if not pids or not rcids:
        return {}
    rows = conn.execute(_USAGE, {"pids": pids, "rcids": rcids})
    return {(r.resource_provider_id, r.resource_class_id): int(r.used) for r in rows}


def inventory_limits(
    conn: Connection, provider_ids: Iterable[int], class_ids: Iterable[int]
) -> dict[tuple[int, int], InventoryLimits]:
    pids, rcids = list(set(provider_ids)), list(set(class_ids))
    if not pids or not rcids:
        return {}
    return {
        (pid, rcid): InventoryLimits(
            total=total,
            reserved=reserved,
            min_unit=min_unit,
            max_unit=max_unit,
            step_size=step,
            allocation_ratio=float(ratio),
        )
        for pid, rcid, total, reserved, min_unit, max_unit, step, ratio in conn.execute(
            _INVENTORY_LIMITS, {"pids": pids, "rcids": rcids}
        )
    }


# Built once: every claim (and every claim round) runs them.
_USAGE = (
    select(
        _allocs.c.resource_provider_id,
        _allocs.c.resource_class_id,
        func.sum(_allocs.c.used).label("used"),
    )
    .where(
        _allocs.c.resource_provider_id.in_(bindparam("pids", expanding=True)),
        _allocs.c.resource_class_id.in_(bindparam("rcids", expanding=True)),
    )
    .group_by(_allocs.c.resource_provider_id, _allocs.c.resource_class_id)
)
_INVENTORY_LIMITS = select(*tables.INVENTORY_LIMIT_COLUMNS).where(
    _inv.c.resource_provider_id.in_(bindparam("pids", expanding=True)),
    _inv.c.resource_class_id.in_(bindparam("rcids", expanding=True)),
)


def delete_for_consumers(conn: Connection, consumer_uuids: Iterable[str]) -> None:
    wanted = list(set(consumer_uuids))
    if wanted:
        conn.execute(_allocs.delete().where(_allocs.c.consumer_id.in_(wanted)))


def insert(conn: Connection, rows: Sequence[NewAllocation], now: datetime.datetime) -> None:
    if not rows:
        return
    conn.execute(
        _allocs.insert(),
        [
            {
                "resource_provider_id": a.provider_id,
                "consumer_id": a.consumer_uuid,
                "resource_class_id": a.resource_class_id,
                "used": a.used,
                "created_at": now,
            }
            for a in rows
        ],
    )


# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(exc: DBAPIError) -> bool:
    """Whether redoing the transaction may succeed: a deadlock or lock timeout.

    Claims lock providers in id order, so deadlocks between claims do not
    happen; one with another kind of writer (a reshape, an inventory change)
    still can, and the database then aborts one side.
    """
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)
