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
interval and no write, except the heartbeats Nova's services keep moving
(one executemany for all of them, outside the change log).

Cost per refresh, so that 10,000 hosts refresh well inside the interval:
- Nova's compute_nodes and instances are read as one digest per row (MD5
  computed by MariaDB/PostgreSQL, corral.store.nova_db.reader); only rows
  whose digest moved are read in full, and a row equal to last time's is not
  validated again. Flavors and image properties are read for new instances
  and those Nova saved since (instance_extra / instances.updated_at).
- corral's own rows are not read back each time: corral.compute.nova_held
  follows the change log (as the host cache does) and reads only what changed.
- What differs is written in few transactions: nodes NODES_PER_TRANSACTION
  at a time (corral.compute.hosts.register_nodes), their aggregates mirrored
  to Placement in one, services and heartbeats in one, instances in one.

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

This module holds the feed's thread, its lock and one refresh's reads (Nova's
API database, then each cell's, as HostManager._get_computes_for_cells walks
them) and the view of what Nova holds; corral.compute.nova_sync writes the
difference.
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

from corral.compute import nova_sync
from corral.compute.image_meta import image_properties
from corral.compute.nova_held import HeldRows
from corral.compute.nova_rows import BadRow, flavor_of, node_values
from corral.compute.nova_sync import Desired
from corral.store.compute_hosts import NodeValues
from corral.store.database import Database, safe_url, utcnow
from corral.store.nova_db import reader
from corral.store.nova_db.reader import (
    ApiRows,
    CellMapping,
    CellMemory,
    CellRows,
    NovaInstance,
    NovaNode,
    NovaService,
)

LOG = logging.getLogger(__name__)

# The PostgreSQL advisory lock key of the feed ("corral-nova-feed" hashed, fixed).
ADVISORY_LOCK_KEY = 0x636F7272616C4E46 & 0x7FFFFFFFFFFFFFFF
# Floor of the grace given to corral's own writes (see the module docstring):
# longer than a build takes from the claim to instances.host being written.
MIN_GRACE = 120.0
# Seconds an instance's flavor and image are read again after Nova saved it
# (see NovaFeed._extras_for): longer than the clocks of Nova's hosts and
# corral's may differ.
RECENT_SAVE = 60.0


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


@dataclass(frozen=True, slots=True)
class KnownExtras:
    """An instance's flavor and image properties as last read from Nova (None:
    unreadable or absent), and the saves they were read after."""

    stamp: tuple[datetime.datetime | None, datetime.datetime | None]
    flavor: dict[str, Any] | None
    image_properties: dict[str, Any] | None


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
        self._held = HeldRows()
        # (cell uuid, Nova's row) -> what it validated to last time: a row
        # Nova did not change is not decoded and checked again.
        self._validated: dict[tuple[str, NovaNode], NodeValues | BadRow] = {}
        self._memories: dict[str, CellMemory] = {}  # cell uuid -> its rows read last
        self._extras: dict[str, KnownExtras] = {}  # instance uuid -> its flavor and image
        self._cell_errors: dict[str, str] = {}  # cell uuid -> the error last logged
        self._stop = threading.Event()
        self._last_summary: tuple[int, int, int, int] | None = None
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
        # Heartbeats make almost every refresh write something; INFO only when
        # what the cloud holds changes, so a steady cloud logs nothing.
        summary = (result.cells, result.hosts, result.instances, len(result.skipped))
        changed = summary != self._last_summary
        self._last_summary = summary
        LOG.log(
            logging.INFO if changed else logging.DEBUG,
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
        url = reader.format_cell_url(cell.database_connection, self._api_url)
        known = self._cells.get(cell.uuid)
        if known is not None and known[0] == url:
            return known[1]
        if known is not None:
            known[1].dispose()
        self._note_password(url)
        engine = reader.read_only_engine(url)
        self._cells[cell.uuid] = (url, engine)
        return engine

    def _refresh(self) -> RefreshResult:
        result = RefreshResult()
        try:
            with reader.snapshot(self._api_engine()) as conn:
                api = reader.read_api(conn)
        except Exception as exc:
            LOG.error(
                "Nova feed: cannot read the API database %s: %s",
                safe_url(self._api_url),
                self.scrub(exc),
            )
            result.ran = False
            return result
        for gone in set(self._cells) - {c.uuid for c in api.cells}:
            self._cells.pop(gone)[1].dispose()

        self._held.catch_up(self.db)
        held_instances = {r.uuid: r for r in self._held.instances.values()}
        held_nodes = list(self._held.nodes.values())
        held_services = {s.host: s for s in self._held.services.values()}

        cells: dict[str, CellRows] = {}
        for cell in api.cells:
            try:
                with reader.snapshot(self._cell_engine(cell)) as conn:
                    cells[cell.uuid] = reader.read_cell(
                        conn, self._memories.setdefault(cell.uuid, CellMemory()), self._extras_for
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
                    safe_url(reader.format_cell_url(cell.database_connection, self._api_url)),
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
        result.writes += nova_sync.sync_aggregates(self.db, api.aggregates)
        result.writes += nova_sync.sync_hosts(self.db, desired, held_nodes, held_services, frozen)
        result.writes += nova_sync.sync_instances(
            self.db, desired, held_instances, frozen, self.grace
        )
        result.writes += nova_sync.sync_groups(self.db, api.groups)
        result.writes += nova_sync.remove_hosts(self.db, desired, held_nodes, frozen)
        if result.writes:
            # The rows just written, read back now rather than by the next
            # refresh, so that a steady cloud's refresh reads no row of corral's.
            self._held.catch_up(self.db)
        result.hosts = len({h for h, _n in desired.nodes})
        result.nodes = len(desired.nodes)
        result.instances = len(desired.instances)
        return result

    def _extras_for(self, found: list[NovaInstance]) -> list[str]:
        """The instances whose flavor and image are to be read: new ones, and
        those Nova saved since (a resize changes instance_extra, a rebuild the
        instance's row), and those saved lately: Nova's timestamps may count
        whole seconds, so a second save within the same second moves none."""
        recent = utcnow() - datetime.timedelta(seconds=RECENT_SAVE)
        return [
            i.uuid
            for i in found
            if (known := self._extras.get(i.uuid)) is None
            or known.stamp != (i.updated_at, i.extra_updated_at)
            or any(t is not None and t >= recent for t in known.stamp)
        ]

    # --- what Nova holds -----------------------------------------------------------

    def _desired(
        self, api: ApiRows, cells: Mapping[str, CellRows], result: RefreshResult
    ) -> Desired:
        nodes: dict[tuple[str, str], NodeValues] = {}
        services: dict[str, NovaService] = {}
        host_cell: dict[str, str] = {}
        provider_of: dict[tuple[str, str], str] = {}
        instances: dict[str, NovaInstance] = {}
        extras: dict[str, KnownExtras] = {}
        skipped: dict[str, str] = {}
        validated: dict[tuple[str, NovaNode], NodeValues | BadRow] = {}
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
                known = self._validated.get((cell_uuid, node))
                if known is None:
                    try:
                        known = node_values(node, cell_uuid)
                    except BadRow as exc:
                        known = exc
                validated[(cell_uuid, node)] = known
                if isinstance(known, BadRow):
                    skipped[host] = f"node {node.hypervisor_hostname}: {known}"
                    continue
                values = known
                nodes[(host, values.hypervisor_hostname)] = values
                provider_of[(host, values.hypervisor_hostname)] = values.provider_uuid
            for instance in rows.instances:
                stamp = (instance.updated_at, instance.extra_updated_at)
                read = rows.extras.get(instance.uuid)
                if read is not None:
                    sysmeta = read.system_metadata
                    extras[instance.uuid] = KnownExtras(
                        stamp,
                        flavor_of(read.flavor),
                        image_properties(sysmeta) if sysmeta else None,
                    )
                elif (seen := self._extras.get(instance.uuid)) is not None:
                    extras[instance.uuid] = seen
                if host_cell.get(instance.host) == cell_uuid:
                    instances[instance.uuid] = instance
        # Only the rows read this time: a cell that could not be read keeps nothing here.
        self._validated = validated
        self._extras = extras
        for key in [k for k in nodes if k[0] in skipped]:
            del nodes[key]
        for host, why in skipped.items():
            if self._logged_skips.get(host) != why:
                LOG.warning("Nova feed: skipping compute host %s: %s", host, why)
        self._logged_skips = dict(skipped)
        result.skipped = skipped
        flavors = {u: e.flavor for u, e in extras.items() if e.flavor is not None}
        images = {
            u: e.image_properties for u, e in extras.items() if e.image_properties is not None
        }
        return Desired(nodes, services, instances, provider_of, flavors, images)
