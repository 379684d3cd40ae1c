"""Following the change log: the one reader every in-memory copy of the store uses.

Every write that changes what a process keeps in memory appends a row to
`change_log` (corral.store.database.record_changes; the scheduler's own
kinds are in corral.store.host_changes). Two followers keep copies current
from it, the placement index (corral.placement.index.live, Placement's
in-memory version of its provider tables) and the scheduler's host cache
(corral.scheduler.host_cache, Nova HostManager's host states). Both follow
it through `ChangeFeed`, which owns the cursor and decides, on every poll,
whether the follower may fold in the rows it read or must reload in full:

- not started yet: reload;
- the log moved away (checked every TOP_CHECK_INTERVAL seconds): its top fell
  below where we stand (database restored, log emptied and restarted) or its
  oldest row lies past where we stand (rows we never read were pruned by
  corral.store.change_log.prune): reload;
- a backlog of `batch` rows or more: reloading is cheaper than following;
- otherwise: the rows not applied before, holes (corral.store.change_cursor)
  included.

A follower reloads by reading the log position first (`Reload.at`), then its
data (so the data is at least that new), then `restart(at)`.

`CatchUpGate` serialises a follower's catch-ups and lets a caller skip its
own when one that began after it arrived has finished (that one saw
everything the caller must see).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from corral.store import change_log, snapshot
from corral.store.change_cursor import ChangeCursor
from corral.store.database import Database

# Log rows read per poll; a longer backlog is cheaper as a full reload.
BATCH = 20_000
# After a full load, sequence numbers missing among this many below the top
# are treated as transactions possibly still in flight.
RELOAD_WINDOW = 10_000
# Seconds between checks that the log has not been reset or pruned under us.
TOP_CHECK_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class LogPosition:
    """The top of the log and the sequence numbers present just below it."""

    top: int
    window_low: int
    present: Sequence[int]


@dataclass(frozen=True, slots=True)
class Reload:
    """Read everything afresh, then `ChangeFeed.restart(at)`."""

    at: LogPosition


@dataclass(frozen=True, slots=True)
class Changes:
    """Log rows not applied before (possibly none), oldest first."""

    rows: Sequence[snapshot.Change]

    def ids_by_kind(self, kinds: Collection[str]) -> dict[str, set[int]]:
        """kind -> the row ids logged for it, for each of `kinds` (others are dropped)."""
        out: dict[str, set[int]] = {kind: set() for kind in kinds}
        for row in self.rows:
            ids = out.get(row.kind)
            if ids is not None:
                ids.add(row.provider_id)
        return out


class ChangeFeed:
    """One follower's place in the change log."""

    def __init__(
        self,
        *,
        gap_timeout: float = 30.0,
        batch: int = BATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cursor = ChangeCursor(gap_timeout=gap_timeout)
        self._batch = batch
        self._clock = clock
        self._started = False
        self._last_top_check = float("-inf")

    @property
    def high(self) -> int:
        """The highest sequence number applied."""
        return self._cursor.high

    @property
    def gap_count(self) -> int:
        """Holes below `high` still waited for."""
        return len(self._cursor.gaps)

    def reload(self, conn: Connection) -> Reload:
        """Where a full load that reads through `conn` next starts from."""
        top = snapshot.last_seq(conn)
        low = max(0, top - RELOAD_WINDOW)
        return Reload(LogPosition(top, low, snapshot.seqs_between(conn, low, top)))

    def restart(self, at: LogPosition) -> None:
        """Stand at `at` after a full load (call it where the loaded data is swapped in)."""
        self._cursor.reset(at.top, at.present, at.window_low, self._clock())
        self._started = True

    def poll(self, conn: Connection) -> Reload | Changes:
        """What the follower must do to see every row committed before this call."""
        if not self._started:
            return self.reload(conn)
        now = self._clock()
        self._cursor.expire(now)
        if now - self._last_top_check > TOP_CHECK_INTERVAL:
            self._last_top_check = now
            if self._moved_away(conn):
                return self.reload(conn)
        cursor = self._cursor
        rows = snapshot.changes_after(conn, cursor.high, self._batch, also=cursor.gaps)
        if not rows:
            return Changes(())
        if len(rows) >= self._batch:
            return self.reload(conn)
        fresh = cursor.accept([r.seq for r in rows], now)
        return Changes([r for r in rows if r.seq in fresh])

    def _moved_away(self, conn: Connection) -> bool:
        high = self._cursor.high
        if high <= 0:
            return False
        if snapshot.last_seq(conn) < high:
            return True
        oldest = change_log.oldest_seq(conn)
        return oldest is not None and oldest > high + 1


class CatchUpGate:
    """Serialises one follower's loads and catch-ups."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._last_start = float("-inf")

    def load(self, step: Callable[[Connection], None]) -> None:
        """Run `step` in a read transaction of its own, whatever ran before."""
        with self._lock:
            self._last_start = self._clock()
            with self._db.read() as conn:
                step(conn)

    def catch_up(self, step: Callable[[Connection], None], conn: Connection | None = None) -> None:
        """Run `step` (in `conn`, or a read transaction of its own) unless a run
        that began after this call arrived has already finished."""
        arrived = self._clock()
        with self._lock:
            if self._last_start > arrived:
                return
            self._last_start = self._clock()
            if conn is None:
                with self._db.read() as own:
                    step(own)
            else:
                step(conn)
