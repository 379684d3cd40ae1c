"""ChangeFeed: when a follower folds rows in and when it must reload."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.store import change_log, migrate
from corral.store.change_feed import ChangeFeed, Changes, Reload
from corral.store.database import Database, record_changes


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'feed.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


def log(db: Database, kind: str, *ids: int) -> None:
    with db.write() as conn:
        record_changes(conn, list(ids), kind)


def started(db: Database, feed: ChangeFeed | None = None) -> ChangeFeed:
    feed = feed or ChangeFeed()
    with db.read() as conn:
        first = feed.poll(conn)
        assert isinstance(first, Reload)  # not started: load everything
        feed.restart(first.at)
    return feed


def test_rows_after_a_load_are_handed_out_once(db: Database) -> None:
    log(db, "usage", 1)
    feed = started(db)
    log(db, "usage", 2)
    log(db, "hosts", 7)
    with db.read() as conn:
        polled = feed.poll(conn)
        assert isinstance(polled, Changes)
        assert polled.ids_by_kind({"hosts"}) == {"hosts": {7}}
        assert [r.provider_id for r in polled.rows] == [2, 7]
        again = feed.poll(conn)
    assert isinstance(again, Changes) and not again.rows


def test_a_long_backlog_is_a_reload(db: Database) -> None:
    feed = started(db, ChangeFeed(batch=3))
    log(db, "usage", 1, 2, 3)
    with db.read() as conn:
        assert isinstance(feed.poll(conn), Reload)


def test_a_pruned_log_is_a_reload(db: Database) -> None:
    log(db, "usage", 1)
    feed = started(db)
    log(db, "usage", 2)
    log(db, "usage", 3)
    with db.write() as conn:
        # Rows the feed never read are pruned: it cannot follow on.
        change_log.prune(conn, datetime.datetime(9999, 1, 1))
    with db.read() as conn:
        assert isinstance(feed.poll(conn), Reload)
