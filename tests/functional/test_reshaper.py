"""POST /reshaper, as upstream Placement behaves (microversion 1.30+)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from corral.store import resource_classes, tables
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.test_allocations import (
    PROJECT,
    USER,
    count,
    db_state,
    detail,
    generation,
    make_rp,
    put_alloc,
)


def inventory(db: Database, rp: str) -> dict[str, dict[str, Any]]:
    inv = tables.inventories
    rps = tables.resource_providers
    with db.read() as conn:
        rows = conn.execute(
            select(inv).join(rps, rps.c.id == inv.c.resource_provider_id).where(rps.c.uuid == rp)
        ).all()
        names = resource_classes.names_for_ids(conn, [r.resource_class_id for r in rows])
    return {
        names[r.resource_class_id]: {"total": r.total, "max_unit": r.max_unit, "step": r.step_size}
        for r in rows
    }


def usages(api: PlacementClient, rp: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in api.get(f"/resource_providers/{rp}/allocations").json()["allocations"].values():
        for rc, used in part["resources"].items():
            out[rc] = out.get(rc, 0) + used
    return out


def part(allocs: dict[str, dict[str, int]], gen: int | None, **extra: Any) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": res} for rp, res in allocs.items()},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": gen,
        **extra,
    }


@pytest.fixture
def tree(api: PlacementClient, database: Database) -> dict[str, str]:
    """A compute node with VCPU and DISK_GB, two consumers, and an empty child."""
    cn = make_rp(api, database, "cn", VCPU={"total": 8, "max_unit": 8}, DISK_GB={"total": 100})
    resp = api.post(
        "/resource_providers", json={"name": "numa0", "parent_provider_uuid": cn}, version="1.20"
    )
    assert resp.status_code == 200, resp.text
    numa = str(resp.json()["uuid"])
    c1, c2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert put_alloc(api, c1, {cn: {"VCPU": 4, "DISK_GB": 10}}).status_code == 204
    assert put_alloc(api, c2, {cn: {"VCPU": 2}}).status_code == 204
    return {"cn": cn, "numa": numa, "c1": c1, "c2": c2}


def test_move_vcpu_to_child_and_back(
    api: PlacementClient, database: Database, tree: dict[str, str]
) -> None:
    cn, numa, c1, c2 = tree["cn"], tree["numa"], tree["c1"], tree["c2"]
    assert generation(api, cn) == 2
    body = {
        "inventories": {
            cn: {"resource_provider_generation": 2, "inventories": {"DISK_GB": {"total": 100}}},
            numa: {
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": 8, "max_unit": 8}},
            },
        },
        "allocations": {
            c1: part({cn: {"DISK_GB": 10}, numa: {"VCPU": 4}}, 1),
            c2: part({numa: {"VCPU": 2}}, 1),
        },
    }
    resp = api.post("/reshaper", json=body, version="1.30")
    assert resp.status_code == 204, resp.text
    assert set(inventory(database, cn)) == {"DISK_GB"}
    assert set(inventory(database, numa)) == {"VCPU"}
    assert usages(api, cn) == {"DISK_GB": 10}
    assert usages(api, numa) == {"VCPU": 6}
    # Interim inventory, allocations, final inventory: three bumps each.
    assert (generation(api, cn), generation(api, numa)) == (5, 3)
    got = api.get(f"/allocations/{c2}").json()
    assert got["consumer_generation"] == 2

    # Back again, emptying the child; c2 gives everything back.
    body = {
        "inventories": {
            cn: {
                "resource_provider_generation": 5,
                "inventories": {"DISK_GB": {"total": 100}, "VCPU": {"total": 8}},
            },
            numa: {"resource_provider_generation": 3, "inventories": {}},
        },
        "allocations": {c1: part({cn: {"DISK_GB": 10, "VCPU": 4}}, 2), c2: part({}, 2)},
    }
    resp = api.post("/reshaper", json=body, version="1.30")
    assert resp.status_code == 204, resp.text
    assert inventory(database, numa) == {}
    assert usages(api, cn) == {"DISK_GB": 10, "VCPU": 4}
    assert api.get(f"/allocations/{c2}").json() == {"allocations": {}}
    # The emptied child: no interim write, c2's given-back VCPU, final write.
    assert generation(api, numa) == 5


def test_failures_change_nothing(
    api: PlacementClient, database: Database, tree: dict[str, str]
) -> None:
    cn, numa, c1, c2 = tree["cn"], tree["numa"], tree["c1"], tree["c2"]
    before = (db_state(database), inventory(database, cn), inventory(database, numa))

    def reshape(inventories: dict[str, Any], allocations: dict[str, Any]) -> Any:
        body = {"inventories": inventories, "allocations": allocations}
        return api.post("/reshaper", json=body, version="1.30")

    disk_only = {
        cn: {"resource_provider_generation": 2, "inventories": {"DISK_GB": {"total": 100}}}
    }
    # Removing VCPU that is still allocated.
    resp = reshape(disk_only, {})
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["code"] == "placement.inventory.inuse"
    assert "update conflict: Inventory for 'VCPU' on resource provider" in detail(resp)
    # A stale provider generation.
    stale = {cn: {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 8}}}}
    resp = reshape(stale, {})
    assert resp.status_code == 409
    assert "resource provider generation conflict for provider" in detail(resp)
    assert "actual: 2, given: 1" in detail(resp)
    # A stale consumer generation.
    numa_vcpu = {
        **disk_only,
        numa: {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}},
    }
    resp = reshape(numa_vcpu, {c1: part({numa: {"VCPU": 4}}, 7)})
    assert resp.status_code == 409
    assert "consumer generation conflict - expected 1 but got 7" in detail(resp)
    # More than the new inventory holds: checked once both parts are in place.
    small = {
        **disk_only,
        numa: {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 5}}},
    }
    resp = reshape(small, {c1: part({numa: {"VCPU": 4}}, 1), c2: part({numa: {"VCPU": 2}}, 1)})
    assert resp.status_code == 409
    assert "Unable to allocate inventory" in detail(resp)
    # A resource class that does not exist.
    resp = reshape(
        {numa: {"resource_provider_generation": 0, "inventories": {"CUSTOM_X": {"total": 1}}}}, {}
    )
    assert resp.status_code == 400
    assert "malformed reshaper data: No such resource class CUSTOM_X" in detail(resp)
    # A provider that does not exist.
    missing = str(uuid.uuid4())
    resp = reshape({missing: {"resource_provider_generation": 0, "inventories": {}}}, {})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "placement.resource_provider.not_found"
    assert (db_state(database), inventory(database, cn), inventory(database, numa)) == before


def test_new_consumer_and_type(
    api: PlacementClient, database: Database, tree: dict[str, str]
) -> None:
    cn = tree["cn"]
    new = str(uuid.uuid4())
    body = {
        "inventories": {
            cn: {
                "resource_provider_generation": 2,
                "inventories": {"VCPU": {"total": 8, "max_unit": 8}, "DISK_GB": {"total": 100}},
            }
        },
        "allocations": {new: part({cn: {"DISK_GB": 5}}, None, consumer_type="RESHAPED")},
    }
    resp = api.post("/reshaper", json=body, version="1.37")
    assert resp.status_code == 400
    assert "'consumer_type' was unexpected" in detail(resp)
    assert api.post("/reshaper", json=body, version="1.38").status_code == 204
    assert api.get(f"/allocations/{new}").json()["consumer_type"] == "RESHAPED"


def test_version_method_and_policy(api: PlacementClient) -> None:
    assert api.post("/reshaper", json={}, version="1.29").status_code == 404
    resp = api.get("/reshaper", version="1.30")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    resp = api.request(
        "POST", "/reshaper", json={}, version="1.30", headers={"x-auth-token": "user"}
    )
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"inventories": {}},
        {"inventories": {}, "allocations": {}},
        {"inventories": {"not-a-uuid": {}}, "allocations": {}},
        {"cows": "moo", "inventories": {}, "allocations": {}},
        [],
    ],
)
def test_bad_bodies(
    api: PlacementClient, database: Database, tree: dict[str, str], body: Any
) -> None:
    before = db_state(database)
    resp = api.post("/reshaper", json=body, version="1.30")
    assert resp.status_code == 400
    assert "JSON does not validate" in detail(resp)
    assert db_state(database) == before
    assert count(database, tables.consumers) == 2
