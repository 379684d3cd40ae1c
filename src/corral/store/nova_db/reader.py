"""Reading Nova's databases the way nova-scheduler does, and nothing else.

Mirrors what nova.scheduler.host_manager.HostManager reads on each refresh:
the cell mappings (nova.objects.CellMappingList.get_all, cell0 and disabled
cells left out as HostManager.refresh_cells_caches does), then per cell
nova.objects.ComputeNodeList.get_all and ServiceList.get_by_binary(
"nova-compute") (deleted rows excluded), the instances on each host
(HostManager._get_instances_by_host), and from the API database the
aggregates (AggregateList.get_all) and server groups (InstanceGroup).
Liveness is nova.servicegroup.drivers.db: last_seen_up, else updated_at,
else created_at.

Every connection is read-only at the session level (MySQL `SET SESSION
TRANSACTION READ ONLY`, PostgreSQL `default_transaction_read_only`), so even
a bug here cannot write to Nova; the account should have SELECT only anyway.
Each database is read in one transaction (REPEATABLE READ), one consistent
snapshot per database per refresh.

URLs are never logged or raised with their password: `safe_url` is the only
form that leaves this module.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlparse

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    and_,
    cast,
    create_engine,
    event,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.expression import ColumnElement, FromClause

from corral.store.chunks import in_chunks
from corral.store.database import safe_url
from corral.store.nova_db import tables as t

# Nova's well-known cell0 uuid (nova.objects.CellMapping.CELL0_UUID): it holds
# instances that failed to schedule and never a compute host.
CELL0_UUID = "00000000-0000-0000-0000-000000000000"
COMPUTE_BINARY = "nova-compute"
T = TypeVar("T")


class NovaDatabaseError(Exception):
    """A Nova database could not be read; the message holds no password."""


def parse_url(url: str) -> URL:
    """Nova's URL with a driver corral has: PyMySQL for MySQL/MariaDB (Nova's
    own recommendation), psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "mysql" and parsed.get_driver_name() != "pymysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    elif backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("mysql", "postgresql", "sqlite"):
        raise NovaDatabaseError(f"unsupported database for Nova: {backend}")
    return parsed


def _netloc_parts(netloc: str) -> dict[str, str | None]:
    """nova.objects.cell_mapping._parse_netloc: user:pass@host:port."""
    userpass, hostport = netloc.split("@", 1) if "@" in netloc else ("", netloc)
    host, port = hostport, None
    if hostport.startswith("["):  # [v6]:port (oslo_utils.netutils.parse_host_port)
        host, _b, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    username, _c, password = userpass.partition(":")
    return {
        "username": username,
        "password": password if ":" in userpass else None,
        "hostname": host,
        "port": port,
    }


def format_cell_url(url: str, default: str) -> str:
    """A cell mapping's templated database_connection filled in, as Nova's
    CellMapping.format_db_url does: `{username}`, `{password}`, `{hostname}`,
    `{port}`, `{scheme}`, `{path}`, `{query}` and `{fragment}` from `default`
    (Nova takes its own [database] connection; corral has the API database's,
    which names the same server and account in the deployments that template),
    and `{username1}`, `{hostname1}` ... for each host of a comma-separated
    netloc. A URL without a template, or one that does not format, is
    returned as it is (as Nova logs and keeps it)."""
    if "{" not in url:
        return url
    try:
        parsed = urlparse(default)
        subs: dict[str, Any] = {
            "username": parsed.username,
            "password": parsed.password,
            "hostname": parsed.hostname,
            "port": parsed.port,
            "scheme": parsed.scheme,
            "query": parsed.query,
            "fragment": parsed.fragment,
            "path": parsed.path.lstrip("/"),
        }
        if "," in parsed.netloc:
            for index, netloc in enumerate(parsed.netloc.split(","), start=1):
                for key, value in _netloc_parts(netloc).items():
                    subs[f"{key}{index}"] = value
        return url.format(**subs)
    except (ValueError, KeyError, IndexError, AttributeError):
        return url


def read_only_engine(url: str) -> Engine:
    """A small pool of read-only connections to one of Nova's databases."""
    if "{" in url:
        # A template that did not format (format_cell_url): no database to read.
        raise NovaDatabaseError(f"database_connection template did not format: {safe_url(url)}")
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend != "sqlite":
        kwargs.update(pool_size=2, max_overflow=2, pool_recycle=3600)
    if backend == "postgresql":
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        kwargs["isolation_level"] = "REPEATABLE READ"
    elif backend == "mysql":
        kwargs["isolation_level"] = "REPEATABLE READ"
    engine = create_engine(parsed, **kwargs)
    if backend == "mysql":

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: object) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")

    return engine


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction, rolled back at the end (there is nothing to commit)."""
    with engine.connect() as conn:
        try:
            yield conn
        finally:
            conn.rollback()


# --- API database ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellMapping:
    id: int
    uuid: str
    name: str | None
    database_connection: str = field(repr=False)  # holds a password: never printed


@dataclass(frozen=True, slots=True)
class NovaAggregate:
    uuid: str
    name: str
    metadata: dict[str, str]
    hosts: tuple[str, ...]  # sorted


@dataclass(frozen=True, slots=True)
class NovaGroup:
    uuid: str
    name: str
    project_id: str
    user_id: str
    policy: str | None
    rules: str | None  # JSON text, as Nova stores it
    members: tuple[str, ...]  # in joining order


@dataclass(frozen=True, slots=True)
class ApiRows:
    cells: list[CellMapping]  # enabled, cell0 excluded
    host_cells: dict[str, str]  # host -> cell uuid (host_mappings)
    aggregates: list[NovaAggregate]
    groups: list[NovaGroup]


def read_api(conn: Connection) -> ApiRows:
    cells = [
        CellMapping(r.id, r.uuid, r.name, r.database_connection or "")
        for r in conn.execute(
            select(t.cell_mappings)
            .where(
                t.cell_mappings.c.uuid != CELL0_UUID,
                or_(t.cell_mappings.c.disabled.is_(None), t.cell_mappings.c.disabled == false()),
            )
            .order_by(t.cell_mappings.c.id)
        )
    ]
    all_cells = {
        r.id: r.uuid for r in conn.execute(select(t.cell_mappings.c.id, t.cell_mappings.c.uuid))
    }
    host_cells = {
        r.host: all_cells[r.cell_id]
        for r in conn.execute(select(t.host_mappings.c.host, t.host_mappings.c.cell_id))
        if r.cell_id in all_cells
    }
    return ApiRows(cells, host_cells, _aggregates(conn), _groups(conn))


def _aggregates(conn: Connection) -> list[NovaAggregate]:
    metadata: dict[int, dict[str, str]] = {}
    for r in conn.execute(select(t.aggregate_metadata)):
        metadata.setdefault(r.aggregate_id, {})[r.key] = r.value
    hosts: dict[int, set[str]] = {}
    for r in conn.execute(select(t.aggregate_hosts.c.aggregate_id, t.aggregate_hosts.c.host)):
        if r.host:
            hosts.setdefault(r.aggregate_id, set()).add(r.host)
    return [
        NovaAggregate(
            r.uuid, r.name or "", metadata.get(r.id, {}), tuple(sorted(hosts.get(r.id, ())))
        )
        for r in conn.execute(select(t.aggregates).order_by(t.aggregates.c.id))
        if r.uuid
    ]


def _groups(conn: Connection) -> list[NovaGroup]:
    # Nova 34 writes one policy row per group (the list form ended with
    # microversion 2.64's data migration); the first by id is taken.
    policies: dict[int, tuple[str | None, str | None]] = {}
    for r in conn.execute(select(t.instance_group_policy).order_by(t.instance_group_policy.c.id)):
        policies.setdefault(r.group_id, (r.policy, r.rules))
    members: dict[int, list[str]] = {}
    for r in conn.execute(
        select(
            t.instance_group_member.c.group_id, t.instance_group_member.c.instance_uuid
        ).order_by(t.instance_group_member.c.id)
    ):
        if r.instance_uuid:
            members.setdefault(r.group_id, []).append(r.instance_uuid)
    out: list[NovaGroup] = []
    for r in conn.execute(select(t.instance_groups).order_by(t.instance_groups.c.id)):
        policy, rules = policies.get(r.id, (None, None))
        out.append(
            NovaGroup(
                r.uuid,
                r.name or "",
                r.project_id or "",
                r.user_id or "",
                policy,
                rules,
                tuple(dict.fromkeys(members.get(r.id, ()))),
            )
        )
    return out


# --- cell databases --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NovaNode:
    """A compute_nodes row, its JSON columns still text (validated by the feed)."""

    uuid: str | None
    host: str | None
    hypervisor_hostname: str | None
    hypervisor_type: str | None
    hypervisor_version: int | None
    vcpus: int | None
    memory_mb: int | None
    local_gb: int | None
    vcpus_used: int | None
    memory_mb_used: int | None
    local_gb_used: int | None
    cpu_info: str | None
    stats: str | None
    metrics: str | None
    numa_topology: str | None
    pci_stats: str | None
    supported_instances: str | None
    host_ip: str | None
    cpu_allocation_ratio: float | None
    ram_allocation_ratio: float | None
    disk_allocation_ratio: float | None


@dataclass(frozen=True, slots=True)
class NovaService:
    host: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_heartbeat: datetime.datetime | None  # last_seen_up, else updated_at, else created_at
    version: int | None


@dataclass(frozen=True, slots=True)
class NovaInstance:
    uuid: str
    host: str
    node: str | None
    project_id: str
    user_id: str
    # When the instance's row and its instance_extra row (the flavor) were
    # last saved: their change is when the flavor and image are read again.
    updated_at: datetime.datetime | None = None
    extra_updated_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class InstanceExtras:
    """What is read for an instance only when it is new or was saved since."""

    flavor: str | None  # instance_extra.flavor JSON text
    system_metadata: dict[str, str | None]  # its image_* instance_system_metadata keys


@dataclass(frozen=True, slots=True)
class CellRows:
    nodes: list[NovaNode]
    services: list[NovaService]
    instances: list[NovaInstance]
    extras: dict[str, InstanceExtras]  # instance uuid -> its extras, for those asked for


@dataclass
class CellMemory:
    """One cell's rows as `read_cell` read them last (row id -> (digest, row)):
    a row whose digest did not change is not read again."""

    nodes: dict[int, tuple[object, NovaNode]] = field(default_factory=dict)
    instances: dict[int, tuple[object, NovaInstance]] = field(default_factory=dict)


_NODE_COLUMNS = tuple(NovaNode.__dataclass_fields__)
IMAGE_PREFIX = "image_"


def _digest(conn: Connection, columns: Sequence[ColumnElement[Any]]) -> ColumnElement[Any] | None:
    """An MD5 of the columns computed by the database (None: SQLite, read them all).

    Nova's rows are decoded by a pure-Python driver (PyMySQL) column by
    column; a digest per row is two columns instead of twenty, and the full
    row is read only when its digest moved. JSON arrays keep NULL and every
    value apart, so two different rows never give the same text.
    """
    if conn.dialect.name == "mysql":
        return func.md5(func.json_array(*columns))
    if conn.dialect.name == "postgresql":
        return func.md5(cast(func.json_build_array(*columns), Text))
    return None


def _remembered(
    conn: Connection,
    key: ColumnElement[int],
    columns: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    source: FromClause,
    memory: Mapping[int, tuple[object, T]],
    make: Callable[[Sequence[Any]], T],
) -> dict[int, tuple[object, T]]:
    """key -> (digest, row) of every row `where` selects, in key order."""
    full = select(key, *columns).select_from(source).where(*where)
    digest = _digest(conn, columns)
    if digest is None:
        return {r[0]: (None, make(r[1:])) for r in conn.execute(full.order_by(key))}
    digests: dict[int, object] = {
        r[0]: r[1]
        for r in conn.execute(select(key, digest).select_from(source).where(*where).order_by(key))
    }
    out: dict[int, tuple[object, T]] = {}
    for row_id, row_digest in digests.items():
        known = memory.get(row_id)
        if known is not None and known[0] == row_digest:
            out[row_id] = known
    for chunk in in_chunks([k for k in digests if k not in out]):
        for r in conn.execute(full.where(key.in_(chunk))):
            out[r[0]] = (digests[r[0]], make(r[1:]))
    return dict(sorted(out.items()))


def read_cell(
    conn: Connection,
    memory: CellMemory,
    extras_for: Callable[[list[NovaInstance]], Collection[str]],
) -> CellRows:
    """One cell's compute nodes, nova-compute services and live instances
    (`memory` is updated once all of them are read).

    Flavors (a few KiB of JSON each) and image properties are read only for
    the instances `extras_for` names: those corral does not hold as they are already.
    """
    cn = t.compute_nodes
    nodes = _remembered(
        conn,
        cn.c.id,
        [cn.c[name] for name in _NODE_COLUMNS],
        [cn.c.deleted == 0],
        cn,
        memory.nodes,
        lambda r: NovaNode(*r),  # the columns are selected in NovaNode's field order
    )
    sv = t.services
    services = [
        NovaService(r[0], bool(r[1]), r[2], bool(r[3]), r[4], r[5])
        for r in conn.execute(
            select(
                sv.c.host,
                sv.c.disabled,
                sv.c.disabled_reason,
                sv.c.forced_down,
                func.coalesce(sv.c.last_seen_up, sv.c.updated_at, sv.c.created_at),
                sv.c.version,
            )
            .where(sv.c.binary == COMPUTE_BINARY, sv.c.deleted == 0)
            .order_by(sv.c.id)
        )
        if r[0]
    ]
    it, ex = t.instances, t.instance_extra
    instances = _remembered(
        conn,
        it.c.id,
        [it.c.uuid, it.c.host, it.c.node, it.c.project_id, it.c.user_id, it.c.updated_at,
         ex.c.updated_at],
        [
            it.c.deleted == 0,
            it.c.host.is_not(None),
            or_(it.c.vm_state.is_(None), it.c.vm_state != "deleted"),
        ],
        it.outerjoin(ex, and_(ex.c.instance_uuid == it.c.uuid, ex.c.deleted == 0)),
        memory.instances,
        lambda r: NovaInstance(r[0], r[1], r[2], r[3] or "", r[4] or "", r[5], r[6]),
    )  # fmt: skip
    live = [i for _d, i in instances.values()]
    extras = _extras(conn, sorted(set(extras_for(live))))
    memory.nodes, memory.instances = nodes, instances
    return CellRows([n for _d, n in nodes.values()], services, live, extras)


def _extras(conn: Connection, uuids: Sequence[str]) -> dict[str, InstanceExtras]:
    ex, sm = t.instance_extra, t.instance_system_metadata
    flavors: dict[str, str | None] = dict.fromkeys(uuids)
    metadata: dict[str, dict[str, str | None]] = {u: {} for u in uuids}
    for chunk in in_chunks(uuids):
        query = select(ex.c.instance_uuid, ex.c.flavor).where(
            ex.c.instance_uuid.in_(chunk), ex.c.deleted == 0
        )
        flavors.update((r[0], r[1]) for r in conn.execute(query) if r[1])
        query = select(sm.c.instance_uuid, sm.c.key, sm.c.value).where(
            sm.c.instance_uuid.in_(chunk),
            sm.c.deleted == 0,
            sm.c.key.startswith(IMAGE_PREFIX, autoescape=True),
        )
        for r in conn.execute(query):
            metadata[r[0]][r[1]] = r[2]
    return {u: InstanceExtras(flavors[u], metadata[u]) for u in uuids}
