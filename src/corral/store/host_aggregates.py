"""Nova host aggregates: a name, key/value metadata and member host names."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from corral.store import host_changes, tables
from corral.store.chunks import in_chunks

_aggs = tables.host_aggregates
_meta = tables.host_aggregate_metadata
_members = tables.host_aggregate_hosts


@dataclass(frozen=True, slots=True)
class AggregateRow:
    id: int
    uuid: str
    name: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)  # sorted


class NameTaken(Exception):
    """Another aggregate has the name."""


def _complete(conn: Connection, rows: list[AggregateRow]) -> list[AggregateRow]:
    """Fill in metadata and hosts (two queries for any number of aggregates)."""
    if not rows:
        return rows
    by_id = {r.id: r for r in rows}
    for chunk in in_chunks(by_id):
        for m in conn.execute(
            select(_meta.c.aggregate_id, _meta.c.key, _meta.c.value).where(
                _meta.c.aggregate_id.in_(chunk)
            )
        ):
            by_id[m.aggregate_id].metadata[m.key] = m.value
        for h in conn.execute(
            select(_members.c.aggregate_id, _members.c.host).where(
                _members.c.aggregate_id.in_(chunk)
            )
        ):
            by_id[h.aggregate_id].hosts.append(h.host)
    for row in rows:
        row.hosts.sort()
    return rows


def _select(conn: Connection, where: object | None = None) -> list[AggregateRow]:
    query = select(_aggs.c.id, _aggs.c.uuid, _aggs.c.name, _aggs.c.created_at, _aggs.c.updated_at)
    if where is not None:
        query = query.where(where)  # type: ignore[arg-type]
    rows = [
        AggregateRow(r.id, r.uuid, r.name, r.created_at, r.updated_at)
        for r in conn.execute(query.order_by(_aggs.c.id))
    ]
    return _complete(conn, rows)


def get_by_id(conn: Connection, aggregate_id: int) -> AggregateRow | None:
    found = _select(conn, _aggs.c.id == aggregate_id)
    return found[0] if found else None


def get_by_uuid(conn: Connection, uuid: str) -> AggregateRow | None:
    found = _select(conn, _aggs.c.uuid == uuid)
    return found[0] if found else None


def by_ids(conn: Connection, ids: Collection[int] | None = None) -> list[AggregateRow]:
    """Every aggregate (None) or those of these ids that still exist, by id."""
    if ids is None:
        return _select(conn)
    out: list[AggregateRow] = []
    for chunk in in_chunks(ids):
        out.extend(_select(conn, _aggs.c.id.in_(chunk)))
    return sorted(out, key=lambda r: r.id)


def of_hosts(conn: Connection, hosts: Collection[str]) -> list[AggregateRow]:
    """The aggregates any of these hosts belong to."""
    ids: set[int] = set()
    for chunk in in_chunks(hosts):
        ids.update(
            r[0]
            for r in conn.execute(select(_members.c.aggregate_id).where(_members.c.host.in_(chunk)))
        )
    return by_ids(conn, ids)


def insert(
    conn: Connection, uuid: str, name: str, metadata: Mapping[str, str], now: datetime.datetime
) -> int:
    try:
        with conn.begin_nested():
            new_id = int(
                conn.execute(
                    _aggs.insert()
                    .values(uuid=uuid, name=name, created_at=now, updated_at=now)
                    .returning(_aggs.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        raise NameTaken(name) from None
    if metadata:
        conn.execute(
            _meta.insert(),
            [
                {"aggregate_id": new_id, "key": k, "value": v, "created_at": now}
                for k, v in metadata.items()
            ],
        )
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [new_id])
    return new_id


def rename(conn: Connection, aggregate_id: int, name: str, now: datetime.datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                _aggs.update().where(_aggs.c.id == aggregate_id).values(name=name, updated_at=now)
            )
    except IntegrityError:
        raise NameTaken(name) from None
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])


def update_metadata(
    conn: Connection,
    aggregate_id: int,
    changes: Mapping[str, str | None],
    now: datetime.datetime,
) -> None:
    """Set each key to its value; a None value removes the key (Nova's update_metadata)."""
    if not changes:
        return
    conn.execute(
        _meta.delete().where(_meta.c.aggregate_id == aggregate_id, _meta.c.key.in_(sorted(changes)))
    )
    rows = [
        {"aggregate_id": aggregate_id, "key": k, "value": v, "created_at": now}
        for k, v in changes.items()
        if v is not None
    ]
    if rows:
        conn.execute(_meta.insert(), rows)
    conn.execute(_aggs.update().where(_aggs.c.id == aggregate_id).values(updated_at=now))
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])


def add_host(conn: Connection, aggregate_id: int, host: str, now: datetime.datetime) -> bool:
    """Add the member; False when it already was one."""
    try:
        with conn.begin_nested():
            conn.execute(
                _members.insert().values(aggregate_id=aggregate_id, host=host, created_at=now)
            )
    except IntegrityError:
        return False
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])
    return True


def add_hosts(
    conn: Connection, aggregate_id: int, hosts: Collection[str], now: datetime.datetime
) -> int:
    """`add_host` for many hosts, one statement and one change-log row; how many were added."""
    wanted = sorted(set(hosts))
    if not wanted:
        return 0
    try:
        with conn.begin_nested():
            conn.execute(
                _members.insert(),
                [{"aggregate_id": aggregate_id, "host": h, "created_at": now} for h in wanted],
            )
        added = len(wanted)
    except IntegrityError:
        # Some were members already (a concurrent writer): one by one.
        added = sum(add_host(conn, aggregate_id, h, now) for h in wanted)
        return added
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])
    return added


def remove_hosts(conn: Connection, aggregate_id: int, hosts: Collection[str]) -> int:
    """`remove_host` for many hosts, one change-log row; how many were removed."""
    removed = 0
    for chunk in in_chunks(hosts):
        result = conn.execute(
            _members.delete().where(
                _members.c.aggregate_id == aggregate_id, _members.c.host.in_(chunk)
            )
        )
        removed += int(result.rowcount or 0)
    if removed:
        host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])
    return removed


def remove_host(conn: Connection, aggregate_id: int, host: str) -> bool:
    """Remove the member; False when it was not one."""
    result = conn.execute(
        _members.delete().where(_members.c.aggregate_id == aggregate_id, _members.c.host == host)
    )
    if not result.rowcount:
        return False
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])
    return True


def delete(conn: Connection, aggregate_id: int) -> None:
    conn.execute(_meta.delete().where(_meta.c.aggregate_id == aggregate_id))
    conn.execute(_members.delete().where(_members.c.aggregate_id == aggregate_id))
    conn.execute(_aggs.delete().where(_aggs.c.id == aggregate_id))
    host_changes.record(conn, host_changes.HOST_AGGREGATES, [aggregate_id])
