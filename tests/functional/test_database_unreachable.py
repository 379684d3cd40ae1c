"""A database that cannot be reached is a 503 with Retry-After, not a 500.

tests/faults/test_api_faults.py cuts a real PostgreSQL connection off under
load; this is the same answer in one process, on each backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from corral.store.database import Database, is_unreachable
from tests.conftest import PlacementClient


def _refused(*_args: Any, **_kwargs: Any) -> Any:
    @contextmanager
    def scope() -> Iterator[Any]:
        raise OperationalError(
            "SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")
        )
        yield  # pragma: no cover

    return scope()


def test_what_counts_as_unreachable() -> None:
    pg_down = psycopg.OperationalError("consuming input failed: server closed the connection")
    assert is_unreachable(OperationalError("SELECT 1", {}, pg_down))
    locked = sqlite3.OperationalError("database is locked")
    assert is_unreachable(OperationalError("BEGIN", {}, locked))
    assert is_unreachable(PoolTimeout("QueuePool limit of size 10 overflow 10 reached"))
    # A wrong statement is a bug, and stays a 500.
    no_table = sqlite3.OperationalError("no such table: nope")
    assert not is_unreachable(OperationalError("SELECT", {}, no_table))
    assert not is_unreachable(ProgrammingError("SELECT", {}, Exception("syntax")))
    assert not is_unreachable(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_unreachable(ValueError("x"))


def test_unreachable_database_is_503(api: PlacementClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.get("/resource_providers").status_code == 200
    monkeypatch.setattr(Database, "read", _refused)
    monkeypatch.setattr(Database, "write", _refused)
    resp = api.get("/resource_providers")
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "1"
    assert (
        "The database cannot be reached; retry in a moment." in resp.json()["errors"][0]["detail"]
    )
    resp = api.post("/resource_providers", json={"name": "while-down"})
    assert resp.status_code == 503, resp.text
    monkeypatch.undo()
    names = [p["name"] for p in api.get("/resource_providers").json()["resource_providers"]]
    assert "while-down" not in names
