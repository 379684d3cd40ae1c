"""Aggregates (bare uuids) and which resource providers belong to them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from corral.store import tables
from corral.store.chunks import in_chunks

_agg = tables.placement_aggregates
_rpa = tables.resource_provider_aggregates


def provider_aggregates(conn: Connection, provider_id: int) -> dict[int, str]:
    """The provider's aggregates, id -> uuid, in the order they were first seen."""
    query = (
        select(_agg.c.id, _agg.c.uuid)
        .select_from(_agg.join(_rpa, _rpa.c.aggregate_id == _agg.c.id))
        .where(_rpa.c.resource_provider_id == provider_id)
        .order_by(_agg.c.id)
    )
    return {r.id: r.uuid for r in conn.execute(query)}


def providers_aggregates(
    conn: Connection, provider_ids: Iterable[int]
) -> dict[int, dict[int, str]]:
    """`provider_aggregates` for many providers (each one listed, maybe empty)."""
    out: dict[int, dict[int, str]] = {pid: {} for pid in provider_ids}
    for chunk in in_chunks(out):
        query = (
            select(_rpa.c.resource_provider_id, _agg.c.id, _agg.c.uuid)
            .select_from(_agg.join(_rpa, _rpa.c.aggregate_id == _agg.c.id))
            .where(_rpa.c.resource_provider_id.in_(chunk))
            .order_by(_agg.c.id)
        )
        for r in conn.execute(query):
            out[r.resource_provider_id][r.id] = r.uuid
    return out


def ids_for_uuids(conn: Connection, uuids: Iterable[str]) -> dict[str, int]:
    """uuid -> internal id for the aggregates that exist; unknown ones are left out."""
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = conn.execute(select(_agg.c.uuid, _agg.c.id).where(_agg.c.uuid.in_(wanted)))
    return {r.uuid: r.id for r in rows}


def ensure(conn: Connection, uuids: Sequence[str], now: datetime.datetime) -> dict[str, int]:
    """uuid -> id for every uuid, creating the aggregates never seen before."""
    known = ids_for_uuids(conn, uuids)
    for agg_uuid in dict.fromkeys(uuids):
        if agg_uuid in known:
            continue
        try:
            # A savepoint, so that losing a race with another creator leaves
            # this transaction usable and the winner's row can be read.
            with conn.begin_nested():
                new_id = conn.execute(
                    _agg.insert().values(uuid=agg_uuid, created_at=now).returning(_agg.c.id)
                ).scalar_one()
            known[agg_uuid] = int(new_id)
        except IntegrityError:
            known.update(ids_for_uuids(conn, [agg_uuid]))
    return known


def add_to_provider(
    conn: Connection, provider_id: int, aggregate_ids: Iterable[int], now: datetime.datetime
) -> None:
    """Link the provider to the aggregates; links a concurrent writer made are kept."""
    rows = [
        {"resource_provider_id": provider_id, "aggregate_id": agg_id, "created_at": now}
        for agg_id in dict.fromkeys(aggregate_ids)
    ]
    if not rows:
        return
    try:
        with conn.begin_nested():
            conn.execute(_rpa.insert(), rows)
    except IntegrityError:
        # Only writers that do not bump the generation (before microversion
        # 1.19) can race here; insert one by one and skip the existing links.
        for row in rows:
            try:
                with conn.begin_nested():
                    conn.execute(_rpa.insert(), [row])
            except IntegrityError:
                continue


def add_links(conn: Connection, links: Mapping[int, Sequence[int]], now: datetime.datetime) -> None:
    """`add_to_provider` for many providers (provider id -> aggregate ids) in one statement."""
    rows = [
        {"resource_provider_id": pid, "aggregate_id": agg_id, "created_at": now}
        for pid, agg_ids in sorted(links.items())
        for agg_id in dict.fromkeys(agg_ids)
    ]
    if not rows:
        return
    try:
        with conn.begin_nested():
            conn.execute(_rpa.insert(), rows)
    except IntegrityError:
        for pid, agg_ids in sorted(links.items()):
            add_to_provider(conn, pid, agg_ids, now)


def remove_from_provider(conn: Connection, provider_id: int, aggregate_ids: Iterable[int]) -> None:
    ids = list(set(aggregate_ids))
    if ids:
        conn.execute(
            _rpa.delete().where(
                _rpa.c.resource_provider_id == provider_id, _rpa.c.aggregate_id.in_(ids)
            )
        )
