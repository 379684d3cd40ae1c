"""The live index: loaded from the store, kept current from the change log.

Placement answers from its database on every request; corral answers
from this in-memory copy of the provider tables, which follows the change
log through corral.store.change_feed (the same follower the scheduler's host
cache uses). Correctness comes from catching up at the start of every search
(`PlacementIndex.session`): a search sees every write that completed before
it began, in this process or any other sharing the database. A background
thread (`IndexRefresher`) only makes that catch-up cheaper by applying
changes between requests.

A stale index can only propose a candidate that turns out to be full; the
claim re-checks capacity inside its own transaction, so it never causes an
over-commit.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

import os_traits
from sqlalchemy import Connection

from corral.placement.index.state import IndexState
from corral.placement.index.view import IndexView, TraitNames
from corral.store import host_changes, resource_classes, snapshot
from corral.store.change_feed import BATCH, CatchUpGate, ChangeFeed, Changes, LogPosition
from corral.store.database import Database
from corral.store.rwlock import ReadWriteLock

LOG = logging.getLogger(__name__)

_ASPECTS = ("provider", "inventory", "usage", "traits", "aggregates")
_KIND_ASPECTS: dict[str, tuple[str, ...]] = {
    "provider": ("provider",),
    "deleted": ("provider",),
    "inventory": ("inventory",),
    "usage": ("usage",),
    "traits": ("traits",),
    "aggregates": ("aggregates",),
}


@dataclass
class IndexStats:
    providers: int
    full_loads: int
    changes_applied: int
    last_seq: int
    gaps: int
    array_bytes: int


class PlacementIndex:
    def __init__(
        self,
        db: Database,
        *,
        gap_timeout: float = 30.0,
        batch: int = BATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self._state = IndexState()
        self._trait_names = TraitNames()
        self._rw = ReadWriteLock()
        self._gate = CatchUpGate(db, clock)
        self._feed = ChangeFeed(gap_timeout=gap_timeout, batch=batch, clock=clock)
        self.full_loads = 0
        self.changes_applied = 0

    # --- public --------------------------------------------------------------------

    def load(self) -> None:
        """(Re)build everything from the store."""
        self._gate.load(lambda conn: self._full_load(conn, self._feed.reload(conn).at))

    def catch_up(self, conn: Connection | None = None) -> None:
        """Apply every change committed before this call began."""
        self._gate.catch_up(self._sync, conn)

    @contextlib.contextmanager
    def session(self) -> Iterator[tuple[Connection, IndexView]]:
        """A read transaction and a view of the index, caught up to it, for one search.

        Name lookups (resource classes, traits) go through the connection, as
        the database is the authority on which names exist.
        """
        with self.db.read() as conn:
            self.catch_up(conn)
            with self._rw.reading():
                yield conn, IndexView(self._state, self._trait_names)

    @contextlib.contextmanager
    def viewing(self) -> Iterator[IndexView]:
        """A view of the index as it stands, without catching up (explanations
        of a search that just ran)."""
        with self._rw.reading():
            yield IndexView(self._state, self._trait_names)

    @contextlib.contextmanager
    def reading(self) -> Iterator[IndexState]:
        """The index as it stands, without catching up (tests, benchmarks)."""
        with self._rw.reading():
            yield self._state

    def stats(self) -> IndexStats:
        with self._rw.reading():
            return IndexStats(
                providers=int(self._state.alive[: self._state.size].sum()),
                full_loads=self.full_loads,
                changes_applied=self.changes_applied,
                last_seq=self._feed.high,
                gaps=self._feed.gap_count,
                array_bytes=self._state.nbytes,
            )

    # --- loading -------------------------------------------------------------------

    def _full_load(self, conn: Connection, at: LogPosition) -> None:
        # Data is read after the log position, so it is at least that new.
        providers = snapshot.providers(conn)
        state = IndexState(expected_providers=len(providers))
        state.apply_providers(None, providers)
        _load_aspects(conn, state, None, {"inventory", "usage", "traits", "aggregates"})
        sharing = snapshot.trait_ids(conn, [os_traits.MISC_SHARES_VIA_AGGREGATE])
        state.sharing_trait_id = sharing.get(os_traits.MISC_SHARES_VIA_AGGREGATE)
        with self._rw.writing():
            self._state = state
            self._feed.restart(at)
        self.full_loads += 1
        LOG.info("index loaded: %d providers, change log at %d", state.size, at.top)

    def _sync(self, conn: Connection) -> None:
        polled = self._feed.poll(conn)
        if not isinstance(polled, Changes):
            self._full_load(conn, polled.at)
            return
        if not polled.rows:
            return
        wanted: dict[str, set[int]] = {aspect: set() for aspect in _ASPECTS}
        with self._rw.reading():
            known = self._state.slot_of_id
            for row in polled.rows:
                if row.kind in host_changes.KINDS:
                    continue  # the scheduler's tables (their ids are not providers')
                aspects = _KIND_ASPECTS.get(row.kind, _ASPECTS)
                if row.provider_id not in known:
                    aspects = _ASPECTS
                for aspect in aspects:
                    wanted[aspect].add(row.provider_id)
        if not any(wanted.values()):
            return
        self._apply(conn, wanted)
        self.changes_applied += len(polled.rows)

    def _apply(self, conn: Connection, wanted: dict[str, set[int]]) -> None:
        # Read everything first, then hold the write lock only to fold it in.
        provider_rows = snapshot.providers(conn, wanted["provider"]) if wanted["provider"] else None
        aspects = {a for a in ("inventory", "usage", "traits", "aggregates") if wanted[a]}
        loaded = _read_aspects(conn, wanted, aspects)
        with self._rw.writing():
            state = self._state
            if provider_rows is not None:
                state.apply_providers(wanted["provider"], provider_rows)
            _fold_aspects(state, wanted, loaded)


@dataclass
class _Loaded:
    inventory: list[snapshot.InventoryRow] | None = None
    usage: list[snapshot.UsageRow] | None = None
    traits: list[tuple[int, int]] | None = None
    aggregates: list[tuple[int, int, str]] | None = None
    rc_names: dict[int, str] | None = None
    trait_names: dict[int, str] | None = None


def _read_aspects(
    conn: Connection, wanted: dict[str, set[int]] | None, aspects: Collection[str]
) -> _Loaded:
    def ids(aspect: str) -> set[int] | None:
        return None if wanted is None else wanted[aspect]

    out = _Loaded()
    if "inventory" in aspects:
        out.inventory = snapshot.inventories(conn, ids("inventory"))
        rc_ids = {row[1] for row in out.inventory}
        # Custom class ids can be reused after a delete: always re-read names.
        out.rc_names = resource_classes.names_for_ids(conn, rc_ids)
    if "usage" in aspects:
        out.usage = snapshot.usages(conn, ids("usage"))
    if "traits" in aspects:
        out.traits = snapshot.provider_traits(conn, ids("traits"))
        out.trait_names = snapshot.trait_names(conn, {t for _, t in out.traits})
    if "aggregates" in aspects:
        out.aggregates = snapshot.provider_aggregates(conn, ids("aggregates"))
    return out


def _fold_aspects(state: IndexState, wanted: dict[str, set[int]] | None, loaded: _Loaded) -> None:
    def ids(aspect: str) -> set[int] | None:
        return None if wanted is None else wanted[aspect]

    state.set_names(loaded.rc_names, loaded.trait_names)
    if loaded.inventory is not None:
        state.apply_inventories(ids("inventory"), loaded.inventory)
    if loaded.usage is not None:
        state.apply_usages(ids("usage"), loaded.usage)
    if loaded.traits is not None:
        state.apply_traits(ids("traits"), loaded.traits)
    if loaded.aggregates is not None:
        state.apply_aggregates(ids("aggregates"), loaded.aggregates)


def _load_aspects(
    conn: Connection, state: IndexState, wanted: dict[str, set[int]] | None, aspects: set[str]
) -> None:
    _fold_aspects(state, wanted, _read_aspects(conn, wanted, aspects))
