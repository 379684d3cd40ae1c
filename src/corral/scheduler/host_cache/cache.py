"""The scheduler's view of every compute host: Nova HostManager, kept in memory.

Nova's HostManager builds a HostState per compute node on every request from
its databases and the instance info computes send it. `HostCache` loads
compute nodes, services, host aggregates, server groups and instances once
(corral.scheduler.host_cache.mirror), follows the change log through
corral.store.change_feed (the follower the placement index uses too),
polls heartbeats (corral.scheduler.host_cache.liveness) and builds
HostBatches for any list of providers (corral.scheduler.host_cache.batches).

Thread safety: catch-ups are serialised; they read the database first and
then fold the rows in under the write side of a readers-writer lock. Batch
builders and lookups hold the read side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from corral.placement.index import IndexView
from corral.scheduler.batch import Aggregate, HostBatch
from corral.scheduler.host_cache.batches import BatchBuilder
from corral.scheduler.host_cache.liveness import HeartbeatPolls
from corral.scheduler.host_cache.mirror import HostMirror, NodeKey, read_all, read_changed
from corral.scheduler.spec import InstanceGroup
from corral.store import host_changes
from corral.store.change_feed import BATCH, CatchUpGate, ChangeFeed, Changes, LogPosition
from corral.store.database import Database
from corral.store.rwlock import ReadWriteLock

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheStats:
    nodes: int
    instances: int
    full_loads: int
    changes_applied: int
    heartbeat_polls: int
    last_seq: int


class HostCache:
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
        self.default_availability_zone = default_availability_zone
        self._clock = clock
        self._monotonic = monotonic
        self._rw = ReadWriteLock()
        self._gate = CatchUpGate(db, monotonic)
        self._feed = ChangeFeed(gap_timeout=gap_timeout, batch=batch, clock=monotonic)
        self._heartbeats = HeartbeatPolls(service_down_time, heartbeat_poll_interval, clock)
        self._mirror = HostMirror(0, default_availability_zone)
        self._batches = BatchBuilder()
        self.full_loads = 0
        self.changes_applied = 0

    @property
    def service_down_time(self) -> float:
        return self._heartbeats.service_down_time

    @property
    def heartbeat_poll_interval(self) -> float:
        return self._heartbeats.interval

    @property
    def heartbeat_polls(self) -> int:
        return self._heartbeats.polls

    # --- public: keeping current ---------------------------------------------------

    def load(self) -> None:
        """(Re)build everything from the store."""
        self._gate.load(lambda conn: self._full_load(conn, self._feed.reload(conn).at))

    def catch_up(self, conn: Connection | None = None) -> None:
        """Apply every change committed before this call began (and poll
        heartbeats when the poll interval has passed)."""
        self._gate.catch_up(self._sync, conn)

    def stats(self) -> CacheStats:
        with self._rw.reading():
            return CacheStats(
                nodes=self._mirror.nodes(),
                instances=len(self._mirror.instances),
                full_loads=self.full_loads,
                changes_applied=self.changes_applied,
                heartbeat_polls=self.heartbeat_polls,
                last_seq=self._feed.high,
            )

    # --- public: batches -----------------------------------------------------------

    def batch_for(
        self,
        provider_uuids: Sequence[str],
        view: IndexView,
        *,
        now: float | None = None,
    ) -> HostBatch:
        """The HostBatch of the compute nodes whose root providers are
        `provider_uuids`, in that order.

        Providers that are not a registered compute node are left out, as
        Nova's HostManager skips providers without a compute node; the
        batch's `provider_uuid` column says which stayed. `view` is the
        placement index view the caller holds (from `PlacementIndex.session()`
        or `.viewing()`). `now` (seconds since the epoch) is for tests.
        `candidate_mappings` is left for the caller.
        """
        moment = self._clock() if now is None else now
        with self._rw.reading():
            mirror = self._mirror
            rows = mirror.rows_of(provider_uuids)
            return self._batches.build(mirror, rows, view, moment, self.service_down_time)

    def aggregates(self) -> Mapping[int, Aggregate]:
        """Every host aggregate by id (a mapping replaced, never changed, on updates)."""
        with self._rw.reading():
            return self._mirror.aggregates

    def all_provider_uuids(self) -> list[str]:
        """The root provider of every registered compute node (in no set order)."""
        with self._rw.reading():
            return self._mirror.provider_uuids()

    def forced_down(self, provider_uuids: Sequence[str]) -> list[bool]:
        """Whether each node's service is forced down (the batch's `up` folds
        it in with the heartbeat; the dashboard tells the two apart)."""
        with self._rw.reading():
            mirror = self._mirror
            rows = mirror.rows_of(provider_uuids)
            picked: list[bool] = mirror.cols.bools["forced_down"][rows].tolist()
            return picked

    def node_of_provider(self, provider_uuid: str) -> NodeKey | None:
        """(host, node) of the compute node with that root provider."""
        with self._rw.reading():
            return self._mirror.node_of_provider(provider_uuid)

    def instance_group(self, group_uuid: str) -> InstanceGroup | None:
        """The server group as a RequestSpec carries it (Nova's InstanceGroup):
        its policy, rules, members and the hosts its members are on."""
        with self._rw.reading():
            group = self._mirror.group(group_uuid)
            if group is None:
                return None
            hosts = self._mirror.hosts_of(group.members)
        return InstanceGroup(
            uuid=group.uuid,
            policy=group.policy,
            rules={k: str(v) for k, v in group.rules.items()},
            members=tuple(group.members),
            hosts=tuple(sorted(hosts)),
            name=group.name,
        )

    # --- following the store -------------------------------------------------------

    def _full_load(self, conn: Connection, at: LogPosition) -> None:
        # Data is read after the log position, so it is at least that new.
        read = read_all(conn)
        mirror = HostMirror(len(read.nodes or ()), self.default_availability_zone)
        mirror.fold(read, None)
        with self._rw.writing():
            self._mirror = mirror
            self._batches = BatchBuilder()
            self._feed.restart(at)
            self._heartbeats.restart(self._monotonic())
        self.full_loads += 1
        LOG.info("host state loaded: %d compute nodes, change log at %d", mirror.cols.size, at.top)

    def _sync(self, conn: Connection) -> None:
        polled = self._feed.poll(conn)
        if not isinstance(polled, Changes):
            self._full_load(conn, polled.at)
            return
        now = self._monotonic()
        wanted = polled.ids_by_kind(host_changes.KINDS)
        if any(wanted.values()):
            read = read_changed(conn, wanted)
            with self._rw.writing():
                self._mirror.fold(read, wanted)
            self.changes_applied += sum(len(ids) for ids in wanted.values())
        if self._heartbeats.due(now):
            beats = self._heartbeats.poll(conn)
            with self._rw.writing():
                self._heartbeats.done(self._mirror, now, beats)
