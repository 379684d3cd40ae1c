"""Whether a compute service is up: Nova's servicegroup DB driver, without a query per host.

Nova's `servicegroup.API.service_is_up` (DB driver) calls a service up when
its last heartbeat is at most `[DEFAULT] service_down_time` seconds old and
it is not forced down. Heartbeats are not in the change log
(corral.store.host_changes: one per host every few seconds would swamp it),
so every `interval` seconds a catch-up asks the database for the services
last heard from before `now - service_down_time + interval`, the few that
are down or will be before the next poll; every other service is known to
have reported after that cutoff, which is kept as its heartbeat. So `up` is
exact or, when polls stop, pessimistic (a host is never kept up on stale
data).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from corral.scheduler.host_cache.mirror import HostMirror
from corral.store import compute_hosts as host_store

Mask = npt.NDArray[np.bool_]


def up(
    has_service: Mask,
    forced_down: Mask,
    heartbeat: npt.NDArray[np.float64],
    now: float,
    service_down_time: float,
) -> Mask:
    """Nova's service_is_up for each host (heartbeats in seconds since the epoch)."""
    return has_service & ~forced_down & (np.abs(now - heartbeat) <= service_down_time)


class HeartbeatPolls:
    """When to poll heartbeats, and what a poll reads."""

    def __init__(
        self,
        service_down_time: float,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        self.service_down_time = float(service_down_time)
        # A poll must come round before a fresh heartbeat could go stale.
        self.interval = min(interval, self.service_down_time / 2)
        self._clock = clock  # wall clock: heartbeats are wall times
        self._last = -math.inf  # monotonic time of the last poll
        self.polls = 0

    def restart(self, now: float) -> None:
        """A full load just read every heartbeat."""
        self._last = now

    def due(self, now: float) -> bool:
        return now - self._last >= self.interval

    def poll(self, conn: Connection) -> tuple[float, list[tuple[int, datetime.datetime | None]]]:
        """The cutoff every service not listed reported after, and the listed
        (service id, last heartbeat); fold it in with `done`."""
        cutoff = self._clock() - self.service_down_time + self.interval
        before = datetime.datetime.fromtimestamp(cutoff, datetime.UTC).replace(tzinfo=None)
        return cutoff, host_store.stale_heartbeats(conn, before)

    def done(
        self,
        mirror: HostMirror,
        now: float,
        polled: tuple[float, list[tuple[int, datetime.datetime | None]]],
    ) -> None:
        """Fold a poll in (under the write side of the cache's lock)."""
        cutoff, stale = polled
        mirror.fold_heartbeats(cutoff, stale)
        self._last = now
        self.polls += 1
