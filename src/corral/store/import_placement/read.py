"""Reading the upstream source: opened read-only, in one snapshot, and never
shown with its password.

SQLite sources are opened with `mode=ro`, so that sqlite itself refuses every
write; MySQL/MariaDB and PostgreSQL ones in one REPEATABLE READ transaction
that issues nothing but SELECTs (declared read-only on PostgreSQL), so that
every table is read as of the same moment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from corral.store.database import normalise_url
from corral.store.import_placement.report import ImportRefused

# Rows per INSERT batch and per fetch from the source.
BATCH = 2000


def scrub(text: str, url: str) -> str:
    """`text` with the URL's password masked, should a driver quote it back."""
    try:
        password = make_url(url).password
    except ArgumentError:
        return text
    if password:
        text = text.replace(str(password), "***")
    return text


def source_engine(url: str) -> Engine:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise ImportRefused("--from is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "mysql", "postgresql"):
        raise ImportRefused(
            f"unsupported source database {backend!r}: upstream Placement runs on "
            "MySQL/MariaDB, PostgreSQL or SQLite"
        )
    if backend == "sqlite":
        return _sqlite_read_only(parsed)
    try:
        # A snapshot of the whole database for every SELECT of the import.
        options = {"postgresql_readonly": True} if backend == "postgresql" else {}
        return create_engine(parsed, isolation_level="REPEATABLE READ", execution_options=options)
    except (NoSuchModuleError, ImportError) as exc:
        raise ImportRefused(
            f"the driver for {parsed.drivername} is not installed ({exc.__class__.__name__}: "
            f"{exc}); for MySQL/MariaDB install PyMySQL and use mysql+pymysql://"
        ) from None


def _sqlite_read_only(parsed: URL) -> Engine:
    path = parsed.database
    if not path or path == ":memory:":
        raise ImportRefused("an SQLite source needs the path of upstream's database file")
    if not os.path.isfile(path):
        # sqlite3 would otherwise create an empty database there.
        raise ImportRefused(f"no SQLite database at {path}")
    # mode=ro: sqlite itself refuses every write to the source.
    ro = URL.create(
        "sqlite", database=f"file:{os.path.abspath(path)}?mode=ro", query={"uri": "true"}
    )
    engine = create_engine(ro)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        # pysqlite opens no transaction for SELECTs; issue BEGIN ourselves so
        # that every read sees one snapshot.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def stream(src: Connection, query: Any) -> Iterator[Any]:
    """Rows of `query` fetched a batch at a time (allocations may be millions)."""
    result = src.execution_options(yield_per=BATCH).execute(query)
    yield from result


def batches(rows: Iterable[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """`rows` in lists of `size`, for executemany INSERTs into the target."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
