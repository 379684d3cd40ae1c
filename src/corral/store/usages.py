"""Usage sums: per provider (over its inventory) and per project/user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, distinct, func, select

from corral.store import tables

_inv = tables.inventories
_allocs = tables.allocations
_consumers = tables.consumers
_projects = tables.projects
_users = tables.users
_types = tables.consumer_types


def provider_usages(conn: Connection, provider_id: int) -> dict[int, int]:
    """Resource class id -> amount used, for every class in the provider's inventory."""
    query = (
        select(_inv.c.resource_class_id, func.coalesce(func.sum(_allocs.c.used), 0))
        .select_from(
            _inv.outerjoin(
                _allocs,
                and_(
                    _allocs.c.resource_provider_id == _inv.c.resource_provider_id,
                    _allocs.c.resource_class_id == _inv.c.resource_class_id,
                ),
            )
        )
        .where(_inv.c.resource_provider_id == provider_id)
        .group_by(_inv.c.resource_class_id)
    )
    return {int(rc): int(used) for rc, used in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class TypedUsage:
    """What the consumers of one consumer type (None: no type) use of one class."""

    consumer_type: str | None
    resource_class_id: int
    used: int


@dataclass(frozen=True, slots=True)
class ProjectUsages:
    usages: list[TypedUsage]
    # distinct consumers holding allocations, per consumer type (None: no type)
    consumer_counts: dict[str | None, int]


def project_usages(conn: Connection, project_id: str, user_id: str | None) -> ProjectUsages:
    """Sums of a project's (and optionally one user's) allocations, by type and class."""
    joined = (
        _allocs.join(_consumers, _consumers.c.uuid == _allocs.c.consumer_id)
        .join(_projects, _projects.c.id == _consumers.c.project_id)
        .outerjoin(_types, _types.c.id == _consumers.c.consumer_type_id)
    )
    where = [_projects.c.external_id == project_id]
    if user_id is not None:
        joined = joined.join(_users, _users.c.id == _consumers.c.user_id)
        where.append(_users.c.external_id == user_id)
    sums = (
        select(_types.c.name, _allocs.c.resource_class_id, func.sum(_allocs.c.used))
        .select_from(joined)
        .where(*where)
        .group_by(_types.c.name, _allocs.c.resource_class_id)
        .order_by(_allocs.c.resource_class_id)
    )
    counts = (
        select(_types.c.name, func.count(distinct(_allocs.c.consumer_id)))
        .select_from(joined)
        .where(*where)
        .group_by(_types.c.name)
    )
    return ProjectUsages(
        usages=[TypedUsage(name, int(rc), int(used)) for name, rc, used in conn.execute(sums)],
        consumer_counts={name: int(n) for name, n in conn.execute(counts)},
    )
