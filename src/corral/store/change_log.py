"""Keeping the change log bounded.

Every process's in-memory index follows the log; a row is only needed until
every live index has read it. Rows older than the retention are deleted, the
newest row always stays (on SQLite a sequence number is `max(seq) + 1`, so
deleting the top would hand the same number out again), and an index that
finds the log no longer reaches back to where it stood reloads in full.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, delete, func, select

from corral.store import tables

_log = tables.change_log


def prune(conn: Connection, before: datetime.datetime) -> int:
    """Delete rows created before `before`, except the newest; return how many."""
    top = conn.execute(select(func.max(_log.c.seq))).scalar_one_or_none()
    if top is None:
        return 0
    result = conn.execute(delete(_log).where(_log.c.created_at < before, _log.c.seq < top))
    return int(result.rowcount or 0)


def oldest_seq(conn: Connection) -> int | None:
    """The lowest sequence number still in the log (None when it is empty)."""
    value = conn.execute(select(func.min(_log.c.seq))).scalar_one_or_none()
    return None if value is None else int(value)
