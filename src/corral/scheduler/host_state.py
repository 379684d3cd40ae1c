"""The scheduler's view of every compute host, kept in memory, built into HostBatches.

`HostStateCache` loads compute nodes, services, host aggregates, server
groups and instances once, then follows the change log (the kinds of
corral.store.host_changes), reading back only the rows named there. Each
compute node is a row of numpy columns (object arrays for the per-host
structures), so `batch_for` builds a HostBatch for any list of providers by
fancy indexing, without a Python loop over the hosts.

Resources (VCPU, MEMORY_MB, DISK_GB totals, reserved, ratios and usage) are
not kept here: `batch_for` reads them from the placement index's state,
which the caller holds (caught up) for its candidate search, so a decision
runs no SQL for them and sees the same capacity the search saw.

Liveness: heartbeats are not in the change log (corral.store.host_changes).
Every `heartbeat_poll_interval` seconds a catch-up asks the database for the
services last heard from before `now - service_down_time + interval`, the
few that are down or will be before the next poll; every other service is
known to have reported after that cutoff, which is kept as its heartbeat. So
`up` is exact or, when polls stop, pessimistic (a host is never kept up on
stale data).

Thread safety: catch-ups are serialised; they read the database first and
then fold the rows in under the write side of a readers-writer lock. Batch
builders hold the read side. Per-host dicts and the aggregate mapping are
replaced, never changed in place, so a batch built earlier stays coherent.
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import os_resource_classes
from sqlalchemy import Connection

from corral.placement.index.cursor import ChangeCursor
from corral.placement.index.rwlock import ReadWriteLock
from corral.placement.index.state import IndexState
from corral.scheduler.batch import Aggregate, HostBatch
from corral.scheduler.spec import InstanceGroup
from corral.store import change_log, host_changes, snapshot
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store import server_groups as group_store
from corral.store.compute_hosts import NodeRow, ServiceRow
from corral.store.database import Database
from corral.store.host_aggregates import AggregateRow
from corral.store.instances import InstancePlacement
from corral.store.server_groups import ServerGroupRow

LOG = logging.getLogger(__name__)

# Log rows read per catch-up; a longer backlog is cheaper as a full reload.
BATCH = 20_000
# After a full load, sequence numbers missing among this many below the top
# are treated as transactions possibly still in flight.
RELOAD_WINDOW = 10_000
# Seconds between checks that the log has not been reset under us.
TOP_CHECK_INTERVAL = 5.0

VCPU = os_resource_classes.STANDARDS.index(os_resource_classes.VCPU)
MEMORY_MB = os_resource_classes.STANDARDS.index(os_resource_classes.MEMORY_MB)
DISK_GB = os_resource_classes.STANDARDS.index(os_resource_classes.DISK_GB)

Rows = npt.NDArray[np.intp]
NodeKey = tuple[str, str]  # (host, node)

_EMPTY_IDS: frozenset[int] = frozenset()
_NO_INSTANCES: Mapping[str, Any] = MappingProxyType({})


def _epoch(moment: datetime.datetime | None) -> float:
    """Seconds since the epoch of a naive UTC datetime (-inf for never)."""
    if moment is None:
        return -math.inf
    return moment.replace(tzinfo=datetime.UTC).timestamp()


class _Columns:
    """Per compute node columns; a node keeps its row until the next full load."""

    OBJECTS = (
        "host",
        "node",
        "provider_uuid",
        "cell_uuid",
        "hypervisor_type",
        "hypervisor_hostname",
        "cpu_info",
        "capabilities",
        "metrics",
        "supported_instances",
        "host_ip",
        "numa_topology",
        "pci_stats",
        "aggregate_ids",
        "availability_zone",
        "instances",
        "instance_image_properties",
    )
    INTS = ("hypervisor_version", "num_io_ops", "failed_builds", "num_instances")
    BOOLS = ("alive", "has_service", "disabled", "forced_down")
    FLOATS = ("heartbeat",)

    def __init__(self, capacity: int) -> None:
        self.size = 0
        cap = max(capacity, 16)
        self.obj: dict[str, npt.NDArray[np.object_]] = {
            n: np.empty(cap, dtype=object) for n in self.OBJECTS
        }
        self.ints: dict[str, npt.NDArray[np.int64]] = {
            n: np.zeros(cap, dtype=np.int64) for n in self.INTS
        }
        self.bools: dict[str, npt.NDArray[np.bool_]] = {
            n: np.zeros(cap, dtype=np.bool_) for n in self.BOOLS
        }
        self.floats: dict[str, npt.NDArray[np.float64]] = {
            n: np.full(cap, -math.inf, dtype=np.float64) for n in self.FLOATS
        }

    def append(self) -> int:
        have = len(self.bools["alive"])
        if self.size == have:
            new = have * 2
            for group in (self.obj, self.ints, self.bools, self.floats):
                for name, old in list(group.items()):
                    grown = np.empty(new, dtype=old.dtype)
                    if old.dtype == np.float64:
                        grown.fill(-math.inf)
                    elif old.dtype != object:
                        grown.fill(0)
                    grown[:have] = old
                    group[name] = grown
        row = self.size
        self.size += 1
        return row


class _SharedValues:
    """One object per distinct value of the columns hosts tend to share
    (racks of identical hardware report the same cpu_info, capabilities,
    supported instances). Building a batch touches every value it copies
    (reference counts); a few shared objects stay in the CPU's cache where
    10,000 copies would not."""

    LIMIT = 50_000  # distinct values kept; past this, sharing starts over

    def __init__(self) -> None:
        self._by_key: dict[bytes, Any] = {}

    def get(self, value: Any) -> Any:
        if value is None:
            return None
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        shared = self._by_key.get(key)
        if shared is None:
            if len(self._by_key) >= self.LIMIT:
                self._by_key.clear()
            self._by_key[key] = shared = value
        return shared


@dataclass(frozen=True)
class _Read:
    """Rows read from the database for one catch-up (None: that kind unchanged)."""

    nodes: list[NodeRow] | None = None
    services: list[ServiceRow] | None = None
    aggregates: list[AggregateRow] | None = None
    groups: list[ServerGroupRow] | None = None
    instances: list[InstancePlacement] | None = None


@dataclass(frozen=True)
class CacheStats:
    nodes: int
    instances: int
    full_loads: int
    changes_applied: int
    heartbeat_polls: int
    last_seq: int


class HostStateCache:
    """Compute hosts as the scheduler sees them, current with the change log."""

    def __init__(
        self,
        db: Database,
        *,
        service_down_time: float = 60.0,
        default_availability_zone: str = "nova",
        heartbeat_poll_interval: float = 5.0,
        gap_timeout: float = 30.0,
        batch: int = BATCH,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.service_down_time = float(service_down_time)
        self.default_availability_zone = default_availability_zone
        # A poll must come round before a fresh heartbeat could go stale.
        self.heartbeat_poll_interval = min(heartbeat_poll_interval, service_down_time / 2)
        self._batch = batch
        self._clock = clock
        self._monotonic = monotonic
        self._rw = ReadWriteLock()
        self._sync_lock = threading.Lock()
        self._last_sync_start = -math.inf
        self._cursor = ChangeCursor(gap_timeout=gap_timeout)
        self._loaded = False
        self._last_top_check = -math.inf
        self._last_poll = -math.inf
        self.full_loads = 0
        self.changes_applied = 0
        self.heartbeat_polls = 0
        self._reset(0)

    def _reset(self, capacity: int) -> None:
        self._cols = _Columns(capacity)
        self._version = 0  # bumped when rows or their providers change
        self._row_of_node_id: dict[int, int] = {}
        self._row_of_provider: dict[str, int] = {}
        self._row_of_node: dict[NodeKey, int] = {}
        self._rows_of_host: dict[str, set[int]] = {}
        self._services: dict[int, ServiceRow] = {}
        self._service_of_host: dict[str, ServiceRow] = {}
        self._aggregates: Mapping[int, Aggregate] = {}
        self._aggregates_of_host: dict[str, set[int]] = {}
        self._zone_of: dict[frozenset[int], str] = {}
        self._groups: dict[int, ServerGroupRow] = {}
        self._group_of_uuid: dict[str, int] = {}
        self._group_of_member: dict[str, str] = {}  # instance uuid -> group uuid
        self._instances: dict[int, InstancePlacement] = {}
        self._instance_of_uuid: dict[str, int] = {}
        self._on_node: dict[NodeKey, Mapping[str, str]] = {}
        self._images_on_node: dict[NodeKey, Mapping[str, Mapping[str, Any]]] = {}
        self._shared = _SharedValues()
        self._slots: tuple[object, Rows] | None = None
        self._traits: tuple[object, npt.NDArray[np.object_]] | None = None

    # --- public: keeping current ---------------------------------------------------

    def load(self) -> None:
        """(Re)build everything from the store."""
        with self._sync_lock:
            self._last_sync_start = self._monotonic()
            with self.db.read() as conn:
                self._full_load(conn)

    def catch_up(self, conn: Connection | None = None) -> None:
        """Apply every change committed before this call began (and poll
        heartbeats when the poll interval has passed)."""
        arrived = self._monotonic()
        with self._sync_lock:
            if self._last_sync_start > arrived:
                return  # a catch-up that began after we arrived saw all we must see
            self._last_sync_start = self._monotonic()
            if conn is None:
                with self.db.read() as own:
                    self._sync(own)
            else:
                self._sync(conn)

    def stats(self) -> CacheStats:
        with self._rw.reading():
            return CacheStats(
                nodes=int(self._cols.bools["alive"][: self._cols.size].sum()),
                instances=len(self._instances),
                full_loads=self.full_loads,
                changes_applied=self.changes_applied,
                heartbeat_polls=self.heartbeat_polls,
                last_seq=self._cursor.high,
            )

    # --- public: batches -----------------------------------------------------------

    def batch_for(
        self,
        provider_uuids: Sequence[str],
        index_state: IndexState,
        *,
        now: float | None = None,
    ) -> HostBatch:
        """The HostBatch of the compute nodes whose root providers are
        `provider_uuids`, in that order.

        Providers that are not a registered compute node are left out, as
        Nova's HostManager skips providers without a compute node; the
        batch's `provider_uuid` column says which stayed. `index_state` is
        the placement index state the caller holds the read side of (inside
        `PlacementIndex.session()` or `.reading()`). `now` (seconds since
        the epoch) is for tests. `candidate_mappings` is left for the caller.
        """
        moment = self._clock() if now is None else now
        with self._rw.reading():
            rows = self._rows_of(provider_uuids)
            return self._build(rows, index_state, moment)

    def aggregates(self) -> Mapping[int, Aggregate]:
        """Every host aggregate by id (a mapping replaced, never changed, on updates)."""
        with self._rw.reading():
            return self._aggregates

    def all_provider_uuids(self) -> list[str]:
        """The root provider of every registered compute node (in no set order)."""
        with self._rw.reading():
            return list(self._row_of_provider)

    def node_of_provider(self, provider_uuid: str) -> NodeKey | None:
        """(host, node) of the compute node with that root provider."""
        with self._rw.reading():
            row = self._row_of_provider.get(provider_uuid)
            if row is None:
                return None
            return self._cols.obj["host"][row], self._cols.obj["node"][row]

    # --- public: server groups and instances -------------------------------------

    def instance_group(self, group_uuid: str) -> InstanceGroup | None:
        """The server group as a RequestSpec carries it (Nova's InstanceGroup):
        its policy, rules, members and the hosts its members are on."""
        with self._rw.reading():
            group_id = self._group_of_uuid.get(group_uuid)
            if group_id is None:
                return None
            group = self._groups[group_id]
            hosts = self._hosts_of(group.members)
        return InstanceGroup(
            uuid=group.uuid,
            policy=group.policy,
            rules={k: str(v) for k, v in group.rules.items()},
            members=tuple(group.members),
            hosts=tuple(sorted(hosts)),
            name=group.name,
        )

    def group_hosts(self, group_uuid: str) -> set[str]:
        """The hosts the members of the group are on (empty for an unknown group)."""
        with self._rw.reading():
            group_id = self._group_of_uuid.get(group_uuid)
            if group_id is None:
                return set()
            return self._hosts_of(self._groups[group_id].members)

    def group_of_instance(self, instance_uuid: str) -> str | None:
        """The uuid of the server group the instance is a member of."""
        with self._rw.reading():
            return self._group_of_member.get(instance_uuid)

    def instance_counts(self) -> dict[str, int]:
        """Instances per host (all nodes of a host together)."""
        counts: dict[str, int] = {}
        with self._rw.reading():
            for instance in self._instances.values():
                counts[instance.host] = counts.get(instance.host, 0) + 1
        return counts

    def member_counts(self, group_uuid: str) -> dict[str, int]:
        """Members of the group per host."""
        counts: dict[str, int] = {}
        with self._rw.reading():
            group_id = self._group_of_uuid.get(group_uuid)
            if group_id is None:
                return counts
            for member in self._groups[group_id].members:
                instance_id = self._instance_of_uuid.get(member)
                if instance_id is not None:
                    host = self._instances[instance_id].host
                    counts[host] = counts.get(host, 0) + 1
        return counts

    def host_of_instance(self, instance_uuid: str) -> str | None:
        with self._rw.reading():
            instance_id = self._instance_of_uuid.get(instance_uuid)
            return None if instance_id is None else self._instances[instance_id].host

    def _hosts_of(self, instance_uuids: Iterable[str]) -> set[str]:
        hosts = set()
        for member in instance_uuids:
            instance_id = self._instance_of_uuid.get(member)
            if instance_id is not None:
                hosts.add(self._instances[instance_id].host)
        return hosts

    # --- building a batch ----------------------------------------------------------

    def _rows_of(self, provider_uuids: Sequence[str]) -> Rows:
        rows = np.fromiter(
            map(self._row_of_provider.get, provider_uuids, repeat(-1)),
            dtype=np.intp,
            count=len(provider_uuids),
        )
        return rows[rows >= 0] if (rows < 0).any() else rows

    def _index_slots(self, state: IndexState) -> Rows:
        """The index slot of every row's provider (-1: not in the index)."""
        key = (state, state.topology_version, self._version)
        cached = self._slots
        if cached is not None and cached[0] == key:
            return cached[1]
        providers = self._cols.obj["provider_uuid"][: self._cols.size].tolist()
        lookup = state.slot_of_uuid.get
        slots = np.fromiter(
            (lookup(u, -1) if u is not None else -1 for u in providers),
            dtype=np.intp,
            count=len(providers),
        )
        self._slots = (key, slots)
        return slots

    def _trait_names(self, state: IndexState) -> npt.NDArray[np.object_]:
        """Per index slot, the names of its traits (one frozenset per distinct set)."""
        key = (state, state.topology_version)
        cached = self._traits
        if cached is not None and cached[0] == key:
            return cached[1]
        names: dict[frozenset[int], frozenset[str]] = {}
        out = np.empty(state.size + 1, dtype=object)  # the last entry: slot -1
        for slot in range(state.size):
            ids = state.traits.ids(slot)
            named = names.get(ids)
            if named is None:
                named = frozenset(state.trait_name.get(t, str(t)) for t in ids)
                names[ids] = named
            out[slot] = named
        out[state.size] = frozenset()
        self._traits = (key, out)
        return out

    def _build(self, rows: Rows, state: IndexState, now: float) -> HostBatch:
        cols = self._cols
        slots = self._index_slots(state)[rows]

        def objects(name: str) -> list[Any]:
            picked: list[Any] = cols.obj[name][rows].tolist()
            return picked

        vcpu = _resources(state, VCPU, slots)
        memory = _resources(state, MEMORY_MB, slots)
        disk = _resources(state, DISK_GB, slots)
        heartbeat = cols.floats["heartbeat"][rows]
        has_service = cols.bools["has_service"][rows]
        up = (
            has_service
            & ~cols.bools["forced_down"][rows]
            & (np.abs(now - heartbeat) <= self.service_down_time)
        )
        traits = self._trait_names(state)[slots].tolist()
        return HostBatch(
            host=objects("host"),
            node=objects("node"),
            provider_uuid=objects("provider_uuid"),
            cell_uuid=objects("cell_uuid"),
            enabled=has_service & ~cols.bools["disabled"][rows],
            up=up,
            vcpus_total=vcpu.total,
            vcpus_used=vcpu.used,
            vcpus_reserved=vcpu.reserved,
            cpu_allocation_ratio=vcpu.ratio,
            memory_mb_total=memory.total,
            memory_mb_used=memory.used,
            memory_mb_reserved=memory.reserved,
            ram_allocation_ratio=memory.ratio,
            disk_gb_total=disk.total,
            disk_gb_used=disk.used,
            disk_gb_reserved=disk.reserved,
            disk_allocation_ratio=disk.ratio,
            free_ram_mb=memory.total - memory.reserved - memory.used,
            free_disk_mb=(disk.total - disk.reserved - disk.used) * 1024,
            num_instances=cols.ints["num_instances"][rows],
            num_io_ops=cols.ints["num_io_ops"][rows],
            failed_builds=cols.ints["failed_builds"][rows],
            hypervisor_version=cols.ints["hypervisor_version"][rows],
            hypervisor_type=objects("hypervisor_type"),
            hypervisor_hostname=objects("hypervisor_hostname"),
            cpu_info=objects("cpu_info"),
            capabilities=objects("capabilities"),
            metrics=objects("metrics"),
            supported_instances=objects("supported_instances"),
            host_ip=objects("host_ip"),
            numa_topology=objects("numa_topology"),
            pci_stats=objects("pci_stats"),
            traits=traits,
            aggregate_ids=objects("aggregate_ids"),
            aggregates=self._aggregates,
            instances=objects("instances"),
            availability_zone=objects("availability_zone"),
            instance_image_properties=objects("instance_image_properties"),
        )

    # --- loading -------------------------------------------------------------------

    def _full_load(self, conn: Connection) -> None:
        top = snapshot.last_seq(conn)
        low = max(0, top - RELOAD_WINDOW)
        present = snapshot.seqs_between(conn, low, top)
        # Data is read after the log position, so it is at least that new.
        read = _Read(
            nodes=host_store.nodes_by_ids(conn),
            services=host_store.services_by_ids(conn),
            aggregates=aggregate_store.by_ids(conn),
            groups=group_store.by_ids(conn),
            instances=instance_store.placements(conn),
        )
        with self._rw.writing():
            self._reset(len(read.nodes or ()))
            self._fold(read, None)
            self._cursor.reset(top, present, low, self._monotonic())
            self._last_poll = self._monotonic()
        self._loaded = True
        self.full_loads += 1
        LOG.info("host state loaded: %d compute nodes, change log at %d", self._cols.size, top)

    def _sync(self, conn: Connection) -> None:
        if not self._loaded:
            self._full_load(conn)
            return
        now = self._monotonic()
        self._cursor.expire(now)
        if now - self._last_top_check > TOP_CHECK_INTERVAL:
            self._last_top_check = now
            if self._log_moved_away(conn):
                self._full_load(conn)
                return
        rows = snapshot.changes_after(conn, self._cursor.high, self._batch, also=self._cursor.gaps)
        if len(rows) >= self._batch:
            self._full_load(conn)
            return
        if rows:
            fresh = self._cursor.accept([r.seq for r in rows], now)
            wanted: dict[str, set[int]] = {kind: set() for kind in host_changes.KINDS}
            for row in rows:
                if row.seq in fresh and row.kind in wanted:
                    wanted[row.kind].add(row.provider_id)
            if any(wanted.values()):
                read = _read_changed(conn, wanted)
                with self._rw.writing():
                    self._fold(read, wanted)
                self.changes_applied += sum(len(ids) for ids in wanted.values())
        if now - self._last_poll >= self.heartbeat_poll_interval:
            self._poll_heartbeats(conn, now)

    def _log_moved_away(self, conn: Connection) -> bool:
        high = self._cursor.high
        if high <= 0:
            return False
        if snapshot.last_seq(conn) < high:
            return True
        oldest = change_log.oldest_seq(conn)
        return oldest is not None and oldest > high + 1

    def _poll_heartbeats(self, conn: Connection, now: float) -> None:
        wall = self._clock()
        cutoff = wall - self.service_down_time + self.heartbeat_poll_interval
        before = datetime.datetime.fromtimestamp(cutoff, datetime.UTC).replace(tzinfo=None)
        stale = host_store.stale_heartbeats(conn, before)
        with self._rw.writing():
            cols = self._cols
            beats = cols.floats["heartbeat"]
            np.maximum(beats[: cols.size], cutoff, out=beats[: cols.size])
            for service_id, last in stale:
                service = self._services.get(service_id)
                if service is not None:
                    for row in self._rows_of_host.get(service.host, ()):
                        beats[row] = _epoch(last)
            self._last_poll = now
        self.heartbeat_polls += 1

    # --- folding rows in (under the write lock) -----------------------------------

    def _fold(self, read: _Read, wanted: Mapping[str, set[int]] | None) -> None:
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
                row = self._cols.append()
                self._row_of_node_id[node.id] = row
                self._rows_of_host.setdefault(node.host, set()).add(row)
                self._cols.bools["alive"][row] = True
                self._fill_node(row, node)
                self._fill_service(row)
                self._fill_aggregates(row)
                self._fill_instances(row)
            else:
                self._fill_node(row, node)
        self._version += 1

    def _drop_row(self, node_id: int) -> None:
        row = self._row_of_node_id.pop(node_id, None)
        if row is None:
            return
        cols = self._cols
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
        cols = self._cols
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
        cols = self._cols
        service = self._service_of_host.get(cols.obj["host"][row])
        cols.bools["has_service"][row] = service is not None
        cols.bools["disabled"][row] = service is not None and service.disabled
        cols.bools["forced_down"][row] = service is not None and service.forced_down
        last = None if service is None else service.last_heartbeat or service.created_at
        cols.floats["heartbeat"][row] = _epoch(last)

    def _fill_aggregates(self, row: int) -> None:
        host = self._cols.obj["host"][row]
        ids = frozenset(self._aggregates_of_host.get(host, _EMPTY_IDS))
        self._cols.obj["aggregate_ids"][row] = ids
        self._cols.obj["availability_zone"][row] = self._zone(ids)

    def _zone(self, ids: frozenset[int]) -> str:
        """Nova's get_host_availability_zone: the aggregates' zone, or the default."""
        zone = self._zone_of.get(ids)
        if zone is None:
            zones = sorted(
                {
                    z
                    for i in ids
                    if i in self._aggregates
                    and (z := self._aggregates[i].availability_zone) is not None
                }
            )
            zone = ",".join(zones) if zones else self.default_availability_zone
            self._zone_of[ids] = zone
        return zone

    def _fill_instances(self, row: int) -> None:
        cols = self._cols
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
        aggregates = dict(self._aggregates)  # a new mapping: batches share the old one
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
        self._aggregates = MappingProxyType(aggregates)
        self._zone_of = {}
        for host in hosts:
            for r in self._rows_of_host.get(host, ()):
                self._fill_aggregates(r)

    def _fold_groups(self, rows: list[ServerGroupRow], asked: Collection[int]) -> None:
        for group_id in asked:
            old = self._groups.pop(group_id, None)
            if old is not None:
                self._group_of_uuid.pop(old.uuid, None)
                for member in old.members:
                    if self._group_of_member.get(member) == old.uuid:
                        del self._group_of_member[member]
        for row in rows:
            self._groups[row.id] = row
            self._group_of_uuid[row.uuid] = row.id
            for member in row.members:
                self._group_of_member[member] = row.uuid

    def _fold_instances(self, rows: list[InstancePlacement], asked: Collection[int]) -> None:
        removed: dict[NodeKey, set[str]] = {}
        added: dict[NodeKey, list[InstancePlacement]] = {}
        for instance_id in set(asked) | {r.id for r in rows}:
            old = self._instances.pop(instance_id, None)
            if old is not None:
                removed.setdefault((old.host, old.node), set()).add(old.uuid)
                self._instance_of_uuid.pop(old.uuid, None)
        for row in rows:
            self._instances[row.id] = row
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


@dataclass(frozen=True)
class _Resource:
    total: npt.NDArray[np.int64]
    reserved: npt.NDArray[np.int64]
    used: npt.NDArray[np.int64]
    ratio: npt.NDArray[np.float64]


def _resources(state: IndexState, rc_id: int, slots: Rows) -> _Resource:
    """One resource class of the providers at `slots` (-1: not in the index),
    from the index's columns: no inventory reads as 0 total, ratio 1."""
    n = len(slots)
    column = state.column(rc_id)
    if column is None or n == 0:
        zeros = np.zeros(n, dtype=np.int64)
        return _Resource(zeros, zeros.copy(), zeros.copy(), np.ones(n, dtype=np.float64))
    known = (slots >= 0) & (slots < len(column.slot_of))
    entry = np.full(n, -1, dtype=np.intp)
    entry[known] = column.slot_of[slots[known]]
    has = entry >= 0
    at = np.where(has, entry, 0)
    live = has & column.live[at]
    return _Resource(
        total=np.where(live, column.total[at], 0).astype(np.int64, copy=False),
        reserved=np.where(live, column.reserved[at], 0).astype(np.int64, copy=False),
        used=np.where(has, column.used[at], 0).astype(np.int64, copy=False),
        ratio=np.where(live, column.ratio[at], 1.0).astype(np.float64, copy=False),
    )


def _read_changed(conn: Connection, wanted: Mapping[str, set[int]]) -> _Read:
    def ids(kind: str) -> set[int] | None:
        return wanted[kind] or None

    nodes, services = ids(host_changes.HOSTS), ids(host_changes.SERVICES)
    aggregates, groups = ids(host_changes.HOST_AGGREGATES), ids(host_changes.SERVER_GROUPS)
    instances = ids(host_changes.INSTANCES)
    return _Read(
        nodes=None if nodes is None else host_store.nodes_by_ids(conn, nodes),
        services=None if services is None else host_store.services_by_ids(conn, services),
        aggregates=None if aggregates is None else aggregate_store.by_ids(conn, aggregates),
        groups=None if groups is None else group_store.by_ids(conn, groups),
        instances=None if instances is None else instance_store.placements(conn, instances),
    )
