"""Copy an upstream OpenStack Placement database into an empty corral database.

The source is read with upstream's own schema as openstack-placement 16.0.0
leaves it (`placement/db/sqlalchemy/models.py`, Alembic head `a082b8bb98d0`)
on MySQL/MariaDB, PostgreSQL or SQLite. It is only ever read: SQLite sources
are opened read-only, the others inside one REPEATABLE READ snapshot that
issues nothing but SELECTs (and is declared read-only on PostgreSQL).

Everything lands in the target in one write transaction that is checked
before it commits: row counts per entity and every provider's usage and
generation, read back from the target, must equal the source's. A source row
that corral could not serve faithfully (a negative total, an allocation to a
provider that does not exist, a class or trait id with no row) refuses the
whole import, naming the row, and nothing is written.

Ids are not carried over (corral's standard class ids and trait ids need not
be upstream's): resource classes and traits are mapped by name, projects and
users by external id, consumer types by name, aggregates and providers by
uuid. What Nova sends back is carried exactly: provider generations, consumer
generations, consumer types, and the project and user of every consumer.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import os_resource_classes
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from corral.store import resource_classes as rc_store
from corral.store import tables
from corral.store.database import Database, normalise_url, record_changes

# The Alembic revision openstack-placement 16.0.0's `placement-manage db sync`
# ends at (placement/db/sqlalchemy/alembic/versions/a082b8bb98d0_*.py): the
# schema declared below.
UPSTREAM_HEAD = "a082b8bb98d0"

# Upstream's API bounds on integer fields (placement/db/constants.py MAX_INT).
_MAX_INT = 2_147_483_647
# Rows per INSERT batch and per fetch from the source.
_BATCH = 2000


# --- upstream's tables, as openstack-placement 16.0.0 declares them ----------------

_up = MetaData()


def _ts() -> list[Column[Any]]:
    # oslo.db's TimestampMixin, on every upstream table.
    return [Column("created_at", DateTime), Column("updated_at", DateTime)]


_u_rc = Table("resource_classes", _up, Column("id", Integer), Column("name", String), *_ts())
_u_rp = Table(
    "resource_providers",
    _up,
    Column("id", Integer),
    Column("uuid", String),
    Column("name", String),
    Column("generation", Integer),
    Column("root_provider_id", Integer),
    Column("parent_provider_id", Integer),
    *_ts(),
)
_u_inv = Table(
    "inventories",
    _up,
    Column("id", Integer),
    Column("resource_provider_id", Integer),
    Column("resource_class_id", Integer),
    Column("total", Integer),
    Column("reserved", Integer),
    Column("min_unit", Integer),
    Column("max_unit", Integer),
    Column("step_size", Integer),
    Column("allocation_ratio", Float),
    *_ts(),
)
_u_alloc = Table(
    "allocations",
    _up,
    Column("id", Integer),
    Column("resource_provider_id", Integer),
    Column("consumer_id", String),
    Column("resource_class_id", Integer),
    Column("used", Integer),
    *_ts(),
)
_u_agg = Table("placement_aggregates", _up, Column("id", Integer), Column("uuid", String), *_ts())
_u_rpa = Table(
    "resource_provider_aggregates",
    _up,
    Column("resource_provider_id", Integer),
    Column("aggregate_id", Integer),
    *_ts(),
)
_u_trait = Table("traits", _up, Column("id", Integer), Column("name", String), *_ts())
_u_rpt = Table(
    "resource_provider_traits",
    _up,
    Column("trait_id", Integer),
    Column("resource_provider_id", Integer),
    *_ts(),
)
_u_project = Table("projects", _up, Column("id", Integer), Column("external_id", String), *_ts())
_u_user = Table("users", _up, Column("id", Integer), Column("external_id", String), *_ts())
_u_ctype = Table("consumer_types", _up, Column("id", Integer), Column("name", String), *_ts())
_u_consumer = Table(
    "consumers",
    _up,
    Column("id", Integer),
    Column("uuid", String),
    Column("project_id", Integer),
    Column("user_id", Integer),
    Column("generation", Integer),
    Column("consumer_type_id", Integer),
    *_ts(),
)
_u_alembic = Table("alembic_version", _up, Column("version_num", String))


# --- what the caller sees -----------------------------------------------------------


class ImportRefused(Exception):
    """The import cannot start or the source holds a row corral refuses; nothing
    was written."""


class ProgressSink(Protocol):
    """Where the import reports how far it got (the CLI draws a bar on stderr)."""

    def begin(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def end(self) -> None: ...


class _NoProgress:
    def begin(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class CountRow:
    entity: str
    source: int
    imported: int
    # Source rows deliberately not copied, with why (shown in the summary).
    skipped: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.source - self.skipped == self.imported


@dataclass(frozen=True, slots=True)
class Mismatch:
    provider_uuid: str
    what: str  # a resource class name (usage) or "generation"
    source: int
    imported: int


@dataclass(slots=True)
class ImportReport:
    counts: list[CountRow] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    providers_compared: int = 0
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.mismatches and all(c.ok for c in self.counts)


class ImportMismatch(Exception):
    """The copy read back from the target differs from the source; rolled back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("the imported data does not match the source; rolled back")
        self.report = report


# --- source URLs: opened read-only, never shown with their password ----------------


def safe_url(url: str) -> str:
    """The URL as it may appear in output: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _scrub(text: str, url: str) -> str:
    """`text` with the URL's password masked, should a driver quote it back."""
    try:
        password = make_url(url).password
    except ArgumentError:
        return text
    if password:
        text = text.replace(str(password), "***")
    return text


def _source_engine(url: str) -> Engine:
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


# --- validation helpers ---------------------------------------------------------------


def _refuse_row(table: str, row_id: object, why: str) -> ImportRefused:
    return ImportRefused(f"source {table} row id={row_id}: {why}; nothing was imported")


def _check_int(table: str, row_id: object, name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _refuse_row(table, row_id, f"{name} is {value!r}, not a whole number")
    if not low <= value <= _MAX_INT:
        raise _refuse_row(table, row_id, f"{name} = {value} is outside {low}..{_MAX_INT}")
    return value


def _check_str(table: str, row_id: object, name: str, value: object, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise _refuse_row(table, row_id, f"{name} is {value!r}, not a non-empty string")
    if len(value) > max_len:
        raise _refuse_row(table, row_id, f"{name} is longer than {max_len} characters")
    return value


def _batches(rows: Iterable[dict[str, Any]], size: int = _BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the import -----------------------------------------------------------------------


@dataclass(slots=True)
class _Maps:
    """Source id -> target id (or name) for everything rows refer to."""

    rc_name: dict[int, str] = field(default_factory=dict)  # source rc id -> name
    rc: dict[int, int] = field(default_factory=dict)  # source rc id -> target rc id
    unknown_rc: dict[int, str] = field(default_factory=dict)  # standard names corral lacks
    provider: dict[int, int] = field(default_factory=dict)
    provider_uuid: dict[int, str] = field(default_factory=dict)  # source id -> uuid
    trait: dict[int, int] = field(default_factory=dict)
    aggregate: dict[int, int] = field(default_factory=dict)
    project: dict[int, int] = field(default_factory=dict)
    user: dict[int, int] = field(default_factory=dict)
    ctype: dict[int, int] = field(default_factory=dict)


def import_placement(
    source_url: str,
    target: Database,
    *,
    progress: ProgressSink | None = None,
    before_commit: Callable[[Connection], None] | None = None,
) -> ImportReport:
    """Copy the Placement database at `source_url` into `target` (migrated, and
    holding no providers or consumers), verify the copy, and commit it.

    Raises ImportRefused (nothing written) for an unusable source or target or
    a bad source row, ImportMismatch (rolled back) when the read-back differs.
    `before_commit` runs on the target connection after the copy, before the
    verification (tests use it to tamper with the copy).
    """
    sink: ProgressSink = progress or _NoProgress()
    engine = _source_engine(source_url)
    try:
        with engine.connect() as src, src.begin():
            _check_source_schema(src, source_url)
            report = ImportReport()
            try:
                with target.write() as dst:
                    _check_target_empty(dst)
                    counts, skipped_consumers = _copy(src, dst, sink)
                    if before_commit is not None:
                        before_commit(dst)
                    _verify(src, dst, report, counts, skipped_consumers, sink)
                    if not report.ok:
                        raise ImportMismatch(report)
                    report.committed = True
            except IntegrityError as exc:
                # A constraint of corral's schema that the validation above
                # did not foresee: still refuse, never half-import.
                raise ImportRefused(
                    f"the target refused a row: {exc.orig.__class__.__name__}: "
                    f"{str(exc.orig).splitlines()[0]}; nothing was imported"
                ) from None
            return report
    except (ImportRefused, ImportMismatch):
        raise
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ImportRefused(
            _scrub(
                f"database error (source {safe_url(source_url)}): "
                f"{exc.__class__.__name__}: {detail}; nothing was imported",
                source_url,
            )
        ) from None
    finally:
        engine.dispose()


def _check_source_schema(src: Connection, url: str) -> None:
    try:
        versions = [r[0] for r in src.execute(select(_u_alembic.c.version_num))]
    except SQLAlchemyError:
        raise ImportRefused(
            f"{safe_url(url)} is not an upstream Placement database (no alembic_version table)"
        ) from None
    if versions != [UPSTREAM_HEAD]:
        raise ImportRefused(
            f"the source schema is at revision {', '.join(versions) or 'none'}, not "
            f"{UPSTREAM_HEAD} (openstack-placement 16.0.0's): run that release's "
            "`placement-manage db sync` on it first"
        )


def _check_target_empty(dst: Connection) -> None:
    providers = dst.execute(select(func.count()).select_from(tables.resource_providers))
    n_providers = int(providers.scalar_one())
    n_consumers = int(dst.execute(select(func.count()).select_from(tables.consumers)).scalar_one())
    if n_providers or n_consumers:
        raise ImportRefused(
            f"the target database already holds {n_providers} resource providers and "
            f"{n_consumers} consumers: import-placement only fills an empty corral "
            "database (create a new one, or point [placement_database] connection "
            "elsewhere)"
        )


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _stream(src: Connection, query: Any) -> Iterator[Any]:
    """Rows of `query` fetched a batch at a time (allocations may be millions)."""
    result = src.execution_options(yield_per=_BATCH).execute(query)
    yield from result


def _copy(src: Connection, dst: Connection, sink: ProgressSink) -> tuple[Counter[str], int]:
    """Validate and write every source row; the rows written per entity, and how
    many consumers without allocations were left out."""
    maps = _Maps()
    written: Counter[str] = Counter()
    _copy_resource_classes(src, dst, maps, written, sink)
    _copy_traits(src, dst, maps, written, sink)
    _copy_providers(src, dst, maps, written, sink)
    _copy_inventories(src, dst, maps, written, sink)
    _copy_aggregates(src, dst, maps, written, sink)
    _copy_provider_traits(src, dst, maps, written, sink)
    _copy_owners(src, dst, maps, written, sink)
    skipped = _copy_consumers(src, dst, maps, written, sink)
    _copy_allocations(src, dst, maps, written, sink)
    # Tell every running index what changed, as any other provider write does:
    # a provider it does not know is loaded whole (all aspects).
    record_changes(dst, sorted(maps.provider.values()), "provider")
    return written, skipped


def _copy_resource_classes(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Upstream keeps standard classes in `resource_classes` too (its
    `_resource_classes_sync` inserts os-resource-classes' STANDARDS with their
    positions as ids) and numbers custom classes from 10000."""
    rows = list(src.execute(select(_u_rc).order_by(_u_rc.c.id)))
    sink.begin("resource classes", len(rows))
    existing = {r.name: r.id for r in dst.execute(select(tables.resource_classes))}
    top = max(existing.values(), default=0)
    next_id = max(rc_store.FIRST_CUSTOM_ID, top + 1)
    new: list[dict[str, Any]] = []
    for r in rows:
        name = _check_str("resource_classes", r.id, "name", r.name, 255)
        maps.rc_name[r.id] = name
        if name in existing:
            maps.rc[r.id] = existing[name]
        elif name.startswith(os_resource_classes.CUSTOM_NAMESPACE):
            maps.rc[r.id] = next_id
            new.append({"id": next_id, "name": name, "created_at": r.created_at,
                        "updated_at": r.updated_at})  # fmt: skip
            next_id += 1
        else:
            # A standard class of a newer os-resource-classes than corral's:
            # refused below only if an inventory or allocation uses it.
            maps.unknown_rc[r.id] = name
    if new:
        dst.execute(tables.resource_classes.insert(), new)
    written["custom resource classes"] = len(new)
    sink.advance(len(rows))
    sink.end()


def _copy_traits(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Every source trait by name; those the target lacks (custom ones, or
    standard ones of a newer os-traits) are created."""
    rows = list(src.execute(select(_u_trait).order_by(_u_trait.c.id)))
    sink.begin("traits", len(rows))
    existing = {r.name: r.id for r in dst.execute(select(tables.traits.c.name, tables.traits.c.id))}
    missing = []
    for r in rows:
        name = _check_str("traits", r.id, "name", r.name, 255)
        if name not in existing:
            missing.append({"name": name, "created_at": r.created_at, "updated_at": r.updated_at})
    for batch in _batches(missing):
        dst.execute(tables.traits.insert(), batch)
    by_name = {r.name: r.id for r in dst.execute(select(tables.traits.c.name, tables.traits.c.id))}
    maps.trait = {r.id: by_name[r.name] for r in rows}
    written["traits created"] = len(missing)
    sink.advance(len(rows))
    sink.end()


def _copy_providers(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Providers with their exact generations, then their tree links.

    Upstream's invariants (enforced since its 611cd6dffd7b migration, "block
    on null root provider id"): every provider has a root; a provider without
    a parent is its own root; a child shares its parent's root.
    """
    rows = list(src.execute(select(_u_rp).order_by(_u_rp.c.id)))
    sink.begin("providers", len(rows) * 2)
    by_id = {r.id: r for r in rows}
    seen_uuid: set[str] = set()
    for r in rows:
        uuid = _check_str("resource_providers", r.id, "uuid", r.uuid, 36)
        if uuid in seen_uuid:
            raise _refuse_row("resource_providers", r.id, f"uuid {uuid} is not unique")
        seen_uuid.add(uuid)
        _check_str("resource_providers", r.id, "name", r.name, 200)
        _check_int("resource_providers", r.id, "generation", r.generation, 0)
        if r.root_provider_id is None:
            raise _refuse_row(
                "resource_providers",
                r.id,
                "root_provider_id is NULL (upstream's `placement-manage db "
                "online_data_migrations` fills it)",
            )
        if r.root_provider_id not in by_id:
            raise _refuse_row(
                "resource_providers", r.id, f"root provider id={r.root_provider_id} does not exist"
            )
        if r.parent_provider_id is None:
            if r.root_provider_id != r.id:
                raise _refuse_row(
                    "resource_providers", r.id, "has no parent but is not its own root"
                )
        else:
            parent = by_id.get(r.parent_provider_id)
            if parent is None:
                raise _refuse_row(
                    "resource_providers",
                    r.id,
                    f"parent provider id={r.parent_provider_id} does not exist",
                )
            if parent.root_provider_id != r.root_provider_id:
                raise _refuse_row(
                    "resource_providers", r.id, "its root differs from its parent's root"
                )
    _check_acyclic(by_id)
    for batch in _batches(
        {
            "uuid": r.uuid,
            "name": r.name,
            "generation": r.generation,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        }
        for r in rows
    ):
        dst.execute(tables.resource_providers.insert(), batch)
        sink.advance(len(batch))
    rp = tables.resource_providers
    ids = {r.uuid: r.id for r in dst.execute(select(rp.c.uuid, rp.c.id))}
    maps.provider = {r.id: ids[r.uuid] for r in rows}
    maps.provider_uuid = {r.id: r.uuid for r in rows}
    link = (
        update(rp)
        .where(rp.c.id == bindparam("b_id"))
        .values(root_provider_id=bindparam("b_root"), parent_provider_id=bindparam("b_parent"))
    )
    # Roots first, then children by depth: every parent exists when its child
    # names it (corral declares the foreign keys upstream only half-declares).
    for batch in _batches(
        {
            "b_id": maps.provider[r.id],
            "b_root": maps.provider[r.root_provider_id],
            "b_parent": None
            if r.parent_provider_id is None
            else maps.provider[r.parent_provider_id],
        }
        for r in rows
    ):
        dst.execute(link, batch)
        sink.advance(len(batch))
    written["providers"] = len(rows)
    sink.end()


def _check_acyclic(by_id: dict[int, Any]) -> None:
    done: set[int] = set()
    for start in by_id:
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in done:
            if node in on_path:
                raise _refuse_row("resource_providers", node, "its parents form a cycle")
            on_path.add(node)
            path.append(node)
            node = by_id[node].parent_provider_id
        done.update(path)


def _target_rc(maps: _Maps, table: str, row_id: object, rc_id: object) -> int:
    if isinstance(rc_id, int) and rc_id in maps.rc:
        return maps.rc[rc_id]
    if isinstance(rc_id, int) and rc_id in maps.unknown_rc:
        raise _refuse_row(
            table,
            row_id,
            f"resource class {maps.unknown_rc[rc_id]} is not a standard class of this "
            f"corral's os-resource-classes ({len(rc_store.STANDARD_IDS)} classes): "
            "upgrade corral first",
        )
    raise _refuse_row(table, row_id, f"resource class id={rc_id} does not exist")


def _target_provider(maps: _Maps, table: str, row_id: object, rp_id: object) -> int:
    if isinstance(rp_id, int) and rp_id in maps.provider:
        return maps.provider[rp_id]
    raise _refuse_row(table, row_id, f"resource provider id={rp_id} does not exist")


def _copy_inventories(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Inventories within the bounds of upstream's inventory schema
    (placement/schemas/inventory.py: total >= 1, reserved >= 0, min_unit,
    max_unit, step_size >= 1, allocation_ratio a finite number)."""
    sink.begin("inventories", _count(src, _u_inv))

    def rows() -> Iterator[dict[str, Any]]:
        for r in _stream(src, select(_u_inv).order_by(_u_inv.c.id)):
            t = "inventories"
            ratio = r.allocation_ratio
            if not isinstance(ratio, int | float) or not math.isfinite(ratio) or ratio < 0:
                raise _refuse_row(t, r.id, f"allocation_ratio {ratio!r} is not a number >= 0")
            yield {
                "resource_provider_id": _target_provider(maps, t, r.id, r.resource_provider_id),
                "resource_class_id": _target_rc(maps, t, r.id, r.resource_class_id),
                "total": _check_int(t, r.id, "total", r.total, 1),
                "reserved": _check_int(t, r.id, "reserved", r.reserved, 0),
                "min_unit": _check_int(t, r.id, "min_unit", r.min_unit, 1),
                "max_unit": _check_int(t, r.id, "max_unit", r.max_unit, 1),
                "step_size": _check_int(t, r.id, "step_size", r.step_size, 1),
                "allocation_ratio": float(ratio),
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in _batches(rows()):
        dst.execute(tables.inventories.insert(), batch)
        written["inventories"] += len(batch)
        sink.advance(len(batch))
    sink.end()


def _copy_aggregates(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    agg = tables.placement_aggregates
    rows = list(src.execute(select(_u_agg).order_by(_u_agg.c.id)))
    links = list(src.execute(select(_u_rpa)))
    sink.begin("aggregates", len(rows) + len(links))
    existing = {r.uuid: r.id for r in dst.execute(select(agg.c.uuid, agg.c.id))}
    new = []
    for r in rows:
        uuid = _check_str("placement_aggregates", r.id, "uuid", r.uuid, 36)
        if uuid not in existing:
            new.append({"uuid": uuid, "created_at": r.created_at, "updated_at": r.updated_at})
    for batch in _batches(new):
        dst.execute(agg.insert(), batch)
    ids = {r.uuid: r.id for r in dst.execute(select(agg.c.uuid, agg.c.id))}
    maps.aggregate = {r.id: ids[r.uuid] for r in rows}
    sink.advance(len(rows))
    out = []
    for r in links:
        key = f"(resource_provider_id={r.resource_provider_id}, aggregate_id={r.aggregate_id})"
        if r.aggregate_id not in maps.aggregate:
            raise _refuse_row(
                "resource_provider_aggregates", key, f"aggregate id={r.aggregate_id} does not exist"
            )
        out.append(
            {
                "resource_provider_id": _target_provider(
                    maps, "resource_provider_aggregates", key, r.resource_provider_id
                ),
                "aggregate_id": maps.aggregate[r.aggregate_id],
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
        )
    for batch in _batches(out):
        dst.execute(tables.resource_provider_aggregates.insert(), batch)
        sink.advance(len(batch))
    written["aggregates"] = len(rows)
    written["provider aggregates"] = len(out)
    sink.end()


def _copy_provider_traits(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    links = list(src.execute(select(_u_rpt)))
    sink.begin("provider traits", len(links))
    out = []
    for r in links:
        key = f"(trait_id={r.trait_id}, resource_provider_id={r.resource_provider_id})"
        if r.trait_id not in maps.trait:
            raise _refuse_row(
                "resource_provider_traits", key, f"trait id={r.trait_id} does not exist"
            )
        out.append(
            {
                "trait_id": maps.trait[r.trait_id],
                "resource_provider_id": _target_provider(
                    maps, "resource_provider_traits", key, r.resource_provider_id
                ),
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
        )
    for batch in _batches(out):
        dst.execute(tables.resource_provider_traits.insert(), batch)
        sink.advance(len(batch))
    written["provider traits"] = len(out)
    sink.end()


def _map_by_name(
    src: Connection,
    dst: Connection,
    source: Table,
    target: Table,
    column: str,
    max_len: int,
) -> dict[int, int]:
    """Source id -> target id of rows keyed by `column` (projects and users by
    external id, consumer types by name), inserting those the target lacks."""
    rows = list(src.execute(select(source).order_by(source.c.id)))
    existing = {r[0]: r[1] for r in dst.execute(select(target.c[column], target.c.id))}
    new = []
    for r in rows:
        value = _check_str(source.name, r.id, column, getattr(r, column), max_len)
        if value not in existing:
            new.append({column: value, "created_at": r.created_at, "updated_at": r.updated_at})
            existing[value] = -1
    for batch in _batches(new):
        dst.execute(target.insert(), batch)
    ids = {r[0]: r[1] for r in dst.execute(select(target.c[column], target.c.id))}
    return {r.id: ids[getattr(r, column)] for r in rows}


def _copy_owners(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    sink.begin("projects, users, consumer types", 3)
    maps.project = _map_by_name(src, dst, _u_project, tables.projects, "external_id", 255)
    sink.advance(1)
    maps.user = _map_by_name(src, dst, _u_user, tables.users, "external_id", 255)
    sink.advance(1)
    maps.ctype = _map_by_name(src, dst, _u_ctype, tables.consumer_types, "name", 255)
    sink.advance(1)
    written["projects"] = len(maps.project)
    written["users"] = len(maps.user)
    written["consumer types"] = len(maps.ctype)
    sink.end()


def _copy_consumers(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> int:
    """Consumers that hold allocations, with their generation, owner and type.

    A consumer with no allocation is left out: in corral a consumer exists
    exactly as long as it has allocations, and upstream deletes such rows
    itself when their last allocation goes (`delete_consumers_if_no_allocations`).
    Returns how many were left out.
    """
    holding = set(
        r[0] for r in src.execute(select(_u_alloc.c.consumer_id).distinct())
    )  # fmt: skip
    sink.begin("consumers", _count(src, _u_consumer))
    skipped = 0
    seen: set[str] = set()

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal skipped
        t = "consumers"
        for r in _stream(src, select(_u_consumer).order_by(_u_consumer.c.id)):
            uuid = _check_str(t, r.id, "uuid", r.uuid, 36)
            seen.add(uuid)
            if uuid not in holding:
                skipped += 1
                continue
            if r.project_id not in maps.project:
                raise _refuse_row(t, r.id, f"project id={r.project_id} does not exist")
            if r.user_id not in maps.user:
                raise _refuse_row(t, r.id, f"user id={r.user_id} does not exist")
            if r.consumer_type_id is not None and r.consumer_type_id not in maps.ctype:
                raise _refuse_row(t, r.id, f"consumer type id={r.consumer_type_id} does not exist")
            yield {
                "uuid": uuid,
                "project_id": maps.project[r.project_id],
                "user_id": maps.user[r.user_id],
                "generation": _check_int(t, r.id, "generation", r.generation, 0),
                "consumer_type_id": None
                if r.consumer_type_id is None
                else maps.ctype[r.consumer_type_id],
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in _batches(rows()):
        dst.execute(tables.consumers.insert(), batch)
        written["consumers"] += len(batch)
        sink.advance(len(batch))
    sink.advance(skipped)
    orphans = sorted(holding - seen)
    if orphans:
        raise ImportRefused(
            f"source allocations name consumer {orphans[0]} (and {len(orphans) - 1} more) "
            "with no consumers row: run upstream's `placement-manage db "
            "online_data_migrations` on the source first (it creates them); nothing was imported"
        )
    sink.end()
    return skipped


def _copy_allocations(
    src: Connection, dst: Connection, maps: _Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Allocations, used >= 1 as upstream's allocation schema requires."""
    sink.begin("allocations", _count(src, _u_alloc))

    def rows() -> Iterator[dict[str, Any]]:
        t = "allocations"
        for r in _stream(src, select(_u_alloc).order_by(_u_alloc.c.id)):
            yield {
                "resource_provider_id": _target_provider(maps, t, r.id, r.resource_provider_id),
                "resource_class_id": _target_rc(maps, t, r.id, r.resource_class_id),
                "consumer_id": _check_str(t, r.id, "consumer_id", r.consumer_id, 36),
                "used": _check_int(t, r.id, "used", r.used, 1),
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in _batches(rows()):
        dst.execute(tables.allocations.insert(), batch)
        written["allocations"] += len(batch)
        sink.advance(len(batch))
    sink.end()


# --- the check before commit --------------------------------------------------------


def _names(conn: Connection, column: Any) -> set[str]:
    return {r[0] for r in conn.execute(select(column))}


def _usage(conn: Connection, rp: Table, rc: Table, alloc: Table) -> dict[tuple[str, str], int]:
    """(provider uuid, class name) -> sum of used, read the same way on both sides."""
    query = (
        select(rp.c.uuid, rc.c.name, func.sum(alloc.c.used))
        .select_from(
            alloc.join(rp, rp.c.id == alloc.c.resource_provider_id).join(
                rc, rc.c.id == alloc.c.resource_class_id
            )
        )
        .group_by(rp.c.uuid, rc.c.name)
    )
    return {(r[0], r[1]): int(r[2] or 0) for r in conn.execute(query)}


def _verify(
    src: Connection,
    dst: Connection,
    report: ImportReport,
    written: Counter[str],
    skipped_consumers: int,
    sink: ProgressSink,
) -> None:
    """Read the copy back from the target and compare it with the source."""
    sink.begin("verifying", 3)
    t = tables

    def row(entity: str, source: int, imported: int, skipped: int = 0, note: str = "") -> None:
        report.counts.append(CountRow(entity, source, imported, skipped, note))

    def present(source_names: set[str], target_column: Any) -> int:
        return len(source_names & _names(dst, target_column))

    row("providers", _count(src, _u_rp), _count(dst, t.resource_providers))
    row("inventories", _count(src, _u_inv), _count(dst, t.inventories))
    row("allocations", _count(src, _u_alloc), _count(dst, t.allocations))
    row(
        "consumers",
        _count(src, _u_consumer),
        _count(dst, t.consumers),
        skipped_consumers,
        f"{skipped_consumers} without allocations left out" if skipped_consumers else "",
    )
    src_custom = {
        n for n in _names(src, _u_rc.c.name) if n.startswith(os_resource_classes.CUSTOM_NAMESPACE)
    }
    row("custom resource classes", len(src_custom), present(src_custom, t.resource_classes.c.name))
    src_traits = _names(src, _u_trait.c.name)
    row(
        "traits",
        len(src_traits),
        present(src_traits, t.traits.c.name),
        note=f"{written['traits created']} created" if written["traits created"] else "",
    )
    row("provider traits", _count(src, _u_rpt), _count(dst, t.resource_provider_traits))
    src_aggs = _names(src, _u_agg.c.uuid)
    row("aggregates", len(src_aggs), present(src_aggs, t.placement_aggregates.c.uuid))
    row("provider aggregates", _count(src, _u_rpa), _count(dst, t.resource_provider_aggregates))
    src_projects = _names(src, _u_project.c.external_id)
    row("projects", len(src_projects), present(src_projects, t.projects.c.external_id))
    src_users = _names(src, _u_user.c.external_id)
    row("users", len(src_users), present(src_users, t.users.c.external_id))
    src_types = _names(src, _u_ctype.c.name)
    row("consumer types", len(src_types), present(src_types, t.consumer_types.c.name))
    sink.advance(1)

    rp = t.resource_providers
    src_gen = {r[0]: r[1] for r in src.execute(select(_u_rp.c.uuid, _u_rp.c.generation))}
    dst_gen = {r[0]: r[1] for r in dst.execute(select(rp.c.uuid, rp.c.generation))}
    for uuid in sorted(src_gen.keys() | dst_gen.keys()):
        a, b = src_gen.get(uuid, -1), dst_gen.get(uuid, -1)
        if a != b:
            report.mismatches.append(Mismatch(uuid, "generation", a, b))
    sink.advance(1)
    src_use = _usage(src, _u_rp, _u_rc, _u_alloc)
    dst_use = _usage(dst, rp, t.resource_classes, t.allocations)
    for key in sorted(src_use.keys() | dst_use.keys()):
        a, b = src_use.get(key, 0), dst_use.get(key, 0)
        if a != b:
            report.mismatches.append(Mismatch(key[0], key[1], a, b))
    report.providers_compared = len(src_gen)
    sink.advance(1)
    sink.end()


def summary_rows(report: ImportReport) -> Sequence[tuple[str, int, int, str]]:
    """(entity, source, imported, verdict) per entity, for the CLI's table."""
    out = []
    for c in report.counts:
        verdict = "OK" if c.ok else "MISMATCH"
        out.append((c.entity, c.source, c.imported, f"{verdict} {c.note}".rstrip()))
    return out
