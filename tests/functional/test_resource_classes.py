"""Resource classes as upstream Placement 16.0.0 has them: standard ones fixed,
CUSTOM_* ones created, renamed (1.2-1.6) or ensured (1.7+), deleted unless in
use; bad input refused without changing anything."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from sqlalchemy import select

from corral.errors import Conflict
from corral.placement import resource_classes
from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.placement_rows import (
    create_rp,
    error,
    generation,
    put_inventories,
    row_counts,
)


def custom_ids(database_url: str) -> dict[str, int]:
    rc = tables.resource_classes
    db = Database(database_url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(rc.c.name, rc.c.id).where(rc.c.id >= 10000)).all()
            return {r.name: r.id for r in rows}
    finally:
        db.dispose()


def test_standard_classes_are_listed_from_1_2(api: PlacementClient) -> None:
    assert api.get("/resource_classes", version="1.1").status_code == 404
    resp = api.get("/resource_classes", version="1.2")
    assert resp.status_code == 200
    standard = resp.json()["resource_classes"]
    assert standard[0] == {
        "name": "VCPU",
        "links": [{"rel": "self", "href": "/resource_classes/VCPU"}],
    }
    assert {"DISK_GB", "MEMORY_MB", "PCI_DEVICE"} <= {c["name"] for c in standard}
    assert api.get("/resource_classes/VCPU", version="1.2").json()["name"] == "VCPU"
    assert api.get("/resource_classes/VCPU", version="1.1").status_code == 404


def test_create_show_and_ids_from_10000(api: PlacementClient, database_url: str) -> None:
    resp = api.post("/resource_classes", json={"name": "CUSTOM_GPU"})
    assert resp.status_code == 201 and resp.content == b""
    assert resp.headers["location"] == "http://testserver/resource_classes/CUSTOM_GPU"
    again = api.post("/resource_classes", json={"name": "CUSTOM_GPU"})
    assert again.status_code == 409
    assert (
        error(again)["detail"]
        .strip()
        .endswith("Conflicting resource class already exists: CUSTOM_GPU")
    )
    assert api.put("/resource_classes/CUSTOM_FPGA").status_code == 201
    assert custom_ids(database_url) == {"CUSTOM_GPU": 10000, "CUSTOM_FPGA": 10001}
    resp = api.get("/resource_classes/CUSTOM_GPU")
    assert resp.json() == {
        "name": "CUSTOM_GPU",
        "links": [{"rel": "self", "href": "/resource_classes/CUSTOM_GPU"}],
    }
    names = [c["name"] for c in api.get("/resource_classes").json()["resource_classes"]]
    assert names[-2:] == ["CUSTOM_GPU", "CUSTOM_FPGA"]
    resp = api.get("/resource_classes/CUSTOM_NOPE")
    assert resp.status_code == 404
    assert error(resp)["detail"].strip().endswith("No such resource class CUSTOM_NOPE.")


def test_put_from_1_7_creates_or_confirms(api: PlacementClient, database_url: str) -> None:
    resp = api.put("/resource_classes/CUSTOM_NEW", version="1.7")
    assert resp.status_code == 201
    assert resp.headers["location"] == "http://testserver/resource_classes/CUSTOM_NEW"
    resp = api.put("/resource_classes/CUSTOM_NEW", version="1.7")
    assert resp.status_code == 204
    assert resp.headers["location"] == "http://testserver/resource_classes/CUSTOM_NEW"
    # A body is neither needed nor read.
    resp = api.put("/resource_classes/CUSTOM_NEW", json={"name": "CUSTOM_OTHER"}, version="1.7")
    assert resp.status_code == 204
    assert set(custom_ids(database_url)) == {"CUSTOM_NEW"}


@pytest.mark.parametrize(
    "name", ["VCPU", "custom_x", "CUSTOM_", "CUSTOM_A-B", "CUSTOM_" + "X" * 249]
)
def test_put_from_1_7_of_a_bad_name_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, name: str
) -> None:
    before = row_counts(database_url)
    resp = api.put(f"/resource_classes/{name}", version="1.7")
    assert resp.status_code == 400
    assert "JSON does not validate" in error(resp)["detail"]
    assert row_counts(database_url) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "GPU"},
        {"name": "VCPU"},
        {"name": "custom_lower"},
        {"name": "CUSTOM_"},
        {"name": "CUSTOM_A-B"},
        {"name": "CUSTOM_" + "X" * 249},
        {"name": 5},
        {"name": "CUSTOM_A", "extra": 1},
        [],
    ],
)
def test_bad_create_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, body: Any
) -> None:
    before = row_counts(database_url)
    resp = api.post("/resource_classes", json=body)
    assert resp.status_code == 400, resp.text
    assert row_counts(database_url) == before


def test_longest_name_is_accepted(api: PlacementClient) -> None:
    name = "CUSTOM_" + "X" * 248  # 255 characters, the column's size
    assert api.post("/resource_classes", json={"name": name}).status_code == 201
    assert api.get(f"/resource_classes/{name}").status_code == 200


def test_create_needs_a_json_body(api: PlacementClient, database_url: str) -> None:
    before = row_counts(database_url)
    resp = api.post(
        "/resource_classes",
        content=b'{"name": "CUSTOM_A"}',
        headers={"content-type": "text/plain"},
    )
    assert resp.status_code == 415
    resp = api.post("/resource_classes", content=b"{", headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "Malformed JSON" in error(resp)["detail"]
    assert row_counts(database_url) == before


def test_rename_before_1_7(api: PlacementClient, database_url: str) -> None:
    assert api.post("/resource_classes", json={"name": "CUSTOM_A"}).status_code == 201
    assert api.post("/resource_classes", json={"name": "CUSTOM_C"}).status_code == 201
    resp = api.put("/resource_classes/CUSTOM_A", json={"name": "CUSTOM_B"}, version="1.6")
    assert resp.status_code == 200
    assert resp.json() == {
        "name": "CUSTOM_B",
        "links": [{"rel": "self", "href": "/resource_classes/CUSTOM_B"}],
    }
    assert "cache-control" not in resp.headers
    assert api.get("/resource_classes/CUSTOM_A").status_code == 404
    assert custom_ids(database_url) == {"CUSTOM_B": 10000, "CUSTOM_C": 10001}
    # The same name again is a successful no-op, as upstream.
    resp = api.put("/resource_classes/CUSTOM_B", json={"name": "CUSTOM_B"}, version="1.2")
    assert resp.status_code == 200 and resp.json()["name"] == "CUSTOM_B"
    before = row_counts(database_url)
    resp = api.put("/resource_classes/CUSTOM_B", json={"name": "CUSTOM_C"}, version="1.6")
    assert resp.status_code == 409
    assert error(resp)["detail"].strip().endswith("Resource class already exists: CUSTOM_C")
    resp = api.put("/resource_classes/VCPU", json={"name": "CUSTOM_D"}, version="1.6")
    assert resp.status_code == 400
    assert error(resp)["detail"].strip().endswith("Cannot update standard resource class VCPU")
    resp = api.put("/resource_classes/CUSTOM_NOPE", json={"name": "CUSTOM_D"}, version="1.6")
    assert resp.status_code == 404
    # The body is checked before the class is looked up.
    resp = api.put("/resource_classes/CUSTOM_NOPE", json={"name": "D"}, version="1.6")
    assert resp.status_code == 400
    resp = api.put(
        "/resource_classes/CUSTOM_B",
        content=b'{"name": "CUSTOM_D"}',
        headers={"content-type": "text/plain"},
        version="1.6",
    )
    assert resp.status_code == 415
    assert row_counts(database_url) == before
    assert custom_ids(database_url) == {"CUSTOM_B": 10000, "CUSTOM_C": 10001}


def test_renaming_a_class_in_use_renames_it_everywhere(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert api.put("/resource_classes/CUSTOM_OLD", version="1.7").status_code == 201
    assert put_inventories(api, rp, 0, {"CUSTOM_OLD": {"total": 4}}).status_code == 200
    found = api.get("/allocation_candidates?resources=CUSTOM_OLD:1").json()
    assert found["provider_summaries"][rp]["resources"] == {
        "CUSTOM_OLD": {"capacity": 4, "used": 0}
    }
    resp = api.put("/resource_classes/CUSTOM_OLD", json={"name": "CUSTOM_NEW"}, version="1.6")
    assert resp.status_code == 200
    # Upstream leaves provider generations alone on a rename.
    assert generation(api, rp) == 1
    invs = api.get(f"/resource_providers/{rp}/inventories").json()["inventories"]
    assert set(invs) == {"CUSTOM_NEW"}
    found = api.get("/allocation_candidates?resources=CUSTOM_NEW:1").json()
    assert found["provider_summaries"][rp]["resources"] == {
        "CUSTOM_NEW": {"capacity": 4, "used": 0}
    }
    resp = api.get("/allocation_candidates?resources=CUSTOM_OLD:1")
    assert resp.status_code == 400


def test_delete_rules(api: PlacementClient, database_url: str) -> None:
    assert api.put("/resource_classes/CUSTOM_GPU", version="1.7").status_code == 201
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"CUSTOM_GPU": {"total": 2}}).status_code == 200
    before = row_counts(database_url)
    resp = api.delete("/resource_classes/CUSTOM_GPU")
    assert resp.status_code == 409
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            "Error in delete resource class: Cannot delete resource class CUSTOM_GPU. "
            "Class is in use in inventory."
        )
    )
    resp = api.delete("/resource_classes/VCPU")
    assert resp.status_code == 400
    assert (
        error(resp)["detail"]
        .strip()
        .endswith("Error in delete resource class: Cannot delete standard resource class VCPU.")
    )
    resp = api.delete("/resource_classes/CUSTOM_NOPE")
    assert resp.status_code == 404
    assert api.delete("/resource_classes/CUSTOM_GPU", version="1.1").status_code == 404
    assert row_counts(database_url) == before
    # Without the inventory it can go, and comes back with a new id.
    assert api.delete(f"/resource_providers/{rp}/inventories/CUSTOM_GPU").status_code == 204
    resp = api.delete("/resource_classes/CUSTOM_GPU")
    assert resp.status_code == 204 and resp.content == b""
    assert api.get("/resource_classes/CUSTOM_GPU").status_code == 404
    assert api.put("/resource_classes/CUSTOM_GPU", version="1.7").status_code == 201


def test_cache_headers_from_1_15(api: PlacementClient) -> None:
    assert api.put("/resource_classes/CUSTOM_A", version="1.7").status_code == 201
    for path in ("/resource_classes", "/resource_classes/CUSTOM_A", "/resource_classes/VCPU"):
        resp = api.get(path, version="1.15")
        assert resp.headers["cache-control"] == "no-cache", path
        assert "last-modified" in resp.headers, path
        resp = api.get(path, version="1.14")
        assert "cache-control" not in resp.headers and "last-modified" not in resp.headers


def _create(url: str, name: str) -> str:
    """One writer process: create a class, or learn that it exists."""
    db = Database(url)
    try:
        resource_classes.create_class(db, name)
        return "created"
    except Conflict:
        return "exists"
    finally:
        db.dispose()


def _ensure(url: str, name: str) -> bool:
    db = Database(url)
    try:
        return resource_classes.ensure_class(db, name)[1]
    finally:
        db.dispose()


WRITERS = 6


def test_concurrent_creates_get_distinct_ids(api: PlacementClient, database_url: str) -> None:
    names = [f"CUSTOM_C{i}" for i in range(WRITERS)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        outcomes = pool.starmap(_create, [(database_url, n) for n in names])
        created = pool.starmap(_ensure, [(database_url, "CUSTOM_SAME")] * WRITERS)
    assert outcomes == ["created"] * WRITERS
    assert sorted(created) == [False] * (WRITERS - 1) + [True]
    ids = custom_ids(database_url)
    assert set(ids) == {*names, "CUSTOM_SAME"}
    assert sorted(ids.values()) == list(range(10000, 10000 + WRITERS + 1))
