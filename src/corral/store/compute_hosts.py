"""Compute hosts (one row per hypervisor node) and their nova-compute services."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, or_, select

from corral.store import host_changes, tables
from corral.store.chunks import in_chunks

_hosts = tables.compute_hosts
_services = tables.compute_services

COMPUTE_BINARY = "nova-compute"


@dataclass(frozen=True, slots=True)
class NodeValues:
    """What a compute reports about one of its nodes (every column but the keys)."""

    provider_uuid: str
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    cpu_info: dict[str, Any]
    capabilities: dict[str, Any]
    metrics: dict[str, float]
    supported_instances: list[list[str]]
    host_ip: str | None
    numa_topology: dict[str, Any] | None
    pci_stats: list[dict[str, Any]]
    num_io_ops: int
    failed_builds: int
    cell_uuid: str | None


@dataclass(frozen=True, slots=True)
class NodeRow:
    id: int
    host: str
    nodename: str
    values: NodeValues
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class ServiceRow:
    id: int
    host: str
    binary: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_heartbeat: datetime.datetime | None
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


_VALUE_COLUMNS = tuple(NodeValues.__dataclass_fields__)


# The node columns in the order _node reads them: keys, values, times.
_NODE_COLUMNS = (
    _hosts.c.id,
    _hosts.c.host,
    _hosts.c.nodename,
    *(_hosts.c[name] for name in _VALUE_COLUMNS),
    _hosts.c.created_at,
    _hosts.c.updated_at,
)
_VALUES_END = 3 + len(_VALUE_COLUMNS)


def _nodes() -> Select[Any]:
    return select(*_NODE_COLUMNS)


def _node(r: Any) -> NodeRow:
    """A row of _nodes(), by position: the host cache's full load makes
    100,000 of these, and a getattr per column was most of its cost."""
    return NodeRow(r[0], r[1], r[2], NodeValues(*r[3:_VALUES_END]), r[_VALUES_END], r[-1])


def _service(r: Any) -> ServiceRow:
    return ServiceRow(
        id=r.id,
        host=r.host,
        binary=r.binary,
        disabled=bool(r.disabled),
        disabled_reason=r.disabled_reason,
        forced_down=bool(r.forced_down),
        last_heartbeat=r.last_heartbeat,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


# --- nodes ---------------------------------------------------------------------


def nodes_of_host(conn: Connection, host: str) -> list[NodeRow]:
    rows = conn.execute(_nodes().where(_hosts.c.host == host).order_by(_hosts.c.nodename))
    return [_node(r) for r in rows]


def nodes_of_hosts(conn: Connection, hosts: Collection[str]) -> list[NodeRow]:
    out: list[NodeRow] = []
    for chunk in in_chunks(hosts):
        out.extend(_node(r) for r in conn.execute(_nodes().where(_hosts.c.host.in_(chunk))))
    return out


def node_by_provider(conn: Connection, provider_uuid: str) -> NodeRow | None:
    row = conn.execute(_nodes().where(_hosts.c.provider_uuid == provider_uuid)).first()
    return None if row is None else _node(row)


def nodes_by_ids(conn: Connection, ids: Collection[int] | None = None) -> list[NodeRow]:
    """Every node (None) or the nodes with these ids that still exist."""
    if ids is None:
        return [_node(r) for r in conn.execute(_nodes().order_by(_hosts.c.id))]
    out: list[NodeRow] = []
    for chunk in in_chunks(ids):
        out.extend(_node(r) for r in conn.execute(_nodes().where(_hosts.c.id.in_(chunk))))
    return out


def host_names(
    conn: Connection, *, after: str | None, limit: int, provider_uuid: str | None = None
) -> list[str]:
    """Host names in order, the first `limit` after `after` (a page of hosts)."""
    query = select(_hosts.c.host).distinct().order_by(_hosts.c.host).limit(limit)
    if after is not None:
        query = query.where(_hosts.c.host > after)
    if provider_uuid is not None:
        query = query.where(_hosts.c.provider_uuid == provider_uuid)
    return [r[0] for r in conn.execute(query)]


def insert_node(
    conn: Connection, host: str, nodename: str, values: NodeValues, now: datetime.datetime
) -> int:
    new_id = conn.execute(
        _hosts.insert()
        .values(host=host, nodename=nodename, created_at=now, updated_at=now, **asdict(values))
        .returning(_hosts.c.id)
    ).scalar_one()
    host_changes.record(conn, host_changes.HOSTS, [int(new_id)])
    return int(new_id)


def _columns(values: NodeValues) -> dict[str, Any]:
    # Not asdict: it deep-copies every JSON column of every row.
    return {name: getattr(values, name) for name in _VALUE_COLUMNS}


def nodes_by_providers(conn: Connection, provider_uuids: Collection[str]) -> dict[str, NodeRow]:
    """provider uuid -> the node it is the root provider of, for those that are one."""
    out: dict[str, NodeRow] = {}
    for chunk in in_chunks(provider_uuids):
        query = _nodes().where(_hosts.c.provider_uuid.in_(chunk))
        out.update((n.values.provider_uuid, n) for n in map(_node, conn.execute(query)))
    return out


def insert_nodes(
    conn: Connection, nodes: Sequence[tuple[str, str, NodeValues]], now: datetime.datetime
) -> list[int]:
    """`insert_node` for many (host, nodename, values) in one statement; the new ids."""
    if not nodes:
        return []
    rows = [
        {"host": host, "nodename": nodename, "created_at": now, "updated_at": now, **_columns(v)}
        for host, nodename, v in nodes
    ]
    ids = [int(i) for i in conn.execute(_hosts.insert().returning(_hosts.c.id), rows).scalars()]
    host_changes.record(conn, host_changes.HOSTS, ids)
    return ids


_UPDATE_NODE = (
    _hosts.update()
    .where(_hosts.c.id == bindparam("b_id"))
    .values(
        updated_at=bindparam("b_updated_at"),
        **{name: bindparam(f"b_{name}", type_=_hosts.c[name].type) for name in _VALUE_COLUMNS},
    )
)


def update_nodes(
    conn: Connection, nodes: Sequence[tuple[int, NodeValues]], now: datetime.datetime
) -> None:
    """`update_node` for many (node id, values) in one executemany."""
    if not nodes:
        return
    conn.execute(
        _UPDATE_NODE,
        [
            {
                "b_id": node_id,
                "b_updated_at": now,
                **{f"b_{name}": getattr(v, name) for name in _VALUE_COLUMNS},
            }
            for node_id, v in nodes
        ],
    )
    host_changes.record(conn, host_changes.HOSTS, [node_id for node_id, _v in nodes])


def update_node(conn: Connection, node_id: int, values: NodeValues, now: datetime.datetime) -> None:
    conn.execute(
        _hosts.update().where(_hosts.c.id == node_id).values(updated_at=now, **asdict(values))
    )
    host_changes.record(conn, host_changes.HOSTS, [node_id])


def delete_nodes(conn: Connection, node_ids: Iterable[int]) -> None:
    ids = sorted(set(node_ids))
    for chunk in in_chunks(ids):
        conn.execute(_hosts.delete().where(_hosts.c.id.in_(chunk)))
    host_changes.record(conn, host_changes.HOSTS, ids)


# --- services ------------------------------------------------------------------


def service(conn: Connection, host: str, binary: str = COMPUTE_BINARY) -> ServiceRow | None:
    row = conn.execute(
        select(_services).where(_services.c.host == host, _services.c.binary == binary)
    ).first()
    return None if row is None else _service(row)


def services_of_hosts(conn: Connection, hosts: Collection[str]) -> dict[str, ServiceRow]:
    """host -> its nova-compute service, for the hosts that have one."""
    out: dict[str, ServiceRow] = {}
    for chunk in in_chunks(hosts):
        query = select(_services).where(
            _services.c.host.in_(chunk), _services.c.binary == COMPUTE_BINARY
        )
        out.update((r.host, _service(r)) for r in conn.execute(query))
    return out


def services_by_ids(conn: Connection, ids: Collection[int] | None = None) -> list[ServiceRow]:
    """Every nova-compute service (None) or those with these ids that still exist."""
    base = select(_services).where(_services.c.binary == COMPUTE_BINARY)
    if ids is None:
        return [_service(r) for r in conn.execute(base.order_by(_services.c.id))]
    out: list[ServiceRow] = []
    for chunk in in_chunks(ids):
        out.extend(_service(r) for r in conn.execute(base.where(_services.c.id.in_(chunk))))
    return out


def insert_service(conn: Connection, host: str, now: datetime.datetime) -> ServiceRow:
    """A new, enabled service whose first heartbeat is its creation (as Nova
    counts a service that never reported from its created_at)."""
    new_id = conn.execute(
        _services.insert()
        .values(
            host=host,
            binary=COMPUTE_BINARY,
            disabled=False,
            disabled_reason=None,
            forced_down=False,
            last_heartbeat=now,
            created_at=now,
            updated_at=now,
        )
        .returning(_services.c.id)
    ).scalar_one()
    host_changes.record(conn, host_changes.SERVICES, [int(new_id)])
    found = service(conn, host)
    assert found is not None
    return found


def insert_services(conn: Connection, hosts: Collection[str], now: datetime.datetime) -> list[int]:
    """`insert_service` for many hosts in one statement; the new ids."""
    if not hosts:
        return []
    rows = [
        {
            "host": host,
            "binary": COMPUTE_BINARY,
            "disabled": False,
            "disabled_reason": None,
            "forced_down": False,
            "last_heartbeat": now,
            "created_at": now,
            "updated_at": now,
        }
        for host in sorted(set(hosts))
    ]
    ids = [
        int(i) for i in conn.execute(_services.insert().returning(_services.c.id), rows).scalars()
    ]
    host_changes.record(conn, host_changes.SERVICES, ids)
    return ids


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What an operator sets on a service (`update_service`'s columns)."""

    disabled: bool
    disabled_reason: str | None
    forced_down: bool


_UPDATE_SERVICE = (
    _services.update()
    .where(_services.c.id == bindparam("b_id"))
    .values(
        disabled=bindparam("b_disabled"),
        disabled_reason=bindparam("b_disabled_reason"),
        forced_down=bindparam("b_forced_down"),
        updated_at=bindparam("b_updated_at"),
    )
)


def update_services(
    conn: Connection, states: Mapping[int, ServiceState], now: datetime.datetime
) -> None:
    """`update_service` for many service ids in one executemany."""
    if not states:
        return
    conn.execute(
        _UPDATE_SERVICE,
        [
            {
                "b_id": service_id,
                "b_disabled": s.disabled,
                "b_disabled_reason": s.disabled_reason,
                "b_forced_down": s.forced_down,
                "b_updated_at": now,
            }
            for service_id, s in sorted(states.items())
        ],
    )
    host_changes.record(conn, host_changes.SERVICES, list(states))


def update_service(
    conn: Connection,
    service_id: int,
    *,
    disabled: bool,
    disabled_reason: str | None,
    forced_down: bool,
    now: datetime.datetime,
) -> None:
    conn.execute(
        _services.update()
        .where(_services.c.id == service_id)
        .values(
            disabled=disabled,
            disabled_reason=disabled_reason,
            forced_down=forced_down,
            updated_at=now,
        )
    )
    host_changes.record(conn, host_changes.SERVICES, [service_id])


def record_heartbeat(conn: Connection, host: str, now: datetime.datetime) -> bool:
    """Move the service's last heartbeat to `now`; False when the host has none.

    Not logged in the change log (see corral.store.host_changes).
    """
    result = conn.execute(
        _services.update()
        .where(_services.c.host == host, _services.c.binary == COMPUTE_BINARY)
        .values(last_heartbeat=now)
    )
    return bool(result.rowcount)


def record_heartbeats(conn: Connection, heartbeats: Mapping[str, datetime.datetime]) -> None:
    """`record_heartbeat` for many hosts in one executemany (heartbeats a
    feed copied from Nova's services table); not in the change log either."""
    if not heartbeats:
        return
    conn.execute(
        _services.update()
        .where(_services.c.host == bindparam("b_host"), _services.c.binary == COMPUTE_BINARY)
        .values(last_heartbeat=bindparam("b_heartbeat")),
        [{"b_host": host, "b_heartbeat": when} for host, when in sorted(heartbeats.items())],
    )


def heartbeats(conn: Connection) -> dict[int, datetime.datetime | None]:
    """Every nova-compute service's last heartbeat, by service id."""
    query = select(_services.c.id, _services.c.last_heartbeat).where(
        _services.c.binary == COMPUTE_BINARY
    )
    return {int(r[0]): r[1] for r in conn.execute(query)}


def delete_service(conn: Connection, service_id: int) -> None:
    conn.execute(_services.delete().where(_services.c.id == service_id))
    host_changes.record(conn, host_changes.SERVICES, [service_id])


def stale_heartbeats(
    conn: Connection, before: datetime.datetime
) -> list[tuple[int, datetime.datetime | None]]:
    """(service id, last heartbeat) of the services last heard from before
    `before` (or never): the few that are down or about to be."""
    query = select(_services.c.id, _services.c.last_heartbeat).where(
        _services.c.binary == COMPUTE_BINARY,
        or_(_services.c.last_heartbeat.is_(None), _services.c.last_heartbeat < before),
    )
    return [(int(r[0]), r[1]) for r in conn.execute(query)]
