"""Helpers for the scheduler API tests: shortcuts to register hosts and
providers, and a fingerprint of the scheduler's tables that shows whether a
refused request changed anything."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient

ROOT = "/scheduler/v1"

SCHEDULER_TABLES = (
    tables.compute_hosts,
    tables.compute_services,
    tables.host_aggregates,
    tables.host_aggregate_metadata,
    tables.host_aggregate_hosts,
    tables.server_groups,
    tables.server_group_members,
    tables.instances,
    tables.change_log,
    tables.resource_provider_aggregates,
    tables.allocations,
)


def create_provider(
    api: PlacementClient, name: str, inventory: Mapping[str, int | Mapping[str, Any]] | None = None
) -> str:
    """A provider with these inventories: class -> total, or -> a whole inventory record."""
    resp = api.post("/resource_providers", json={"name": name})
    assert resp.status_code == 200, resp.text
    rp = str(resp.json()["uuid"])
    if inventory:
        records = {
            rc: dict(value) if isinstance(value, Mapping) else {"total": value}
            for rc, value in inventory.items()
        }
        resp = api.put(
            f"/resource_providers/{rp}/inventories",
            json={"resource_provider_generation": 0, "inventories": records},
        )
        assert resp.status_code == 200, resp.text
    return rp


def compute_host(
    api: PlacementClient, name: str, inventory: Mapping[str, int | Mapping[str, Any]]
) -> str:
    """A provider with this inventory, registered as a compute host and up; its uuid."""
    rp = create_provider(api, name, inventory)
    register(api, name, provider=rp)
    resp = api.post(f"{ROOT}/hosts/{name}/heartbeat")
    assert resp.status_code in (200, 204), resp.text
    return rp


def register(
    api: PlacementClient,
    host: str,
    provider: str | None = None,
    node: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {"nodename": node or host, "provider_uuid": provider or str(uuid.uuid4()), **extra}
    resp = api.put(f"{ROOT}/hosts/{host}", json=body)
    assert resp.status_code in (200, 201), resp.text
    return dict(resp.json()["host"])


def provider_aggregates(api: PlacementClient, rp: str) -> set[str]:
    resp = api.get(f"/resource_providers/{rp}/aggregates")
    assert resp.status_code == 200, resp.text
    return set(resp.json()["aggregates"])


def detail(resp: Any) -> str:
    return str(resp.json()["errors"][0]["detail"])


def fingerprint(db: Database) -> dict[str, int]:
    """Row count of every table a scheduler request may write."""
    with db.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in SCHEDULER_TABLES
        }


def log_kinds(db: Database) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(select(tables.change_log.c.kind).order_by(tables.change_log.c.seq))
        return [r[0] for r in rows]
