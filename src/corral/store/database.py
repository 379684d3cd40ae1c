"""Engine creation and transaction scopes for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from corral.errors import ConcurrentUpdate
from corral.store import tables


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def normalise_url(url: str) -> str:
    """Accept oslo.db style URLs (`postgresql://`, `postgresql+psycopg2://`) and
    use psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_loads(text: str) -> Any:
    """JSON columns as orjson reads them: the host cache reads six per compute
    node, and the standard library's decoder took a third of a 100,000-host
    load. A value orjson refuses (NaN or Infinity, which older writers using
    the standard library could store) is read as the standard library reads it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Database:
    """A connection factory with explicit read and write transaction scopes.

    SQLite runs in WAL mode and write transactions start with BEGIN IMMEDIATE,
    so two writers serialise at the start instead of deadlocking at upgrade.
    PostgreSQL runs READ COMMITTED; writers protect themselves with the
    generation compare-and-swap (see `bump_generation`).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        backend = make_url(self.url).get_backend_name()
        self.is_sqlite = backend == "sqlite"
        self.is_postgresql = backend == "postgresql"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if ":memory:" in self.url or make_url(self.url).database in (None, ""):
                raise ValueError("corral needs a file-backed SQLite database")
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        kwargs["json_deserializer"] = _json_loads
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for several statements."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (down, the
    connection cut or refused, the pool exhausted, SQLite's file locked past its
    timeout), rather than that a statement is wrong: a state that passes, which
    the API answers with 503 and the caller retries."""
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig)
    if isinstance(exc.orig, sqlite3.Error):
        return "database is locked" in text or "unable to open database" in text
    # psycopg's OperationalError: connecting failed, or the connection broke.
    return True


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit transactions would
        # otherwise defer the lock and allow the upgrade deadlock.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def record_changes(conn: Connection, provider_ids: list[int] | set[int], kind: str) -> None:
    """Append one change-log row per provider, inside the caller's transaction."""
    if not provider_ids:
        return
    now = utcnow()
    conn.execute(
        insert(tables.change_log),
        [{"resource_provider_id": pid, "kind": kind, "created_at": now} for pid in provider_ids],
    )
    if conn.dialect.name == "postgresql":
        # Wakes the index refreshers of every process once this commits.
        conn.execute(text("NOTIFY corral_changes"))


def lock_and_bump_generation(conn: Connection, provider_id: int) -> bool:
    """Bump the provider's generation whatever it is; False when it is gone.

    The UPDATE takes the provider's row lock (SQLite: the database's write
    lock) until the transaction ends, so an allocation write that reads usage
    and inventory after this sees every claim committed before it and is the
    only writer of this provider until it commits: the capacity check runs
    against the latest committed state without a compare-and-swap that a
    crowd of concurrent claims would keep losing.
    """
    result = conn.execute(
        text(
            "UPDATE resource_providers SET generation = generation + 1, updated_at = :now "
            "WHERE id = :id"
        ),
        {"id": provider_id, "now": utcnow()},
    )
    return bool(result.rowcount == 1)


def lock_and_bump_generations(conn: Connection, provider_ids: Iterable[int]) -> set[int]:
    """`lock_and_bump_generation` for many providers in few statements; the ids found.

    PostgreSQL takes the row locks with SELECT ... ORDER BY id FOR UPDATE, in
    id order like the one-by-one path, so two writers cannot deadlock; SQLite
    holds the database's write lock already.
    """
    wanted = sorted(set(provider_ids))
    if not wanted:
        return set()
    if conn.dialect.name == "postgresql":
        wanted = [r.id for r in conn.execute(_LOCK_IN_ORDER, {"ids": wanted})]
        if not wanted:
            return set()
    conn.execute(_BUMP_ALL, {"ids": wanted, "bumped_at": utcnow()})
    if conn.dialect.name == "postgresql":
        return set(wanted)
    return set(conn.execute(_FOUND, {"ids": wanted}).scalars())


# Built once: every claim round runs them.
_rp = tables.resource_providers
_LOCK_IN_ORDER = (
    select(_rp.c.id)
    .where(_rp.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_rp.c.id)
    .with_for_update()
)
_BUMP_ALL = (
    update(_rp)
    .where(_rp.c.id.in_(bindparam("ids", expanding=True)))
    .values(generation=_rp.c.generation + 1, updated_at=bindparam("bumped_at"))
)
_FOUND = select(_rp.c.id).where(_rp.c.id.in_(bindparam("ids", expanding=True)))


def bump_generation(conn: Connection, provider_id: int, expected: int) -> int:
    """Compare-and-swap the provider generation; raise ConcurrentUpdate if it moved.

    Under READ COMMITTED the UPDATE waits for a concurrent writer of the same
    row and then re-checks the WHERE clause against the committed row, so two
    transactions that read the same generation can never both succeed.
    """
    result = conn.execute(
        text(
            "UPDATE resource_providers SET generation = generation + 1, updated_at = :now "
            "WHERE id = :id AND generation = :gen"
        ),
        {"id": provider_id, "gen": expected, "now": utcnow()},
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate("resource provider generation conflict: another process updated it")
    return expected + 1


def safe_url(url: str | URL) -> str:
    """A database URL as it may appear in logs, errors and output: its
    password replaced by ***."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except Exception:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)
