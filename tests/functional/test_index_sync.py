"""The index follows the change log: every kind of change, several processes,
out-of-order commits, backlogs, and a log that starts over."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, insert

from corral.placement.index import PlacementIndex
from corral.placement.index.refresher import IndexRefresher
from corral.store import change_log, snapshot, tables
from corral.store.database import Database, utcnow
from corral.store.resource_classes import STANDARD_IDS
from tests.functional.candidate_rows import CloudWriter

VCPU = STANDARD_IDS["VCPU"]
AGG = "11111111-1111-1111-1111-111111111111"


@pytest.fixture
def cloud(database: Database) -> CloudWriter:
    return CloudWriter(database)


@pytest.fixture
def index(database: Database) -> Iterator[PlacementIndex]:
    idx = PlacementIndex(database)
    idx.load()
    yield idx


def fitting(index: PlacementIndex, amount: int = 1) -> set[str]:
    with index.reading() as state:
        column = state.column(VCPU)
        if column is None:
            return set()
        return {state.uuid[int(s)] for s in column.fits(amount)}


def test_every_kind_of_change_is_followed(
    index: PlacementIndex, cloud: CloudWriter, database: Database
) -> None:
    a = cloud.provider("a")
    cloud.inventory("a", "VCPU", 4)
    index.catch_up()
    assert fitting(index, 4) == {a}
    consumer = cloud.allocate("a", "VCPU", 3)
    index.catch_up()
    assert fitting(index, 2) == set()
    cloud.free(consumer)
    cloud.traits("a", "CUSTOM_X", "MISC_SHARES_VIA_AGGREGATE")
    cloud.aggregates("a", AGG)
    b = cloud.provider("b", parent="a")
    index.catch_up()
    with index.reading() as state:
        slot = state.slot_of_uuid[a]
        assert fitting(index, 4) == {a}
        assert {state.trait_name[t] for t in state.traits.ids(slot)} == {
            "CUSTOM_X",
            "MISC_SHARES_VIA_AGGREGATE",
        }
        assert state.is_sharing(slot)
        assert state.aggregate_id_of_uuid[AGG] in state.aggregates.ids(slot)
        assert state.has_trees
        assert state.summary(state.slot_of_uuid[b]).root_uuid == a
    cloud.delete_provider("b")
    index.catch_up()
    with index.reading() as state:
        assert b not in state.slot_of_uuid
        assert not state.has_trees


def test_two_processes_stay_coherent(database: Database, cloud: CloudWriter) -> None:
    first, second = PlacementIndex(database), PlacementIndex(database)
    first.load()
    second.load()
    hosts = [cloud.provider(f"h{i}") for i in range(5)]
    for i in range(5):
        cloud.inventory(f"h{i}", "VCPU", i + 1)
    cloud.allocate("h4", "VCPU", 4)
    for idx in (first, second):
        idx.catch_up()
        assert fitting(idx, 3) == {hosts[2], hosts[3]}


def test_catch_up_is_cheap_when_nothing_changed(index: PlacementIndex, cloud: CloudWriter) -> None:
    cloud.provider("a")
    index.catch_up()
    applied = index.changes_applied
    for _ in range(3):
        index.catch_up()
    assert index.changes_applied == applied
    assert index.full_loads == 1


def _log(database: Database, seq: int, provider_id: int, kind: str) -> None:
    with database.write() as conn:
        conn.execute(
            insert(tables.change_log).values(
                seq=seq, resource_provider_id=provider_id, kind=kind, created_at=utcnow()
            )
        )


def _inventory_without_log(database: Database, provider_id: int, total: int) -> None:
    with database.write() as conn:
        conn.execute(
            insert(tables.inventories).values(
                resource_provider_id=provider_id,
                resource_class_id=VCPU,
                total=total,
                reserved=0,
                min_unit=1,
                max_unit=total,
                step_size=1,
                allocation_ratio=1.0,
            )
        )


def test_a_late_commit_below_the_top_is_picked_up(database: Database, cloud: CloudWriter) -> None:
    a, b = cloud.provider("a"), cloud.provider("b")
    index = PlacementIndex(database)
    index.load()
    # (Numbers missing below the top at load, e.g. from earlier tests on the
    # same PostgreSQL sequence, are gaps too.)
    top, gaps = index.stats().last_seq, index.stats().gaps
    # b's change (top + 2) commits first; a's (top + 1) is still in flight.
    _inventory_without_log(database, cloud.ids["b"], 2)
    _log(database, top + 2, cloud.ids["b"], "inventory")
    index.catch_up()
    assert fitting(index) == {b}
    assert index.stats().gaps == gaps + 1
    _inventory_without_log(database, cloud.ids["a"], 2)
    _log(database, top + 1, cloud.ids["a"], "inventory")
    index.catch_up()
    assert fitting(index) == {a, b}
    assert index.stats().gaps == gaps


def test_a_gap_that_never_fills_is_given_up(database: Database, cloud: CloudWriter) -> None:
    now = [0.0]
    index = PlacementIndex(database, gap_timeout=10, clock=lambda: now[0])
    cloud.provider("a")
    index.load()
    top, gaps = index.stats().last_seq, index.stats().gaps
    _log(database, top + 2, cloud.ids["a"], "inventory")
    index.catch_up()
    assert index.stats().gaps == gaps + 1
    now[0] = 11
    index.catch_up()
    assert index.stats().gaps == 0


@pytest.mark.postgres
def test_out_of_order_commits_on_postgresql(database: Database, cloud: CloudWriter) -> None:
    """Real concurrent transactions: the earlier sequence number commits last."""
    if not database.is_postgresql:
        pytest.skip("SQLite serialises writers; commits cannot overtake each other")
    a, b = cloud.provider("a"), cloud.provider("b")
    index = PlacementIndex(database)
    index.load()
    from corral.store.database import record_changes

    slow = database.engine.connect()
    slow_tx = slow.begin()
    _insert_inventory(slow, cloud.ids["a"])
    record_changes(slow, [cloud.ids["a"]], "inventory")  # takes the lower seq
    with database.write() as fast:
        _insert_inventory(fast, cloud.ids["b"])
        record_changes(fast, [cloud.ids["b"]], "inventory")
    gaps = index.stats().gaps
    index.catch_up()
    assert fitting(index) == {b}
    assert index.stats().gaps == gaps + 1
    slow_tx.commit()
    slow.close()
    index.catch_up()
    assert fitting(index) == {a, b}


def _insert_inventory(conn: object, provider_id: int) -> None:
    conn.execute(  # type: ignore[attr-defined]
        insert(tables.inventories).values(
            resource_provider_id=provider_id,
            resource_class_id=VCPU,
            total=2,
            reserved=0,
            min_unit=1,
            max_unit=2,
            step_size=1,
            allocation_ratio=1.0,
        )
    )


def test_a_long_backlog_is_a_full_reload(database: Database, cloud: CloudWriter) -> None:
    index = PlacementIndex(database, batch=5)
    index.load()
    names = [cloud.provider(f"h{i}") for i in range(8)]
    for i in range(8):
        cloud.inventory(f"h{i}", "VCPU", 1)
    index.catch_up()
    assert index.full_loads == 2
    assert fitting(index) == set(names)


def test_a_log_that_starts_over_forces_a_reload(database: Database, cloud: CloudWriter) -> None:
    now = [0.0]
    index = PlacementIndex(database, clock=lambda: now[0])
    for i in range(3):
        cloud.provider(f"h{i}")
    index.load()
    with database.write() as conn:
        conn.execute(delete(tables.change_log))
    cloud.inventory("h0", "VCPU", 1)  # SQLite hands out seq 1 again
    now[0] = 100
    index.catch_up()
    index.catch_up()
    assert fitting(index) == {cloud.uuids["h0"]}


def test_pruning_keeps_the_newest_row(database: Database, cloud: CloudWriter) -> None:
    for i in range(3):
        cloud.provider(f"h{i}")
    with database.read() as conn:
        top = snapshot.last_seq(conn)
    with database.write() as conn:
        assert change_log.prune(conn, utcnow() + datetime.timedelta(hours=1)) == 2
        assert change_log.prune(conn, utcnow() + datetime.timedelta(hours=1)) == 0
    with database.read() as conn:
        assert change_log.oldest_seq(conn) == top == snapshot.last_seq(conn)
    cloud.provider("h3")
    with database.write() as conn:  # rows younger than the cut stay
        assert change_log.prune(conn, utcnow() - datetime.timedelta(hours=1)) == 0


def test_an_index_behind_pruned_rows_reloads(database: Database, cloud: CloudWriter) -> None:
    now = [0.0]
    index = PlacementIndex(database, clock=lambda: now[0])
    for i in range(3):
        cloud.provider(f"h{i}")
    index.load()
    for i in range(3):
        cloud.inventory(f"h{i}", "VCPU", 1)
    refresher = IndexRefresher(index, retention=0)
    time.sleep(0.01)
    assert refresher.prune() > 0  # only the change for h2 is left
    now[0] = 100
    index.catch_up()
    assert index.full_loads == 2
    assert fitting(index) == {cloud.uuids[f"h{i}"] for i in range(3)}


def test_the_refresher_applies_changes_between_requests(
    index: PlacementIndex, cloud: CloudWriter
) -> None:
    refresher = IndexRefresher(index, interval=0.05)
    refresher.start()
    try:
        a = cloud.provider("a")
        cloud.inventory("a", "VCPU", 1)
        deadline = time.monotonic() + 10
        while fitting(index) != {a} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fitting(index) == {a}
    finally:
        refresher.stop()


@pytest.mark.postgres
def test_postgresql_notifications_wake_the_refresher(
    index: PlacementIndex, cloud: CloudWriter, database: Database
) -> None:
    if not database.is_postgresql:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    # A poll interval far longer than the test: only a notification can wake it.
    refresher = IndexRefresher(index, interval=60)
    refresher.start()
    try:
        time.sleep(0.3)  # let it LISTEN
        a = cloud.provider("a")
        cloud.inventory("a", "VCPU", 1)
        deadline = time.monotonic() + 10
        while fitting(index) != {a} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fitting(index) == {a}
        assert refresher.wakeups >= 1
    finally:
        refresher.stop()
