"""Compute hosts, services, aggregates, server groups and instances from Nova's
own databases: what nova-scheduler's HostManager reads, kept in corral's
compute tables.

Mirrors nova.scheduler.host_manager.HostManager (get_host_states_by_uuids,
_get_computes_for_cells, _get_instances_by_host), nova.objects.ComputeNodeList.get_all,
nova.objects.ServiceList.get_by_binary and the liveness rule of
nova.servicegroup.drivers.db. Where Nova builds its HostStates afresh from the
databases on every request, corral reads them every `interval` seconds
(`[scheduler] nova_db_refresh_interval`), validates each row, and writes only
the difference into its own tables through the same store functions the host
API uses. Those writes go to the change log, so every process's host cache
(corral.scheduler.host_cache) follows them exactly as it follows the host API.

Staleness: a change committed in Nova reaches corral's tables at most one
interval plus one read later, and the host caches at their next catch-up
(each search catches up). A steady cloud costs one read of each database per
interval and no write, except the heartbeats Nova's services keep moving.

Rules:
- Nova's databases are only read (read-only sessions; corral.store.nova_db).
- A row that does not validate (unparseable JSON, a NUMA topology or PCI pool
  the filters could not read, a negative size, a stat out of bounds) makes
  its host skipped, logged once with the host's name: corral keeps what it
  held for that host (nothing, for a new one), never a guess, so a bad row
  can never make a host look bigger.
- A cell that cannot be read leaves the hosts and instances corral holds for
  it as they are; the feed never removes what it could not see.
- corral's own recent writes win for `grace` seconds: the scheduler records an
  instance on its host when it claims, before Nova's compute writes
  instances.host; the feed must not take it away (or move it back) meanwhile.
- Passwords never reach a log line: URLs are logged through `safe_url`, errors
  with every known password masked.

With several processes, on PostgreSQL one refresh runs at a time across all
of them (an advisory lock; the others skip that round). On SQLite every
process may refresh; the writes are idempotent (the same rows from the same
Nova state), and one that loses a race fails, is logged and is redone next round.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, make_url, text

from corral.compute.aggregates import unmirror_host
from corral.compute.hosts import delete_host, register_node
from corral.compute.nova_rows import MAX_NAME, BadRow, flavor_of, group_rules, node_values
from corral.errors import CorralError
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store import server_groups as group_store
from corral.store.compute_hosts import NodeRow, NodeValues, ServiceRow
from corral.store.database import Database, utcnow
from corral.store.instances import InstanceRow, InstanceValues
from corral.store.nova_db import reader
from corral.store.nova_db.reader import (
    ApiRows,
    CellMapping,
    CellRows,
    NovaAggregate,
    NovaGroup,
    NovaInstance,
    NovaService,
)
from corral.store.server_groups import ServerGroupRow

LOG = logging.getLogger(__name__)

# The PostgreSQL advisory lock key of the feed ("corral-nova-feed" hashed, fixed).
ADVISORY_LOCK_KEY = 0x636F7272616C4E46 & 0x7FFFFFFFFFFFFFFF
# Floor of the grace given to corral's own writes (see the module docstring):
# longer than a build takes from the claim to instances.host being written.
MIN_GRACE = 120.0


@dataclass
class RefreshResult:
    """What one refresh saw and did."""

    cells: int = 0
    hosts: int = 0
    nodes: int = 0
    instances: int = 0
    writes: int = 0  # write transactions
    skipped: dict[str, str] = field(default_factory=dict)  # host -> why
    failed_cells: list[str] = field(default_factory=list)
    ran: bool = True  # False: another process held the lock, or the API database was unreadable
    seconds: float = 0.0


@dataclass(frozen=True)
class _Desired:
    """What Nova holds, as corral's records."""

    nodes: dict[tuple[str, str], NodeValues]
    services: dict[str, NovaService]
    instances: dict[str, NovaInstance]
    provider_of: dict[tuple[str, str], str]
    flavors: dict[str, dict[str, Any]]


# --- the feed --------------------------------------------------------------------


class NovaFeed:
    """Keeps corral's compute tables equal to what Nova's databases hold."""

    def __init__(
        self,
        db: Database,
        api_url: str,
        *,
        interval: float = 5.0,
        grace: float | None = None,
    ) -> None:
        self.db = db
        self.interval = interval
        self.grace = max(MIN_GRACE, 10 * interval) if grace is None else grace
        self._api_url = api_url
        self._api: Engine | None = None
        self._cells: dict[str, tuple[str, Engine]] = {}  # cell uuid -> (url, engine)
        self._passwords: set[str] = set()
        self._note_password(api_url)
        self._logged_skips: dict[str, str] = {}
        self._cell_errors: dict[str, str] = {}  # cell uuid -> the error last logged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.last: RefreshResult | None = None

    # --- thread --------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="corral-nova-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.dispose()

    def dispose(self) -> None:
        if self._api is not None:
            self._api.dispose()
            self._api = None
        for _url, engine in self._cells.values():
            engine.dispose()
        self._cells.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # never let one bad round end the feed
                LOG.error("Nova feed: refresh failed: %s", self.scrub(exc))
            self._stop.wait(self.interval)

    # --- passwords -----------------------------------------------------------------

    def _note_password(self, url: str) -> None:
        try:
            password = make_url(url).password
        except Exception:
            return
        if password:
            self._passwords.add(str(password))

    def scrub(self, exc: BaseException) -> str:
        """The error as one line, every known password masked."""
        message = f"{type(exc).__name__}: {exc}"
        for password in self._passwords:
            message = message.replace(password, "***")
        return message.splitlines()[0] if message else type(exc).__name__

    # --- one refresh ---------------------------------------------------------------

    def refresh(self) -> RefreshResult:
        """Read Nova once and write what differs; safe to call at any time."""
        started = time.perf_counter()
        with self._leader() as leading:
            if not leading:
                return RefreshResult(ran=False)
            result = self._refresh()
        result.seconds = time.perf_counter() - started
        LOG.log(
            logging.INFO if result.writes else logging.DEBUG,
            "Nova feed: %d cell(s), %d host(s), %d instance(s) read in %.3f s; %d write(s)",
            result.cells,
            result.hosts,
            result.instances,
            result.seconds,
            result.writes,
        )
        self.refreshes += 1
        self.last = result
        return result

    @contextmanager
    def _leader(self) -> Iterator[bool]:
        """One refresh at a time across processes (PostgreSQL advisory lock)."""
        if not self.db.is_postgresql:
            yield True
            return
        with self.db.engine.connect() as conn:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
                ).scalar()
            )
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                    conn.commit()

    def _api_engine(self) -> Engine:
        if self._api is None:
            self._api = reader.read_only_engine(self._api_url)
        return self._api

    def _cell_engine(self, cell: CellMapping) -> Engine:
        known = self._cells.get(cell.uuid)
        if known is not None and known[0] == cell.database_connection:
            return known[1]
        if known is not None:
            known[1].dispose()
        self._note_password(cell.database_connection)
        engine = reader.read_only_engine(cell.database_connection)
        self._cells[cell.uuid] = (cell.database_connection, engine)
        return engine

    def _refresh(self) -> RefreshResult:
        result = RefreshResult()
        try:
            with reader.snapshot(self._api_engine()) as conn:
                api = reader.read_api(conn)
        except Exception as exc:
            LOG.error(
                "Nova feed: cannot read the API database %s: %s",
                reader.safe_url(self._api_url),
                self.scrub(exc),
            )
            result.ran = False
            return result
        for gone in set(self._cells) - {c.uuid for c in api.cells}:
            self._cells.pop(gone)[1].dispose()

        with self.db.read() as conn:
            held_instances = {r.uuid: r for r in instance_store.every_row(conn)}
            held_nodes = host_store.nodes_by_ids(conn)
            held_services = {s.host: s for s in host_store.services_by_ids(conn)}

        cells: dict[str, CellRows] = {}
        for cell in api.cells:
            try:
                with reader.snapshot(self._cell_engine(cell)) as conn:
                    cells[cell.uuid] = reader.read_cell(
                        conn, lambda found: self._needs_flavor(found, held_instances)
                    )
            except Exception as exc:
                why = self.scrub(exc)
                # At ERROR when it starts or changes, not every interval.
                level = logging.DEBUG if self._cell_errors.get(cell.uuid) == why else logging.ERROR
                LOG.log(
                    level,
                    "Nova feed: cannot read cell %s (%s) at %s: %s; keeping its hosts as they are",
                    cell.name,
                    cell.uuid,
                    reader.safe_url(cell.database_connection),
                    why,
                )
                self._cell_errors[cell.uuid] = why
                result.failed_cells.append(cell.uuid)
                continue
            self._cell_errors.pop(cell.uuid, None)
        result.cells = len(cells)

        desired = self._desired(api, cells, result)
        # Hosts corral must not touch this round: skipped ones, and those of
        # cells that could not be read.
        frozen = set(result.skipped)
        frozen.update(n.host for n in held_nodes if n.values.cell_uuid in set(result.failed_cells))
        result.writes += self._sync_aggregates(api.aggregates)
        result.writes += self._sync_hosts(desired, held_nodes, held_services, frozen)
        result.writes += self._sync_instances(desired, held_instances, frozen)
        result.writes += self._sync_groups(api.groups)
        result.writes += self._remove_hosts(desired, held_nodes, frozen)
        result.hosts = len({h for h, _n in desired.nodes})
        result.nodes = len(desired.nodes)
        result.instances = len(desired.instances)
        return result

    def _needs_flavor(
        self, found: list[NovaInstance], held: Mapping[str, InstanceRow]
    ) -> list[str]:
        return [i.uuid for i in found if i.uuid not in held or not held[i.uuid].values.flavor]

    # --- what Nova holds -----------------------------------------------------------

    def _desired(
        self, api: ApiRows, cells: Mapping[str, CellRows], result: RefreshResult
    ) -> _Desired:
        nodes: dict[tuple[str, str], NodeValues] = {}
        services: dict[str, NovaService] = {}
        host_cell: dict[str, str] = {}
        provider_of: dict[tuple[str, str], str] = {}
        instances: dict[str, NovaInstance] = {}
        flavors: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for cell_uuid, rows in cells.items():
            for service in rows.services:
                # A host in two cells (a half-finished move): its host mapping decides.
                if service.host in services and api.host_cells.get(service.host) != cell_uuid:
                    continue
                services[service.host] = service
                host_cell[service.host] = cell_uuid
        for cell_uuid, rows in cells.items():
            for node in rows.nodes:
                host = node.host
                if not host or host_cell.get(host) != cell_uuid:
                    # Nova's HostManager skips a node without a compute service.
                    continue
                try:
                    values = node_values(node, cell_uuid)
                except BadRow as exc:
                    skipped[host] = f"node {node.hypervisor_hostname}: {exc}"
                    continue
                nodes[(host, values.hypervisor_hostname)] = values
                provider_of[(host, values.hypervisor_hostname)] = values.provider_uuid
            for instance in rows.instances:
                if host_cell.get(instance.host) == cell_uuid:
                    instances[instance.uuid] = instance
            for instance_uuid, extra in rows.flavors.items():
                flavor = flavor_of(extra)
                if flavor is not None:
                    flavors[instance_uuid] = flavor
        for key in [k for k in nodes if k[0] in skipped]:
            del nodes[key]
        for host, why in skipped.items():
            if self._logged_skips.get(host) != why:
                LOG.warning("Nova feed: skipping compute host %s: %s", host, why)
        self._logged_skips = dict(skipped)
        result.skipped = skipped
        return _Desired(nodes, services, instances, provider_of, flavors)

    # --- aggregates ----------------------------------------------------------------

    def _sync_aggregates(self, nova: list[NovaAggregate]) -> int:
        # Not mirrored to Placement here: Nova's API mirrors its own aggregate
        # changes into Placement (which corral serves) when it makes them.
        with self.db.read() as conn:
            held = {a.uuid: a for a in aggregate_store.by_ids(conn)}
        wanted = {a.uuid: a for a in nova}
        gone = [a for u, a in held.items() if u not in wanted]
        new = [a for u, a in wanted.items() if u not in held]
        changed = [
            (held[u], a)
            for u, a in wanted.items()
            if u in held
            and (held[u].name, held[u].metadata, held[u].hosts)
            != (a.name, a.metadata, list(a.hosts))
        ]
        if not (gone or new or changed):
            return 0
        now = utcnow()
        with self.db.write() as conn:
            for row in gone:
                aggregate_store.delete(conn, row.id)
            for row, agg in changed:
                if row.name != agg.name:
                    aggregate_store.rename(conn, row.id, agg.name, now)
                meta: dict[str, str | None] = {
                    k: None for k in row.metadata if k not in agg.metadata
                }
                meta.update({k: v for k, v in agg.metadata.items() if row.metadata.get(k) != v})
                aggregate_store.update_metadata(conn, row.id, meta, now)
                for host in sorted(set(agg.hosts) - set(row.hosts)):
                    aggregate_store.add_host(conn, row.id, host, now)
                for host in sorted(set(row.hosts) - set(agg.hosts)):
                    aggregate_store.remove_host(conn, row.id, host)
            for agg in new:
                new_id = aggregate_store.insert(conn, agg.uuid, agg.name, agg.metadata, now)
                for host in agg.hosts:
                    aggregate_store.add_host(conn, new_id, host, now)
        return 1

    # --- hosts and services --------------------------------------------------------

    def _sync_hosts(
        self,
        desired: _Desired,
        held_nodes: list[NodeRow],
        held_services: Mapping[str, ServiceRow],
        frozen: set[str],
    ) -> int:
        writes = 0
        held = {(n.host, n.nodename): n for n in held_nodes}
        for (host, nodename), values in sorted(desired.nodes.items()):
            row = held.get((host, nodename))
            if row is not None and row.values == values:
                continue
            try:
                register_node(self.db, host, nodename, values)
                writes += 1
            except CorralError as exc:
                LOG.warning("Nova feed: cannot record node %s of host %s: %s", nodename, host, exc)
        service_changes: list[tuple[str, NovaService]] = []
        heartbeats: dict[str, datetime.datetime] = {}
        hosts = {h for h, _n in desired.nodes}
        for host in sorted(hosts - frozen):
            nova = desired.services[host]
            mine = held_services.get(host)
            reason = nova.disabled_reason if nova.disabled else None
            if (
                mine is None
                or mine.disabled != nova.disabled
                or mine.disabled_reason != reason
                or mine.forced_down != nova.forced_down
            ):
                service_changes.append((host, nova))
            if nova.last_heartbeat is not None and (
                mine is None or mine.last_heartbeat != nova.last_heartbeat
            ):
                heartbeats[host] = nova.last_heartbeat
        if service_changes or heartbeats:
            now = utcnow()
            with self.db.write() as conn:
                for host, nova in service_changes:
                    service = host_store.service(conn, host)
                    if service is None:
                        continue
                    host_store.update_service(
                        conn,
                        service.id,
                        disabled=nova.disabled,
                        disabled_reason=nova.disabled_reason if nova.disabled else None,
                        forced_down=nova.forced_down,
                        now=now,
                    )
                host_store.record_heartbeats(conn, heartbeats)
            writes += 1
        return writes

    def _remove_hosts(self, desired: _Desired, held_nodes: list[NodeRow], frozen: set[str]) -> int:
        """Nodes Nova no longer has; whole hosts through delete_host (which
        refuses while instances are recorded on them)."""
        by_host: dict[str, list[NodeRow]] = {}
        for node in held_nodes:
            by_host.setdefault(node.host, []).append(node)
        wanted_hosts = {h for h, _n in desired.nodes}
        writes = 0
        for host, nodes in sorted(by_host.items()):
            if host in frozen:
                continue
            if host not in wanted_hosts:
                try:
                    delete_host(self.db, host)
                    writes += 1
                except CorralError as exc:
                    LOG.warning("Nova feed: host %s is gone from Nova but kept: %s", host, exc)
                continue
            gone = [n for n in nodes if (host, n.nodename) not in desired.nodes]
            if gone:
                with self.db.write() as conn:
                    aggregates = [a.uuid for a in aggregate_store.of_hosts(conn, [host])]
                    host_store.delete_nodes(conn, [n.id for n in gone])
                unmirror_host(self.db, [n.values.provider_uuid for n in gone], aggregates)
                writes += 1
        return writes

    # --- instances -----------------------------------------------------------------

    def _sync_instances(
        self, desired: _Desired, held: Mapping[str, InstanceRow], frozen: set[str]
    ) -> int:
        now = utcnow()
        cutoff = now - datetime.timedelta(seconds=self.grace)
        inserts: list[tuple[str, InstanceValues]] = []
        updates: list[tuple[int, InstanceValues]] = []
        deletes: list[int] = []
        for instance_uuid, nova in desired.instances.items():
            if nova.host in frozen:
                continue
            mine = held.get(instance_uuid)
            node = nova.node or ""
            flavor = desired.flavors.get(instance_uuid)
            values = InstanceValues(
                host=nova.host,
                node=node,
                provider_uuid=desired.provider_of.get((nova.host, node)),
                project_id=nova.project_id,
                user_id=nova.user_id,
                # The casts' flavor and image properties stay when Nova's row
                # adds nothing (the image's are in system_metadata, not read).
                flavor=flavor if flavor is not None else (dict(mine.values.flavor) if mine else {}),
                image_properties=dict(mine.values.image_properties) if mine else {},
            )
            if mine is None:
                inserts.append((instance_uuid, values))
            elif mine.values != values and not _recent(mine, cutoff):
                updates.append((mine.id, values))
        for instance_uuid, mine in held.items():
            if instance_uuid in desired.instances or mine.values.host in frozen:
                continue
            if not _recent(mine, cutoff):
                deletes.append(mine.id)
        if not (inserts or updates or deletes):
            return 0
        with self.db.write() as conn:
            for instance_id in deletes:
                instance_store.delete(conn, instance_id)
            for instance_id, values in updates:
                instance_store.update(conn, instance_id, values, now)
            instance_store.insert_many(conn, inserts, now)
        return 1

    # --- server groups -------------------------------------------------------------

    def _sync_groups(self, nova: list[NovaGroup]) -> int:
        with self.db.read() as conn:
            held = {g.uuid: g for g in group_store.by_ids(conn)}
        wanted: dict[str, tuple[NovaGroup, dict[str, Any]]] = {}
        for group in nova:
            try:
                wanted[group.uuid] = (group, group_rules(group))
            except BadRow as exc:
                LOG.warning("Nova feed: skipping server group %s: %s", group.uuid, exc)
                if group.uuid in held:
                    wanted[group.uuid] = (group, held[group.uuid].rules)  # keep it as it was
        plan = [
            (held.get(u), g, rules)
            for u, (g, rules) in wanted.items()
            if not _same_group(held.get(u), g, rules)
        ]
        gone = [g for u, g in held.items() if u not in wanted]
        if not (plan or gone):
            return 0
        now = utcnow()
        with self.db.write() as conn:
            for row in gone:
                group_store.delete(conn, row.id)
            for held_row, group, rules in plan:
                if held_row is not None and _same_identity(held_row, group, rules):
                    group_id = held_row.id
                    kept = set(held_row.members)
                    for member in kept - set(group.members):
                        group_store.remove_member(conn, member)
                else:
                    # Nova never changes a group's policy; a different one is a new group.
                    if held_row is not None:
                        group_store.delete(conn, held_row.id)
                    kept = set()
                    group_id = group_store.insert(
                        conn,
                        uuid=group.uuid,
                        name=group.name[:MAX_NAME],
                        project_id=group.project_id,
                        user_id=group.user_id,
                        policy=group.policy or "",
                        rules=rules,
                        now=now,
                    )
                # An instance is in one group at most: out of any other first.
                for member in group.members:
                    if member not in kept:
                        group_store.remove_member(conn, member)
                group_store.add_members(conn, group_id, group.members, now)
        return 1


def _recent(row: InstanceRow, cutoff: datetime.datetime) -> bool:
    last = row.updated_at or row.created_at
    return last is not None and last > cutoff


def _same_identity(row: ServerGroupRow, group: NovaGroup, rules: Mapping[str, Any]) -> bool:
    return (row.name, row.project_id, row.user_id, row.policy, row.rules) == (
        group.name[:MAX_NAME],
        group.project_id,
        group.user_id,
        group.policy,
        dict(rules),
    )


def _same_group(row: ServerGroupRow | None, group: NovaGroup, rules: Mapping[str, Any]) -> bool:
    return (
        row is not None
        and _same_identity(row, group, rules)
        # As sets: corral's claims may have added members in another order.
        and set(row.members) == set(group.members)
    )
