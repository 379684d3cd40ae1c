"""Keeps the index current between requests.

Searches always catch up themselves (that is what makes them see every
completed write); this thread only moves that work off the request path. On
PostgreSQL it LISTENs on the channel every change-log writer NOTIFYs, so it
wakes as soon as a change commits; otherwise, and as a fallback, it polls.

It also prunes the change log now and then: rows older than the retention
are of no use to any live index (see corral.store.change_log). Every process
prunes; the deletes are idempotent, so doing it in several places is harmless.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any

from corral.placement.index.live import PlacementIndex
from corral.store import change_log
from corral.store.database import utcnow

LOG = logging.getLogger(__name__)

CHANNEL = "corral_changes"

# Seconds between two prunes of the change log by one process.
PRUNE_INTERVAL = 60.0


# Longest a listening refresher takes to notice stop().
STOP_SLICE = 0.1


class IndexRefresher:
    def __init__(
        self,
        index: PlacementIndex,
        *,
        interval: float = 1.0,
        listen: bool = True,
        retention: float = 3600.0,
    ) -> None:
        self.index = index
        self.interval = interval
        self.retention = retention
        self._last_prune = time.monotonic()
        self.pruned = 0
        self.listen = listen and index.db.is_postgresql
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.wakeups = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="corral-index-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.listen:
                    self._listen_loop()
                else:
                    self._poll_loop()
            except Exception:  # keep refreshing whatever one round hit
                LOG.exception("index refresh failed; retrying")
                self._stop.wait(self.interval)

    def _refresh(self) -> None:
        self.wakeups += 1
        self.index.catch_up()
        if time.monotonic() - self._last_prune >= PRUNE_INTERVAL:
            self._last_prune = time.monotonic()
            self.prune()

    def prune(self) -> int:
        """Delete change-log rows older than the retention; return how many."""
        before = utcnow() - datetime.timedelta(seconds=self.retention)
        with self.index.db.write() as conn:
            removed = change_log.prune(conn, before)
        self.pruned += removed
        if removed:
            LOG.info("pruned %d change-log rows older than %.0f s", removed, self.retention)
        return removed

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._refresh()

    def _listen_loop(self) -> None:
        with self.index.db.engine.connect() as sa_conn:
            sa_conn = sa_conn.execution_options(isolation_level="AUTOCOMMIT")
            driver: Any = sa_conn.connection.driver_connection
            driver.execute(f"LISTEN {CHANNEL}")
            last = time.monotonic()
            while not self._stop.is_set():
                # Wait in short slices so that stop() is prompt (a worker's
                # shutdown and every test teardown wait for it); refresh on a
                # notification (several commits wake us once) or when the
                # poll interval has passed anyway.
                woken = False
                for _ in driver.notifies(timeout=min(self.interval, STOP_SLICE), stop_after=1):
                    woken = True
                if self._stop.is_set():
                    break
                if woken or time.monotonic() - last >= self.interval:
                    last = time.monotonic()
                    self._refresh()
