"""What corral's compute tables hold, as the Nova feed (corral.compute.nova_feed)
compares Nova with: compute nodes, nova-compute services and instances,
read in full once, then kept current from the change log.

A refresh compares every host, so reading the three tables back every
interval (and decoding every JSON column) would cost more than the read of
Nova itself. `HeldRows` follows the change log through
corral.store.change_feed.ChangeFeed, the follower the host cache and the
placement index use (gaps, pruning and long backlogs included: those
reload in full), and reads again only the rows another write named. The
feed's own writes come back the same way. Heartbeats are not in the change
log (corral.store.host_changes): the services' `last_heartbeat` column is
read afresh each time, one small query.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Collection, Mapping
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from corral.store import compute_hosts as host_store
from corral.store import host_changes
from corral.store import instances as instance_store
from corral.store.change_feed import ChangeFeed, Changes
from corral.store.compute_hosts import NodeRow, ServiceRow
from corral.store.database import Database
from corral.store.instances import InstanceRow

KINDS = frozenset({host_changes.HOSTS, host_changes.SERVICES, host_changes.INSTANCES})


class HeldRows:
    """corral's nodes, services and instances, by id, as of the last `catch_up`."""

    def __init__(self) -> None:
        self._feed = ChangeFeed()
        self.nodes: dict[int, NodeRow] = {}
        self.services: dict[int, ServiceRow] = {}
        self.instances: dict[int, InstanceRow] = {}
        self.full_loads = 0

    def catch_up(self, db: Database) -> None:
        """Everything committed before this call, in one read transaction."""
        with db.read() as conn:
            polled = self._feed.poll(conn)
            if isinstance(polled, Changes):
                wanted = polled.ids_by_kind(KINDS)
                _fold(self.nodes, host_store.nodes_by_ids, conn, wanted[host_changes.HOSTS])
                _fold(
                    self.services, host_store.services_by_ids, conn, wanted[host_changes.SERVICES]
                )
                _fold(
                    self.instances, instance_store.rows_by_ids, conn, wanted[host_changes.INSTANCES]
                )
            else:
                self.nodes = {r.id: r for r in host_store.nodes_by_ids(conn)}
                self.services = {r.id: r for r in host_store.services_by_ids(conn)}
                self.instances = {r.id: r for r in instance_store.every_row(conn)}
                self._feed.restart(polled.at)
                self.full_loads += 1
            self._heartbeats(host_store.heartbeats(conn))

    def _heartbeats(self, beats: Mapping[int, datetime.datetime | None]) -> None:
        for service_id, service in list(self.services.items()):
            last = beats.get(service_id, service.last_heartbeat)
            if last != service.last_heartbeat:
                self.services[service_id] = dataclasses.replace(service, last_heartbeat=last)


class _Row(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Row)


def _fold(
    held: dict[int, R],
    read: Callable[[Connection, Collection[int]], list[R]],
    conn: Connection,
    ids: Collection[int],
) -> None:
    if not ids:
        return
    found = {r.id: r for r in read(conn, ids)}
    for row_id in ids:
        row = found.get(row_id)
        if row is None:
            held.pop(row_id, None)
        else:
            held[row_id] = row
