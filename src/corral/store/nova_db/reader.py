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
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, event, false, or_, select
from sqlalchemy.engine import URL, make_url

from corral.store.chunks import in_chunks
from corral.store.database import safe_url
from corral.store.nova_db import tables as t

# Nova's well-known cell0 uuid (nova.objects.CellMapping.CELL0_UUID): it holds
# instances that failed to schedule and never a compute host.
CELL0_UUID = "00000000-0000-0000-0000-000000000000"
COMPUTE_BINARY = "nova-compute"


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


def read_only_engine(url: str) -> Engine:
    """A small pool of read-only connections to one of Nova's databases."""
    if "{" in url:
        # A templated cell URL (Nova's CellMapping._format_db_url) takes its
        # parts from nova-conductor's own [database] connection, which corral
        # does not have.
        raise NovaDatabaseError(f"templated database_connection not supported: {safe_url(url)}")
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


@dataclass(frozen=True, slots=True)
class CellRows:
    nodes: list[NovaNode]
    services: list[NovaService]
    instances: list[NovaInstance]
    flavors: dict[str, str]  # instance uuid -> instance_extra.flavor JSON text


_NODE_COLUMNS = tuple(NovaNode.__dataclass_fields__)


def read_cell(
    conn: Connection, flavors_for: Callable[[list[NovaInstance]], Collection[str]]
) -> CellRows:
    """One cell's compute nodes, nova-compute services and live instances.

    Flavors (a few KiB of JSON each) are read only for the instances
    `flavors_for` names: those corral does not hold as they are already.
    """
    cn = t.compute_nodes
    nodes = [
        NovaNode(**{name: getattr(r, name) for name in _NODE_COLUMNS})
        for r in conn.execute(
            select(*(cn.c[name] for name in _NODE_COLUMNS))
            .where(cn.c.deleted == 0)
            .order_by(cn.c.id)
        )
    ]
    sv = t.services
    services = [
        NovaService(
            r.host,
            bool(r.disabled),
            r.disabled_reason,
            bool(r.forced_down),
            r.last_seen_up or r.updated_at or r.created_at,
            r.version,
        )
        for r in conn.execute(
            select(sv).where(sv.c.binary == COMPUTE_BINARY, sv.c.deleted == 0).order_by(sv.c.id)
        )
        if r.host
    ]
    it = t.instances
    instances = [
        NovaInstance(r.uuid, r.host, r.node, r.project_id or "", r.user_id or "")
        for r in conn.execute(
            select(it.c.uuid, it.c.host, it.c.node, it.c.project_id, it.c.user_id)
            .where(
                it.c.deleted == 0,
                it.c.host.is_not(None),
                or_(it.c.vm_state.is_(None), it.c.vm_state != "deleted"),
            )
            .order_by(it.c.id)
        )
    ]
    wanted = sorted(set(flavors_for(instances)))
    ex = t.instance_extra
    flavors: dict[str, str] = {}
    for chunk in in_chunks(wanted):
        query = select(ex.c.instance_uuid, ex.c.flavor).where(
            and_(ex.c.instance_uuid.in_(chunk), ex.c.deleted == 0)
        )
        flavors.update((r.instance_uuid, r.flavor) for r in conn.execute(query) if r.flavor)
    return CellRows(nodes, services, instances, flavors)
