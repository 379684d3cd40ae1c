"""Bulk reads for the in-memory candidate index, and the change log it follows.

Every reader takes an optional set of provider ids: None reads the whole
cloud (start-up, full reload), a set reads only those providers (catch-up
after the change log named them). Rows come back as plain tuples, because
the index turns them straight into numpy arrays and a per-row object would
cost more than the query at 100,000 providers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Connection, Select, bindparam, cast, func, or_, select

from corral.store import tables
from corral.store.providers import ProviderRow, provider_select, to_provider

_rp = tables.resource_providers
_inv = tables.inventories
_alloc = tables.allocations
_rpt = tables.resource_provider_traits
_rpa = tables.resource_provider_aggregates
_agg = tables.placement_aggregates
_traits = tables.traits
_log = tables.change_log

# Bound on ids per IN (...) list: SQLite allows 32,766 host parameters and
# PostgreSQL 65,535; stay well under both.
_IN_CHUNK = 5000


class ProviderTuple(NamedTuple):
    id: int
    uuid: str
    parent_id: int | None
    root_id: int


class InventoryTuple(NamedTuple):
    provider_id: int
    rc_id: int
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float


class UsageTuple(NamedTuple):
    provider_id: int
    rc_id: int
    used: int


# What the bulk readers return: the rows as the driver gives them, in the
# NamedTuples' field order (the NamedTuples are these shapes, for callers
# that build rows by hand).
InventoryRow = tuple[int, int, int, int, int, int, int, float]
UsageRow = tuple[int, int, int]


class Change(NamedTuple):
    seq: int
    provider_id: int
    kind: str


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


def _run(
    conn: Connection, query: Select[Any], column: Any, ids: Collection[int] | None
) -> list[tuple[Any, ...]]:
    """Execute `query`, restricted to `column IN ids` (in chunks) when ids is given."""
    if ids is None:
        return _fetch_tuples(conn, query)
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(ids):
        out.extend(_fetch_tuples(conn, query.where(column.in_(chunk))))
    return out


def _fetch_tuples(conn: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them. A full load reads about a million
    rows at 100,000 providers, and making a Row object of each took half of
    it; these columns (integers, strings, a float) need no conversion on any
    supported driver, and every reader below converts what it keeps."""
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def providers(conn: Connection, ids: Collection[int] | None = None) -> list[ProviderTuple]:
    """id, uuid, parent id and root id of the providers (that still exist)."""
    query = select(_rp.c.id, _rp.c.uuid, _rp.c.parent_provider_id, _rp.c.root_provider_id)
    rows = _run(conn, query, _rp.c.id, ids)
    # A provider whose root is not set yet (mid-creation in another writer's
    # view) is its own root.
    return [ProviderTuple(r[0], r[1], r[2], r[3] if r[3] is not None else r[0]) for r in rows]


def inventories(conn: Connection, ids: Collection[int] | None = None) -> list[InventoryRow]:
    """InventoryTuple-shaped rows."""
    query = select(*tables.INVENTORY_LIMIT_COLUMNS)
    return _run(conn, query, _inv.c.resource_provider_id, ids)


def usages(conn: Connection, ids: Collection[int] | None = None) -> list[UsageRow]:
    """Sum of allocations per provider and resource class (UsageTuple-shaped
    rows). The sum is cast back to an integer in SQL because PostgreSQL and
    MySQL sum integers into NUMERIC, which their drivers return as Decimal."""
    query = select(
        _alloc.c.resource_provider_id,
        _alloc.c.resource_class_id,
        cast(func.sum(_alloc.c.used), BigInteger),
    ).group_by(_alloc.c.resource_provider_id, _alloc.c.resource_class_id)
    return _run(conn, query, _alloc.c.resource_provider_id, ids)


def provider_traits(conn: Connection, ids: Collection[int] | None = None) -> list[tuple[int, int]]:
    """(provider id, trait id) pairs."""
    query = select(_rpt.c.resource_provider_id, _rpt.c.trait_id)
    return [(r[0], r[1]) for r in _run(conn, query, _rpt.c.resource_provider_id, ids)]


def provider_aggregates(
    conn: Connection, ids: Collection[int] | None = None
) -> list[tuple[int, int, str]]:
    """(provider id, aggregate id, aggregate uuid) triples."""
    query = select(_rpa.c.resource_provider_id, _rpa.c.aggregate_id, _agg.c.uuid).select_from(
        _rpa.join(_agg, _agg.c.id == _rpa.c.aggregate_id)
    )
    return [(r[0], r[1], r[2]) for r in _run(conn, query, _rpa.c.resource_provider_id, ids)]


def trait_names(conn: Connection, ids: Collection[int] | None = None) -> dict[int, str]:
    """trait id -> name (all traits, or those ids)."""
    query = select(_traits.c.id, _traits.c.name)
    return {r[0]: r[1] for r in _run(conn, query, _traits.c.id, ids)}


def trait_ids(conn: Connection, names: Collection[str]) -> dict[str, int]:
    """trait name -> id for the names that exist."""
    if not names:
        return {}
    rows = conn.execute(select(_traits.c.name, _traits.c.id).where(_traits.c.name.in_(names)))
    return {r[0]: r[1] for r in rows}


# --- the change log -----------------------------------------------------------


def last_seq(conn: Connection) -> int:
    """The highest sequence number in the log (0 when empty)."""
    return int(conn.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())


def changes_after(
    conn: Connection, seq: int, limit: int, also: Collection[int] = ()
) -> list[Change]:
    """Log rows with sequence number above `seq` or in `also` (holes the reader
    is waiting for), oldest first, at most `limit`."""
    if also:
        query = (
            select(_log.c.seq, _log.c.resource_provider_id, _log.c.kind)
            .where(or_(_log.c.seq > seq, _log.c.seq.in_(sorted(also))))
            .order_by(_log.c.seq)
            .limit(limit)
        )
        rows = conn.execute(query)
    else:
        # Every search runs this, usually to find nothing: a statement built
        # once keeps it to one cheap round trip.
        rows = conn.execute(_CHANGES_AFTER, {"seq": seq, "limit": limit})
    return [Change(int(r[0]), int(r[1]), str(r[2])) for r in rows]


_CHANGES_AFTER = (
    select(_log.c.seq, _log.c.resource_provider_id, _log.c.kind)
    .where(_log.c.seq > bindparam("seq"))
    .order_by(_log.c.seq)
    .limit(bindparam("limit"))
)


def seqs_between(conn: Connection, low: int, high: int) -> list[int]:
    """The sequence numbers present in (low, high], ascending."""
    query = select(_log.c.seq).where(_log.c.seq > low, _log.c.seq <= high).order_by(_log.c.seq)
    return [int(r[0]) for r in conn.execute(query)]


def provider_rows(conn: Connection, ids: Collection[int]) -> list[ProviderRow]:
    """Full provider rows for the ids, ascending id. Many ids are read with one
    scan of the table rather than thousands of IN parameters."""
    if not ids:
        return []
    if len(ids) > _IN_CHUNK:
        wanted = set(ids)
        rows = conn.execute(provider_select().order_by(_rp.c.id))
        return [to_provider(r) for r in rows if r.id in wanted]
    found = [
        to_provider(r)
        for chunk in _chunks(ids)
        for r in conn.execute(provider_select().where(_rp.c.id.in_(chunk)))
    ]
    return sorted(found, key=lambda row: row.id)
