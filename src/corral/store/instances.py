"""Instances placed on compute nodes (their resources are Placement allocations)."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from corral.store import host_changes, tables
from corral.store.chunks import in_chunks

_instances = tables.instances


@dataclass(frozen=True, slots=True)
class InstanceValues:
    host: str
    node: str
    provider_uuid: str | None
    project_id: str
    user_id: str
    flavor: dict[str, Any]
    image_properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InstanceRow:
    id: int
    uuid: str
    values: InstanceValues
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


class InstancePlacement(NamedTuple):
    """What the host state cache keeps of an instance."""

    id: int
    uuid: str
    host: str
    node: str
    project_id: str
    image_properties: dict[str, Any]


class InstanceExists(Exception):
    """An instance with that uuid is already recorded."""


_VALUE_COLUMNS = tuple(InstanceValues.__dataclass_fields__)


def _row(r: Any) -> InstanceRow:
    return InstanceRow(
        id=r.id,
        uuid=r.uuid,
        values=InstanceValues(**{name: getattr(r, name) for name in _VALUE_COLUMNS}),
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def get_by_uuid(conn: Connection, uuid: str) -> InstanceRow | None:
    row = conn.execute(select(_instances).where(_instances.c.uuid == uuid)).first()
    return None if row is None else _row(row)


def page(
    conn: Connection,
    *,
    host: str | None,
    project_id: str | None,
    after_id: int | None,
    limit: int,
) -> list[InstanceRow]:
    """Instances in the order they were recorded, the first `limit` after `after_id`."""
    query = select(_instances).order_by(_instances.c.id).limit(limit)
    if host is not None:
        query = query.where(_instances.c.host == host)
    if project_id is not None:
        query = query.where(_instances.c.project_id == project_id)
    if after_id is not None:
        query = query.where(_instances.c.id > after_id)
    return [_row(r) for r in conn.execute(query)]


def every_row(conn: Connection) -> list[InstanceRow]:
    """Every recorded instance (what a feed from Nova compares with)."""
    return [_row(r) for r in conn.execute(select(_instances).order_by(_instances.c.id))]


def rows_by_ids(conn: Connection, ids: Collection[int]) -> list[InstanceRow]:
    """The instances of these ids that still exist."""
    out: list[InstanceRow] = []
    for chunk in in_chunks(ids):
        out.extend(
            _row(r) for r in conn.execute(select(_instances).where(_instances.c.id.in_(chunk)))
        )
    return out


def placements(conn: Connection, ids: Collection[int] | None = None) -> list[InstancePlacement]:
    """Every instance (None) or those of these ids that still exist."""
    query = select(
        _instances.c.id,
        _instances.c.uuid,
        _instances.c.host,
        _instances.c.node,
        _instances.c.project_id,
        _instances.c.image_properties,
    )
    if ids is None:
        return [InstancePlacement(*r) for r in conn.execute(query)]
    out: list[InstancePlacement] = []
    for chunk in in_chunks(ids):
        out.extend(
            InstancePlacement(*r) for r in conn.execute(query.where(_instances.c.id.in_(chunk)))
        )
    return out


def insert(conn: Connection, uuid: str, values: InstanceValues, now: datetime.datetime) -> int:
    try:
        with conn.begin_nested():
            new_id = int(
                conn.execute(
                    _instances.insert()
                    .values(uuid=uuid, created_at=now, updated_at=now, **asdict(values))
                    .returning(_instances.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        raise InstanceExists(uuid) from None
    host_changes.record(conn, host_changes.INSTANCES, [new_id])
    return new_id


def existing_uuids(conn: Connection, uuids: Collection[str]) -> set[str]:
    """Which of these instance uuids are recorded."""
    found: set[str] = set()
    for chunk in in_chunks(uuids):
        found.update(conn.execute(_EXISTING_UUIDS, {"uuids": chunk}).scalars())
    return found


# Built once: every claim round runs it.
_EXISTING_UUIDS = select(_instances.c.uuid).where(
    _instances.c.uuid.in_(bindparam("uuids", expanding=True))
)


def insert_many(
    conn: Connection, rows: Collection[tuple[str, InstanceValues]], now: datetime.datetime
) -> list[int]:
    """Record new instances in one statement; InstanceExists when one is recorded already
    (which leaves the transaction to be rolled back)."""
    if not rows:
        return []
    # Not asdict: it deep-copies the flavor and image dicts of every row.
    values = [
        {
            "uuid": uuid,
            "created_at": now,
            "updated_at": now,
            **{name: getattr(v, name) for name in _VALUE_COLUMNS},
        }
        for uuid, v in rows
    ]
    try:
        ids = [
            int(i)
            for i in conn.execute(_instances.insert().returning(_instances.c.id), values).scalars()
        ]
    except IntegrityError:
        raise InstanceExists(", ".join(uuid for uuid, _ in rows)) from None
    host_changes.record(conn, host_changes.INSTANCES, ids)
    return ids


def update(
    conn: Connection, instance_id: int, values: InstanceValues, now: datetime.datetime
) -> None:
    conn.execute(
        _instances.update()
        .where(_instances.c.id == instance_id)
        .values(updated_at=now, **asdict(values))
    )
    host_changes.record(conn, host_changes.INSTANCES, [instance_id])


_UPDATE = (
    _instances.update()
    .where(_instances.c.id == bindparam("b_id"))
    .values(
        updated_at=bindparam("b_updated_at"),
        **{name: bindparam(f"b_{name}", type_=_instances.c[name].type) for name in _VALUE_COLUMNS},
    )
)


def update_many(
    conn: Connection, rows: Collection[tuple[int, InstanceValues]], now: datetime.datetime
) -> None:
    """`update` for many (instance id, values) in one executemany."""
    if not rows:
        return
    conn.execute(
        _UPDATE,
        [
            {
                "b_id": instance_id,
                "b_updated_at": now,
                **{f"b_{name}": getattr(v, name) for name in _VALUE_COLUMNS},
            }
            for instance_id, v in rows
        ],
    )
    host_changes.record(conn, host_changes.INSTANCES, [instance_id for instance_id, _v in rows])


def delete_many(conn: Connection, instance_ids: Collection[int]) -> None:
    ids = sorted(set(instance_ids))
    for chunk in in_chunks(ids):
        conn.execute(_instances.delete().where(_instances.c.id.in_(chunk)))
    host_changes.record(conn, host_changes.INSTANCES, ids)


def delete(conn: Connection, instance_id: int) -> None:
    conn.execute(_instances.delete().where(_instances.c.id == instance_id))
    host_changes.record(conn, host_changes.INSTANCES, [instance_id])


def count_on_hosts(conn: Connection, hosts: Collection[str]) -> int:
    total = 0
    for chunk in in_chunks(hosts):
        total += int(
            conn.execute(
                select(func.count()).select_from(_instances).where(_instances.c.host.in_(chunk))
            ).scalar_one()
        )
    return total
