"""Helpers for the inventory, resource class and usage tests: API shortcuts and
row counts that show whether a refused request changed anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient


def create_rp(api: PlacementClient, name: str) -> str:
    resp = api.post("/resource_providers", json={"name": name})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


def generation(api: PlacementClient, rp: str) -> int:
    resp = api.get(f"/resource_providers/{rp}")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["generation"])


def error(resp: Any) -> dict[str, Any]:
    return dict(resp.json()["errors"][0])


def put_inventories(
    api: PlacementClient, rp: str, gen: int, invs: dict[str, Any], **kw: Any
) -> Any:
    return api.put(
        f"/resource_providers/{rp}/inventories",
        json={"resource_provider_generation": gen, "inventories": invs},
        **kw,
    )


def allocate(
    api: PlacementClient, rp: str, resources: dict[str, int], consumer: str | None = None
) -> str:
    """Claim `resources` on `rp` for the consumer (a new one when not given)."""
    consumer = consumer or str(uuid.uuid4())
    resp = api.put(
        f"/allocations/{consumer}",
        json={
            "allocations": {rp: {"resources": resources}},
            "project_id": "p1",
            "user_id": "u1",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )
    assert resp.status_code == 204, resp.text
    return consumer


@dataclass(frozen=True)
class RowCounts:
    inventories: int
    change_log: int
    resource_classes: int
    generations: int  # the sum over all providers


def row_counts(database_url: str) -> RowCounts:
    db = Database(database_url)
    try:
        with db.read() as conn:

            def count(table: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

            gens = conn.execute(
                select(func.coalesce(func.sum(tables.resource_providers.c.generation), 0))
            ).scalar_one()
            return RowCounts(
                count(tables.inventories),
                count(tables.change_log),
                count(tables.resource_classes),
                int(gens),
            )
    finally:
        db.dispose()
