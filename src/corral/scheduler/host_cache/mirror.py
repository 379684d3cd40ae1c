"""The host cache's mirror of the scheduler's tables, folded in from the change log.

Nova's HostManager reads compute nodes, services, aggregates and instances
from its databases on every request (`get_all_host_states`, with the
instance info the computes report in between). corral keeps them in memory:
`HostMirror` holds compute nodes, services, host aggregates, server groups
and instances as corral.scheduler.host_cache.columns rows and lookup dicts,
loaded in full once (`read_all`), then patched with only the rows the change
log names (`read_changed`, the kinds of corral.store.host_changes).

A mirror is replaced, never emptied, on a full load. Per-host dicts and the
aggregate mapping are replaced, never changed in place, so a batch built
earlier stays coherent. Callers fold under the write side of their lock.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from corral.scheduler.batch import Aggregate
from corral.scheduler.host_cache.columns import Columns, SharedValues, epoch
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import host_changes
from corral.store import instances as instance_store
from corral.store import server_groups as group_store
from corral.store.compute_hosts import NodeRow, ServiceRow
from corral.store.host_aggregates import AggregateRow
from corral.store.instances import InstancePlacement
from corral.store.server_groups import ServerGroupRow

Rows = npt.NDArray[np.intp]
NodeKey = tuple[str, str]  # (host, node)

_EMPTY_IDS: frozenset[int] = frozenset()
_NO_INSTANCES: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Read:
    """Rows read from the database for one catch-up (None: that kind unchanged)."""

    nodes: list[NodeRow] | None = None
    services: list[ServiceRow] | None = None
    aggregates: list[AggregateRow] | None = None
    groups: list[ServerGroupRow] | None = None
    instances: list[InstancePlacement] | None = None


def read_all(conn: Connection) -> Read:
    return Read(
        nodes=host_store.nodes_by_ids(conn),
        services=host_store.services_by_ids(conn),
        aggregates=aggregate_store.by_ids(conn),
        groups=group_store.by_ids(conn),
        instances=instance_store.placements(conn),
    )


class HostMirror:
    """Every compute node, service, host aggregate, server group and instance."""

    def __init__(self, capacity: int, default_availability_zone: str) -> None:
        self.default_availability_zone = default_availability_zone
        self.cols = Columns(capacity)
        self.version = 0  # bumped when rows or their providers change
        self._row_of_node_id: dict[int, int] = {}
        self._row_of_provider: dict[str, int] = {}
        self._row_of_node: dict[NodeKey, int] = {}
        self._rows_of_host: dict[str, set[int]] = {}
        self._services: dict[int, ServiceRow] = {}
        self._service_of_host: dict[str, ServiceRow] = {}
        self.aggregates: Mapping[int, Aggregate] = {}
        self._aggregates_of_host: dict[str, set[int]] = {}
        self._zone_of: dict[frozenset[int], str] = {}
        self._groups: dict[int, ServerGroupRow] = {}
        self._group_of_uuid: dict[str, int] = {}
        self.instances: dict[int, InstancePlacement] = {}
        self._instance_of_uuid: dict[str, int] = {}
        self._on_node: dict[NodeKey, Mapping[str, str]] = {}
        self._images_on_node: dict[NodeKey, Mapping[str, Mapping[str, Any]]] = {}
        self._shared = SharedValues()

    # --- lookups (under the read side of the caller's lock) -----------------------

    def nodes(self) -> int:
        return int(self.cols.bools["alive"][: self.cols.size].sum())

    def provider_uuids(self) -> list[str]:
        return list(self._row_of_provider)

    def node_of_provider(self, provider_uuid: str) -> NodeKey | None:
        row = self._row_of_provider.get(provider_uuid)
        if row is None:
            return None
        return self.cols.obj["host"][row], self.cols.obj["node"][row]

    def rows_of(self, provider_uuids: Sequence[str]) -> Rows:
        """The rows of the nodes with those root providers, in that order (others left out)."""
        rows = np.fromiter(
            map(self._row_of_provider.get, provider_uuids, repeat(-1)),
            dtype=np.intp,
            count=len(provider_uuids),
        )
        return rows[rows >= 0] if (rows < 0).any() else rows

    def group(self, group_uuid: str) -> ServerGroupRow | None:
        group_id = self._group_of_uuid.get(group_uuid)
        return None if group_id is None else self._groups[group_id]

    def hosts_of(self, instance_uuids: Iterable[str]) -> set[str]:
        """The hosts those instances are on (unknown instances are left out)."""
        hosts = set()
        for member in instance_uuids:
            instance_id = self._instance_of_uuid.get(member)
            if instance_id is not None:
                hosts.add(self.instances[instance_id].host)
        return hosts

    def fold_heartbeats(
        self, cutoff: float, stale: Iterable[tuple[int, datetime.datetime | None]]
    ) -> None:
        """Every service heard from after `cutoff` except the `stale` ones
        (service id, last heartbeat): corral.scheduler.host_cache.liveness."""
        cols = self.cols
        beats = cols.floats["heartbeat"]
        np.maximum(beats[: cols.size], cutoff, out=beats[: cols.size])
        for service_id, last in stale:
            service = self._services.get(service_id)
            if service is not None:
                for row in self._rows_of_host.get(service.host, ()):
                    beats[row] = epoch(last)

    # --- folding rows in (under the write side of the caller's lock) --------------

    def fold(self, read: Read, wanted: Mapping[str, set[int]] | None) -> None:
        """Fold rows read from the store in (`wanted`: the ids asked for, None
        on a full load); rows asked for and not read were deleted."""

        def asked(kind: str) -> Collection[int]:
            return () if wanted is None else wanted[kind]

        if read.services is not None:
            self._fold_services(read.services, asked(host_changes.SERVICES))
        if read.aggregates is not None:
            self._fold_aggregates(read.aggregates, asked(host_changes.HOST_AGGREGATES))
        if read.instances is not None:
            self._fold_instances(read.instances, asked(host_changes.INSTANCES))
        if read.groups is not None:
            self._fold_groups(read.groups, asked(host_changes.SERVER_GROUPS))
        # Nodes last: a new row reads the services, aggregates and instances above.
        if read.nodes is not None:
            self._fold_nodes(read.nodes, asked(host_changes.HOSTS))

    def _fold_nodes(self, nodes: list[NodeRow], asked: Collection[int]) -> None:
        found = {n.id for n in nodes}
        for node_id in asked:
            if node_id not in found:
                self._drop_row(node_id)
        for node in nodes:
            row = self._row_of_node_id.get(node.id)
            if row is None:
                row = self.cols.append()
                self._row_of_node_id[node.id] = row
                self._rows_of_host.setdefault(node.host, set()).add(row)
                self.cols.bools["alive"][row] = True
                self._fill_node(row, node)
                self._fill_service(row)
                self._fill_aggregates(row)
                self._fill_instances(row)
            else:
                self._fill_node(row, node)
        self.version += 1

    def _drop_row(self, node_id: int) -> None:
        row = self._row_of_node_id.pop(node_id, None)
        if row is None:
            return
        cols = self.cols
        cols.bools["alive"][row] = False
        host, node = cols.obj["host"][row], cols.obj["node"][row]
        self._row_of_provider.pop(cols.obj["provider_uuid"][row], None)
        self._row_of_node.pop((host, node), None)
        rows = self._rows_of_host.get(host)
        if rows is not None:
            rows.discard(row)
            if not rows:
                del self._rows_of_host[host]

    def _fill_node(self, row: int, node: NodeRow) -> None:
        cols = self.cols
        values = node.values
        previous = cols.obj["provider_uuid"][row]
        if previous is not None and previous != values.provider_uuid:
            self._row_of_provider.pop(previous, None)
        self._row_of_provider[values.provider_uuid] = row
        self._row_of_node[(node.host, node.nodename)] = row
        obj = cols.obj
        same = self._shared.get
        obj["host"][row] = node.host
        obj["node"][row] = node.nodename
        obj["provider_uuid"][row] = values.provider_uuid
        obj["cell_uuid"][row] = same(values.cell_uuid or "")
        obj["hypervisor_type"][row] = same(values.hypervisor_type)
        obj["hypervisor_hostname"][row] = values.hypervisor_hostname
        obj["cpu_info"][row] = same(values.cpu_info)
        obj["capabilities"][row] = same(values.capabilities)
        obj["metrics"][row] = {k: float(v) for k, v in values.metrics.items()}
        obj["supported_instances"][row] = same(
            tuple((str(s[0]), str(s[1]), str(s[2])) for s in values.supported_instances)
        )
        obj["host_ip"][row] = values.host_ip
        obj["numa_topology"][row] = same(values.numa_topology)
        obj["pci_stats"][row] = same(list(values.pci_stats))
        ints = cols.ints
        ints["hypervisor_version"][row] = values.hypervisor_version
        ints["num_io_ops"][row] = values.num_io_ops
        ints["failed_builds"][row] = values.failed_builds

    def _fill_service(self, row: int) -> None:
        cols = self.cols
        service = self._service_of_host.get(cols.obj["host"][row])
        cols.bools["has_service"][row] = service is not None
        cols.bools["disabled"][row] = service is not None and service.disabled
        cols.bools["forced_down"][row] = service is not None and service.forced_down
        last = None if service is None else service.last_heartbeat or service.created_at
        cols.floats["heartbeat"][row] = epoch(last)

    def _fill_aggregates(self, row: int) -> None:
        host = self.cols.obj["host"][row]
        ids = frozenset(self._aggregates_of_host.get(host, _EMPTY_IDS))
        self.cols.obj["aggregate_ids"][row] = ids
        self.cols.obj["availability_zone"][row] = self._zone(ids)

    def _zone(self, ids: frozenset[int]) -> str:
        """Nova's get_host_availability_zone: the aggregates' zone, or the default."""
        zone = self._zone_of.get(ids)
        if zone is None:
            zones = sorted(
                {
                    z
                    for i in ids
                    if i in self.aggregates
                    and (z := self.aggregates[i].availability_zone) is not None
                }
            )
            zone = ",".join(zones) if zones else self.default_availability_zone
            self._zone_of[ids] = zone
        return zone

    def _fill_instances(self, row: int) -> None:
        cols = self.cols
        key = (cols.obj["host"][row], cols.obj["node"][row])
        on_node = self._on_node.get(key, _NO_INSTANCES)
        cols.obj["instances"][row] = on_node
        cols.obj["instance_image_properties"][row] = self._images_on_node.get(key, _NO_INSTANCES)
        cols.ints["num_instances"][row] = len(on_node)

    def _fold_services(self, services: list[ServiceRow], asked: Collection[int]) -> None:
        hosts: set[str] = set()
        for service_id in asked:
            old = self._services.pop(service_id, None)
            if old is not None:
                hosts.add(old.host)
                if self._service_of_host.get(old.host) is old:
                    del self._service_of_host[old.host]
        for service in services:
            self._services[service.id] = service
            self._service_of_host[service.host] = service
            hosts.add(service.host)
        for host in hosts:
            for row in self._rows_of_host.get(host, ()):
                self._fill_service(row)

    def _fold_aggregates(self, rows: list[AggregateRow], asked: Collection[int]) -> None:
        aggregates = dict(self.aggregates)  # a new mapping: batches share the old one
        hosts: set[str] = set()
        for aggregate_id in set(asked) | {r.id for r in rows}:
            old = aggregates.pop(aggregate_id, None)
            if old is not None:
                for host in old.hosts:
                    hosts.add(host)
                    self._aggregates_of_host.get(host, set()).discard(aggregate_id)
        for row in rows:
            aggregates[row.id] = Aggregate(
                id=row.id,
                uuid=row.uuid,
                name=row.name,
                metadata=MappingProxyType(dict(row.metadata)),
                hosts=frozenset(row.hosts),
            )
            for host in row.hosts:
                hosts.add(host)
                self._aggregates_of_host.setdefault(host, set()).add(row.id)
        self.aggregates = MappingProxyType(aggregates)
        self._zone_of = {}
        for host in hosts:
            for r in self._rows_of_host.get(host, ()):
                self._fill_aggregates(r)

    def _fold_groups(self, rows: list[ServerGroupRow], asked: Collection[int]) -> None:
        for group_id in asked:
            old = self._groups.pop(group_id, None)
            if old is not None:
                self._group_of_uuid.pop(old.uuid, None)
        for row in rows:
            self._groups[row.id] = row
            self._group_of_uuid[row.uuid] = row.id

    def _fold_instances(self, rows: list[InstancePlacement], asked: Collection[int]) -> None:
        removed: dict[NodeKey, set[str]] = {}
        added: dict[NodeKey, list[InstancePlacement]] = {}
        for instance_id in set(asked) | {r.id for r in rows}:
            old = self.instances.pop(instance_id, None)
            if old is not None:
                removed.setdefault((old.host, old.node), set()).add(old.uuid)
                self._instance_of_uuid.pop(old.uuid, None)
        for row in rows:
            self.instances[row.id] = row
            self._instance_of_uuid[row.uuid] = row.id
            added.setdefault((row.host, row.node), []).append(row)
        for key in removed.keys() | added.keys():
            # New dicts, not changes to the old ones: batches may hold those.
            gone = removed.get(key, set())
            projects = {u: p for u, p in self._on_node.get(key, {}).items() if u not in gone}
            images = {u: i for u, i in self._images_on_node.get(key, {}).items() if u not in gone}
            for instance in added.get(key, ()):
                projects[instance.uuid] = instance.project_id
                images[instance.uuid] = instance.image_properties or {}
            if projects:
                self._on_node[key] = projects
                self._images_on_node[key] = images
            else:
                self._on_node.pop(key, None)
                self._images_on_node.pop(key, None)
            node_row = self._row_of_node.get(key)
            if node_row is not None:
                self._fill_instances(node_row)


def read_changed(conn: Connection, wanted: Mapping[str, set[int]]) -> Read:
    def ids(kind: str) -> set[int] | None:
        return wanted[kind] or None

    nodes, services = ids(host_changes.HOSTS), ids(host_changes.SERVICES)
    aggregates, groups = ids(host_changes.HOST_AGGREGATES), ids(host_changes.SERVER_GROUPS)
    instances = ids(host_changes.INSTANCES)
    return Read(
        nodes=None if nodes is None else host_store.nodes_by_ids(conn, nodes),
        services=None if services is None else host_store.services_by_ids(conn, services),
        aggregates=None if aggregates is None else aggregate_store.by_ids(conn, aggregates),
        groups=None if groups is None else group_store.by_ids(conn, groups),
        instances=None if instances is None else instance_store.placements(conn, instances),
    )
