"""Inventories, resource classes and usages, as upstream Placement behaves."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient


def create_rp(api: PlacementClient, name: str) -> str:
    resp = api.post("/resource_providers", json={"name": name})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


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


def allocate(api: PlacementClient, rp: str, resources: dict[str, int]) -> str:
    consumer = str(uuid.uuid4())
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


def row_counts(database_url: str) -> tuple[int, int, int]:
    db = Database(database_url)
    try:
        with db.read() as conn:
            return (
                conn.execute(select(func.count()).select_from(tables.inventories)).scalar_one(),
                conn.execute(select(func.count()).select_from(tables.change_log)).scalar_one(),
                conn.execute(
                    select(func.count()).select_from(tables.resource_classes)
                ).scalar_one(),
            )
    finally:
        db.engine.dispose()


def test_set_show_update_delete(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["resource_provider_generation"] == 1
    assert body["inventories"]["VCPU"] == {
        "total": 8,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": 2147483647,
        "step_size": 1,
        "allocation_ratio": 1.0,
    }
    assert resp.headers["cache-control"] == "no-cache"
    one = api.get(f"/resource_providers/{rp}/inventories/VCPU").json()
    assert one["resource_provider_generation"] == 1 and one["total"] == 8
    resp = api.put(
        f"/resource_providers/{rp}/inventories/VCPU",
        json={"resource_provider_generation": 1, "total": 16, "allocation_ratio": 4.0},
    )
    assert resp.status_code == 200 and resp.json()["total"] == 16
    assert resp.json()["resource_provider_generation"] == 2
    assert api.delete(f"/resource_providers/{rp}/inventories/MEMORY_MB").status_code == 204
    invs = api.get(f"/resource_providers/{rp}/inventories").json()
    assert set(invs["inventories"]) == {"VCPU"} and invs["resource_provider_generation"] == 3
    assert api.delete(f"/resource_providers/{rp}/inventories").status_code == 204
    assert api.get(f"/resource_providers/{rp}/inventories").json()["inventories"] == {}


def test_post_one_class_gives_absolute_location(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    resp = api.post(
        f"/resource_providers/{rp}/inventories", json={"resource_class": "DISK_GB", "total": 100}
    )
    assert resp.status_code == 201, resp.text
    assert (
        resp.headers["location"] == f"http://testserver/resource_providers/{rp}/inventories/DISK_GB"
    )
    again = api.post(
        f"/resource_providers/{rp}/inventories", json={"resource_class": "DISK_GB", "total": 100}
    )
    assert again.status_code == 409
    assert error(again)["code"] == "placement.concurrent_update"


def test_stale_generation_is_a_conflict(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 8}}).status_code == 200
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 4}})
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.concurrent_update"
    assert api.get(f"/resource_providers/{rp}/inventories/VCPU").json()["total"] == 8


def test_inventory_in_use_cannot_go_but_may_shrink(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert (
        put_inventories(api, rp, 0, {"VCPU": {"total": 8}, "DISK_GB": {"total": 10}}).status_code
        == 200
    )
    allocate(api, rp, {"VCPU": 6})
    gen = api.get(f"/resource_providers/{rp}").json()["generation"]
    resp = put_inventories(api, rp, gen, {"DISK_GB": {"total": 10}})
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.inventory.inuse"
    assert api.delete(f"/resource_providers/{rp}/inventories/VCPU").status_code == 409
    assert api.delete(f"/resource_providers/{rp}/inventories").status_code == 409
    # Shrinking below what is used is allowed (upstream only warns); new claims then fail.
    resp = put_inventories(api, rp, gen, {"VCPU": {"total": 2}, "DISK_GB": {"total": 10}})
    assert resp.status_code == 200, resp.text
    usages = api.get(f"/resource_providers/{rp}/usages").json()["usages"]
    assert usages == {"VCPU": 6, "DISK_GB": 0}


def test_reserved_equal_total_allowed_from_1_26(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    full = {"VCPU": {"total": 8, "reserved": 8}}
    resp = put_inventories(api, rp, 0, full, version="1.25")
    assert resp.status_code == 400
    assert "greater than or equal to total" in error(resp)["detail"]
    assert put_inventories(api, rp, 0, full, version="1.26").status_code == 200
    resp = put_inventories(api, rp, 1, {"VCPU": {"total": 8, "reserved": 9}})
    assert resp.status_code == 400
    assert "The reserved value is greater than total" in error(resp)["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 0}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 2147483648}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1, "bogus": 1}}},
        {"resource_provider_generation": 0, "inventories": {"vcpu": {"total": 1}}},
        {"resource_provider_generation": 0, "inventories": {"CUSTOM_NOPE": {"total": 1}}},
        {"resource_provider_generation": "0", "inventories": {}},
        {"inventories": {"VCPU": {"total": 1}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1, "step_size": 0}}},
    ],
)
def test_bad_inventory_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, body: dict[str, Any]
) -> None:
    rp = create_rp(api, "cn1")
    before = row_counts(database_url)
    resp = api.put(f"/resource_providers/{rp}/inventories", json=body)
    assert resp.status_code == 400, resp.text
    assert error(resp)["title"] == "Bad Request"
    assert row_counts(database_url) == before
    assert api.get(f"/resource_providers/{rp}").json()["generation"] == 0


def test_malformed_json_is_400(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    resp = api.put(
        f"/resource_providers/{rp}/inventories",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert "Malformed JSON" in error(resp)["detail"]


def test_delete_all_needs_1_5(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert api.delete(f"/resource_providers/{rp}/inventories", version="1.4").status_code == 405


def test_custom_resource_classes(api: PlacementClient, database_url: str) -> None:
    standard = api.get("/resource_classes").json()["resource_classes"]
    assert {
        "name": "VCPU",
        "links": [{"rel": "self", "href": "/resource_classes/VCPU"}],
    } in standard
    resp = api.post("/resource_classes", json={"name": "CUSTOM_GPU"})
    assert resp.status_code == 201
    assert resp.headers["location"] == "http://testserver/resource_classes/CUSTOM_GPU"
    assert api.post("/resource_classes", json={"name": "CUSTOM_GPU"}).status_code == 409
    assert api.put("/resource_classes/CUSTOM_GPU").status_code == 204
    assert api.put("/resource_classes/CUSTOM_FPGA").status_code == 201
    db = Database(database_url)
    try:
        with db.read() as conn:
            ids = dict(
                conn.execute(
                    select(tables.resource_classes.c.name, tables.resource_classes.c.id).where(
                        tables.resource_classes.c.name.like("CUSTOM_%")
                    )
                ).all()
            )
    finally:
        db.engine.dispose()
    assert ids == {"CUSTOM_GPU": 10000, "CUSTOM_FPGA": 10001}
    # In use in an inventory: cannot go.
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"CUSTOM_GPU": {"total": 2}}).status_code == 200
    resp = api.delete("/resource_classes/CUSTOM_GPU")
    assert resp.status_code == 409 and "in use in inventory" in error(resp)["detail"]
    assert api.delete("/resource_classes/CUSTOM_FPGA").status_code == 204
    assert api.get("/resource_classes/CUSTOM_FPGA").status_code == 404
    # Standard classes are fixed.
    assert api.delete("/resource_classes/VCPU").status_code == 400
    assert api.put("/resource_classes/VCPU").status_code == 400


def test_rename_before_1_7(api: PlacementClient) -> None:
    assert api.post("/resource_classes", json={"name": "CUSTOM_A"}).status_code == 201
    resp = api.put("/resource_classes/CUSTOM_A", json={"name": "CUSTOM_B"}, version="1.6")
    assert resp.status_code == 200 and resp.json()["name"] == "CUSTOM_B"
    assert api.get("/resource_classes/CUSTOM_A").status_code == 404
    resp = api.put("/resource_classes/VCPU", json={"name": "CUSTOM_C"}, version="1.6")
    assert resp.status_code == 400


@pytest.mark.parametrize("name", ["custom_lower", "GPU", "CUSTOM_" + "X" * 300, "CUSTOM_A-B"])
def test_bad_class_names_are_400_and_change_nothing(
    api: PlacementClient, database_url: str, name: str
) -> None:
    before = row_counts(database_url)
    assert api.post("/resource_classes", json={"name": name}).status_code == 400
    assert row_counts(database_url) == before


def test_usages_by_project_user_and_type(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert (
        put_inventories(
            api, rp, 0, {"VCPU": {"total": 32}, "MEMORY_MB": {"total": 4096}}
        ).status_code
        == 200
    )
    allocate(api, rp, {"VCPU": 2, "MEMORY_MB": 512})
    allocate(api, rp, {"VCPU": 4})
    resp = api.get("/usages?project_id=p1", version="1.37")
    assert resp.json() == {"usages": {"VCPU": 6, "MEMORY_MB": 512}}
    by_type = api.get("/usages?project_id=p1").json()["usages"]
    assert by_type == {"INSTANCE": {"VCPU": 6, "MEMORY_MB": 512, "consumer_count": 2}}
    assert api.get("/usages?project_id=p1&consumer_type=all").json()["usages"] == {
        "all": {"VCPU": 6, "MEMORY_MB": 512, "consumer_count": 2}
    }
    assert api.get("/usages?project_id=p1&consumer_type=unknown").json()["usages"] == {}
    assert api.get("/usages?project_id=p1&user_id=someone").json()["usages"] == {}
    assert api.get("/usages?project_id=other").json()["usages"] == {}
    assert api.get(f"/resource_providers/{rp}/usages").json() == {
        "resource_provider_generation": 3,
        "usages": {"VCPU": 6, "MEMORY_MB": 512},
    }


@pytest.mark.parametrize(
    "query",
    ["", "?user_id=u1", "?project_id=", "?project_id=" + "p" * 256, "?project_id=p1&bogus=1"],
)
def test_bad_usage_queries_are_400(api: PlacementClient, query: str) -> None:
    resp = api.get(f"/usages{query}")
    assert resp.status_code == 400
    assert "Invalid query string parameters" in error(resp)["detail"]


def test_provider_usages_of_unknown_provider_is_404(api: PlacementClient) -> None:
    resp = api.get(f"/resource_providers/{uuid.uuid4()}/usages")
    assert resp.status_code == 404
