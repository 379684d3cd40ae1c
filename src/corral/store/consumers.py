"""Consumers and the projects, users and consumer types they refer to.

Projects, users and consumer types are created on first use and never
deleted. A consumer row lives exactly as long as it has allocations; its
generation is a compare-and-swap counter like a provider's.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, bindparam, exists, select
from sqlalchemy.exc import IntegrityError

from corral.store import tables

_consumers = tables.consumers
_projects = tables.projects
_users = tables.users
_types = tables.consumer_types
_allocs = tables.allocations


@dataclass(frozen=True, slots=True)
class ConsumerRow:
    id: int
    uuid: str
    generation: int
    project_id: int
    user_id: int
    project_external_id: str
    user_external_id: str
    consumer_type_id: int | None


# Built once: a claim round runs it every time, and building costs more than running.
_EXISTING_UUIDS = select(_consumers.c.uuid).where(
    _consumers.c.uuid.in_(bindparam("uuids", expanding=True))
)


def existing_uuids(conn: Connection, uuids: Iterable[str]) -> set[str]:
    """Which of these consumers exist."""
    wanted = list(set(uuids))
    if not wanted:
        return set()
    return set(conn.execute(_EXISTING_UUIDS, {"uuids": wanted}).scalars())


def get_by_uuids(conn: Connection, uuids: Iterable[str]) -> dict[str, ConsumerRow]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    query = (
        select(
            _consumers.c.id,
            _consumers.c.uuid,
            _consumers.c.generation,
            _consumers.c.project_id,
            _consumers.c.user_id,
            _consumers.c.consumer_type_id,
            _projects.c.external_id.label("project_external_id"),
            _users.c.external_id.label("user_external_id"),
        )
        .select_from(
            _consumers.join(_projects, _projects.c.id == _consumers.c.project_id).join(
                _users, _users.c.id == _consumers.c.user_id
            )
        )
        .where(_consumers.c.uuid.in_(wanted))
    )
    return {
        r.uuid: ConsumerRow(
            id=r.id,
            uuid=r.uuid,
            generation=r.generation,
            project_id=r.project_id,
            user_id=r.user_id,
            project_external_id=r.project_external_id,
            user_external_id=r.user_external_id,
            consumer_type_id=r.consumer_type_id,
        )
        for r in conn.execute(query)
    }


def _find(conn: Connection, table: Table, column: str, value: str) -> int | None:
    row = conn.execute(select(table.c.id).where(table.c[column] == value)).first()
    return int(row.id) if row is not None else None


def _ensure(conn: Connection, table: Table, column: str, value: str, now: datetime.datetime) -> int:
    """The id of the row whose `column` is `value`, inserting it when missing."""
    found = _find(conn, table, column, value)
    if found is not None:
        return found
    try:
        # A savepoint, so that losing the race with another creator leaves
        # this transaction usable and the winner's row readable.
        with conn.begin_nested():
            new_id = conn.execute(
                table.insert().values({column: value, "created_at": now}).returning(table.c.id)
            ).scalar_one()
        return int(new_id)
    except IntegrityError:
        found = _find(conn, table, column, value)
        if found is None:
            raise
        return found


def find_project(conn: Connection, external_id: str) -> int | None:
    return _find(conn, _projects, "external_id", external_id)


def find_user(conn: Connection, external_id: str) -> int | None:
    return _find(conn, _users, "external_id", external_id)


def find_consumer_type(conn: Connection, name: str) -> int | None:
    return _find(conn, _types, "name", name)


def ensure_project(conn: Connection, external_id: str, now: datetime.datetime) -> int:
    return _ensure(conn, _projects, "external_id", external_id, now)


def ensure_user(conn: Connection, external_id: str, now: datetime.datetime) -> int:
    return _ensure(conn, _users, "external_id", external_id, now)


def ensure_consumer_type(conn: Connection, name: str, now: datetime.datetime) -> int:
    return _ensure(conn, _types, "name", name, now)


def consumer_type_names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(_types.c.id, _types.c.name).where(_types.c.id.in_(wanted)))
    return {r.id: r.name for r in rows}


def insert(
    conn: Connection,
    *,
    uuid: str,
    project_id: int,
    user_id: int,
    consumer_type_id: int | None,
    generation: int,
    now: datetime.datetime,
) -> int | None:
    """Insert a consumer; None when a concurrent writer created it first."""
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                _consumers.insert()
                .values(
                    uuid=uuid,
                    project_id=project_id,
                    user_id=user_id,
                    consumer_type_id=consumer_type_id,
                    generation=generation,
                    created_at=now,
                )
                .returning(_consumers.c.id)
            ).scalar_one()
    except IntegrityError:
        return None
    return int(new_id)


@dataclass(frozen=True, slots=True)
class NewConsumer:
    uuid: str
    project_id: int
    user_id: int
    consumer_type_id: int | None
    generation: int


def insert_many(conn: Connection, rows: Iterable[NewConsumer], now: datetime.datetime) -> bool:
    """Insert consumers in one statement; False when one of them exists already.

    A False leaves the transaction unusable on PostgreSQL: the caller redoes it.
    """
    values = [
        {
            "uuid": r.uuid,
            "project_id": r.project_id,
            "user_id": r.user_id,
            "consumer_type_id": r.consumer_type_id,
            "generation": r.generation,
            "created_at": now,
        }
        for r in rows
    ]
    if not values:
        return True
    try:
        conn.execute(_consumers.insert(), values)
    except IntegrityError:
        return False
    return True


def update(
    conn: Connection,
    consumer_id: int,
    expected_generation: int,
    *,
    project_id: int,
    user_id: int,
    consumer_type_id: int | None,
    bump: bool,
    now: datetime.datetime,
) -> bool:
    """Set the consumer's owner and type, and bump its generation if `bump`,
    provided the generation is still `expected_generation` (compare-and-swap)."""
    new_generation = expected_generation + 1 if bump else expected_generation
    result = conn.execute(
        _consumers.update()
        .where(_consumers.c.id == consumer_id, _consumers.c.generation == expected_generation)
        .values(
            generation=new_generation,
            project_id=project_id,
            user_id=user_id,
            consumer_type_id=consumer_type_id,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def delete_if_no_allocations(conn: Connection, uuids: Iterable[str]) -> None:
    """Delete those of the consumers that hold no allocation any more."""
    wanted = list(set(uuids))
    if not wanted:
        return
    conn.execute(
        _consumers.delete().where(
            _consumers.c.uuid.in_(wanted),
            ~exists().where(_allocs.c.consumer_id == _consumers.c.uuid),
        )
    )
