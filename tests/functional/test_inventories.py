"""Inventories as upstream Placement 16.0.0 has them: one class or the whole set,
generations, in-use rules, microversion gates and headers, and bad input that is
refused without changing anything. The usage tests at the end share the helpers."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from corral.errors import ConcurrentUpdate
from corral.placement import inventories
from corral.store import tables
from corral.store.database import Database
from corral.store.inventories import Inventory
from tests.conftest import PlacementClient
from tests.functional.placement_rows import (
    allocate,
    create_rp,
    error,
    generation,
    put_inventories,
    row_counts,
)

MAX_INT = 2147483647


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
        "max_unit": MAX_INT,
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
    assert resp.json()["allocation_ratio"] == 4.0
    assert api.delete(f"/resource_providers/{rp}/inventories/MEMORY_MB").status_code == 204
    invs = api.get(f"/resource_providers/{rp}/inventories").json()
    assert set(invs["inventories"]) == {"VCPU"} and invs["resource_provider_generation"] == 3
    assert api.delete(f"/resource_providers/{rp}/inventories").status_code == 204
    assert api.get(f"/resource_providers/{rp}/inventories").json() == {
        "resource_provider_generation": 4,
        "inventories": {},
    }


def test_post_one_class_gives_absolute_location(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    resp = api.post(
        f"/resource_providers/{rp}/inventories",
        json={"resource_class": "DISK_GB", "total": 100, "reserved": 10, "step_size": 5},
    )
    assert resp.status_code == 201, resp.text
    assert (
        resp.headers["location"] == f"http://testserver/resource_providers/{rp}/inventories/DISK_GB"
    )
    assert resp.json() == {
        "total": 100,
        "reserved": 10,
        "min_unit": 1,
        "max_unit": MAX_INT,
        "step_size": 5,
        "allocation_ratio": 1.0,
        "resource_provider_generation": 1,
    }
    again = api.post(
        f"/resource_providers/{rp}/inventories", json={"resource_class": "DISK_GB", "total": 100}
    )
    assert again.status_code == 409
    assert error(again)["code"] == "placement.concurrent_update"
    assert generation(api, rp) == 1


def test_stale_generation_is_a_conflict(api: PlacementClient, database_url: str) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 8}}).status_code == 200
    before = row_counts(database_url)
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 4}})
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.concurrent_update"
    assert "resource provider generation conflict" in error(resp)["detail"]
    resp = api.put(
        f"/resource_providers/{rp}/inventories/VCPU",
        json={"resource_provider_generation": 0, "total": 4},
    )
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.concurrent_update"
    assert api.get(f"/resource_providers/{rp}/inventories/VCPU").json()["total"] == 8
    assert row_counts(database_url) == before


def test_inventory_in_use_cannot_go_but_may_shrink(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert (
        put_inventories(api, rp, 0, {"VCPU": {"total": 8}, "DISK_GB": {"total": 10}}).status_code
        == 200
    )
    allocate(api, rp, {"VCPU": 6})
    gen = generation(api, rp)
    resp = put_inventories(api, rp, gen, {"DISK_GB": {"total": 10}})
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.inventory.inuse"
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(f"update conflict: Inventory for 'VCPU' on resource provider '{rp}' in use.")
    )
    resp = api.delete(f"/resource_providers/{rp}/inventories/VCPU")
    assert resp.status_code == 409
    # Upstream gives the single-class delete the concurrent-update code.
    assert error(resp)["code"] == "placement.concurrent_update"
    resp = api.delete(f"/resource_providers/{rp}/inventories")
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.inventory.inuse"
    assert generation(api, rp) == gen
    # Shrinking below what is used is allowed (upstream only warns); new claims then fail.
    resp = put_inventories(api, rp, gen, {"VCPU": {"total": 2}, "DISK_GB": {"total": 10}})
    assert resp.status_code == 200, resp.text
    resp = api.put(
        f"/resource_providers/{rp}/inventories/VCPU",
        json={"resource_provider_generation": gen + 1, "total": 1},
    )
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
    disk = {"resource_class": "DISK_GB", "total": 5, "reserved": 5}
    resp = api.post(f"/resource_providers/{rp}/inventories", json=disk, version="1.25")
    assert resp.status_code == 400
    assert (
        error(resp)["detail"]
        .strip()
        .startswith(
            f"The server could not comply with the request since it is either malformed or "
            f"otherwise incorrect.\n\n Unable to create inventory for resource provider {rp}: "
            f"Invalid inventory for 'DISK_GB' on resource provider '{rp}'."
        )
    )
    resp = api.post(f"/resource_providers/{rp}/inventories", json=disk, version="1.26")
    assert resp.status_code == 201


def test_allocation_ratio_rounds_capacity_down(api: PlacementClient) -> None:
    """Capacity is int((total - reserved) * allocation_ratio), as upstream."""
    rp = create_rp(api, "cn1")
    resp = put_inventories(
        api, rp, 0, {"VCPU": {"total": 4, "allocation_ratio": 0.2}}, version="1.25"
    )
    assert resp.status_code == 400
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 4, "allocation_ratio": 0.25}})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    "body",
    [
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 0}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": MAX_INT + 1}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1, "bogus": 1}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "reserved": 5}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": True}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1.5}}},
        {
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 1, "allocation_ratio": 3.5e38}},
        },
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1, "min_unit": 0}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1, "step_size": 0}}},
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"reserved": 1}}},
        # Names that are no resource class: upstream 500s on a malformed record.
        {"resource_provider_generation": 0, "inventories": {"vcpu": {"total": 1}}},
        {"resource_provider_generation": 0, "inventories": {"vcpu": 5}},
        {"resource_provider_generation": 0, "inventories": {"vcpu": {}}},
        {"resource_provider_generation": 0, "inventories": {"CUSTOM_NOPE": {"total": 1}}},
        {"resource_provider_generation": 0, "inventories": []},
        {"resource_provider_generation": 0, "inventories": {}, "extra": 1},
        {"resource_provider_generation": "0", "inventories": {}},
        {"inventories": {"VCPU": {"total": 1}}},
        {"resource_provider_generation": 0},
    ],
)
def test_bad_inventory_set_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, body: dict[str, Any]
) -> None:
    rp = create_rp(api, "cn1")
    before = row_counts(database_url)
    resp = api.put(f"/resource_providers/{rp}/inventories", json=body)
    assert resp.status_code == 400, resp.text
    assert error(resp)["title"] == "Bad Request"
    assert row_counts(database_url) == before
    assert generation(api, rp) == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"total": 1},
        {"resource_class": "VCPU"},
        {"resource_class": "VCPU", "total": 0},
        {"resource_class": "VCPU", "total": MAX_INT + 1},
        {"resource_class": "VCPU", "total": "4"},
        {"resource_class": "VCPU", "total": 4, "reserved": -1},
        {"resource_class": "VCPU", "total": 4, "reserved": 4},
        {"resource_class": "VCPU", "total": 4, "max_unit": 0},
        {"resource_class": "VCPU", "total": 4, "step_size": MAX_INT + 1},
        {"resource_class": "VCPU", "total": 4, "allocation_ratio": "1"},
        {"resource_class": "VCPU", "total": 4, "allocation_ratio": -1},
        {"resource_class": "VCPU", "total": 4, "foo": 1},
        {"resource_class": "vcpu", "total": 4},
        {"resource_class": "CUSTOM_" + "X" * 300, "total": 4},
        {"resource_class": "CUSTOM_NOPE", "total": 4},
        [],
    ],
)
def test_bad_inventory_post_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, body: Any
) -> None:
    rp = create_rp(api, "cn1")
    before = row_counts(database_url)
    resp = api.post(f"/resource_providers/{rp}/inventories", json=body, version="1.25")
    assert resp.status_code == 400, resp.text
    assert row_counts(database_url) == before
    assert generation(api, rp) == 0


def test_unknown_class_in_post_is_upstreams_400(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    resp = api.post(
        f"/resource_providers/{rp}/inventories", json={"resource_class": "CUSTOM_NOPE", "total": 4}
    )
    assert resp.status_code == 400
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            f"Unable to create inventory for resource provider {rp}: "
            "No such resource class CUSTOM_NOPE."
        )
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"total": 8},  # no generation
        {"total": 0},
        {"total": 8, "reserved": 9},
        {"total": MAX_INT + 1},
        {"total": 8, "resource_class": "VCPU"},
        {"total": 8, "allocation_ratio": 3.5e38},
        {"total": 8, "min_unit": "1"},
    ],
)
def test_bad_inventory_update_is_400_and_changes_nothing(
    api: PlacementClient, database_url: str, fields: dict[str, Any]
) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 4}}).status_code == 200
    body = dict(fields)
    if len(fields) > 1 or fields["total"] != 8:
        body["resource_provider_generation"] = 1
    before = row_counts(database_url)
    resp = api.put(f"/resource_providers/{rp}/inventories/VCPU", json=body)
    assert resp.status_code == 400, resp.text
    assert row_counts(database_url) == before
    assert api.get(f"/resource_providers/{rp}/inventories/VCPU").json()["total"] == 4


def test_update_of_unknown_class_is_404_of_absent_class_400(
    api: PlacementClient, database_url: str
) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 4}}).status_code == 200
    before = row_counts(database_url)
    body = {"resource_provider_generation": 1, "total": 8}
    resp = api.put(f"/resource_providers/{rp}/inventories/CUSTOM_NOPE", json=body)
    assert resp.status_code == 404
    assert error(resp)["detail"].strip().endswith("No such resource class CUSTOM_NOPE.")
    resp = api.put(f"/resource_providers/{rp}/inventories/DISK_GB", json=body)
    assert resp.status_code == 400
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            f"No inventory record with resource class for resource provider {rp}: "
            "No inventory of class DISK_GB found."
        )
    )
    assert row_counts(database_url) == before


def test_delete_of_unknown_or_absent_class_is_404(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 4}}).status_code == 200
    resp = api.delete(f"/resource_providers/{rp}/inventories/CUSTOM_NOPE")
    assert resp.status_code == 404
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            "No inventory of class CUSTOM_NOPE found for delete: "
            "No such resource class CUSTOM_NOPE."
        )
    )
    resp = api.delete(f"/resource_providers/{rp}/inventories/DISK_GB")
    assert resp.status_code == 404
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            "No inventory of class DISK_GB found for delete: "
            "No inventory of class DISK_GB found for delete"
        )
    )
    assert generation(api, rp) == 1


def test_unknown_provider_is_404(api: PlacementClient) -> None:
    rp = str(uuid.uuid4())
    resp = api.get(f"/resource_providers/{rp}/inventories")
    assert resp.status_code == 404
    assert (
        error(resp)["detail"]
        .strip()
        .endswith(
            f"No resource provider with uuid {rp} found : No resource provider with uuid {rp} found"
        )
    )
    assert api.get(f"/resource_providers/{rp}/inventories/VCPU").status_code == 404
    assert (
        api.post(
            f"/resource_providers/{rp}/inventories", json={"resource_class": "VCPU", "total": 1}
        ).status_code
        == 404
    )
    # Upstream looks the provider up before it reads the body.
    assert api.post(f"/resource_providers/{rp}/inventories", json={}).status_code == 404
    assert put_inventories(api, rp, 0, {}).status_code == 404
    assert (
        api.put(
            f"/resource_providers/{rp}/inventories/VCPU",
            json={"resource_provider_generation": 0, "total": 1},
        ).status_code
        == 404
    )
    assert api.delete(f"/resource_providers/{rp}/inventories/VCPU").status_code == 404
    assert api.delete(f"/resource_providers/{rp}/inventories").status_code == 404


def test_cache_headers_from_1_15(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    url = f"/resource_providers/{rp}/inventories"
    old = api.get(url, version="1.14")
    assert "cache-control" not in old.headers and "last-modified" not in old.headers
    # Upstream has no last-modified to give for a provider without inventory.
    empty = api.get(url, version="1.15")
    assert empty.headers["cache-control"] == "no-cache"
    assert "last-modified" not in empty.headers
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 4}}, version="1.15")
    assert resp.headers["cache-control"] == "no-cache" and "last-modified" in resp.headers
    for path in (url, f"{url}/VCPU"):
        resp = api.get(path, version="1.15")
        assert resp.headers["cache-control"] == "no-cache" and "last-modified" in resp.headers
        resp = api.get(path, version="1.14")
        assert "cache-control" not in resp.headers and "last-modified" not in resp.headers
    resp = put_inventories(api, rp, 1, {}, version="1.15")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-cache" and "last-modified" not in resp.headers


def test_delete_all_needs_1_5(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 4}}).status_code == 200
    assert api.delete(f"/resource_providers/{rp}/inventories", version="1.4").status_code == 405
    assert set(api.get(f"/resource_providers/{rp}/inventories").json()["inventories"]) == {"VCPU"}
    assert api.delete(f"/resource_providers/{rp}/inventories", version="1.5").status_code == 204
    assert generation(api, rp) == 2


def test_malformed_or_undeclared_json_changes_nothing(
    api: PlacementClient, database_url: str
) -> None:
    rp = create_rp(api, "cn1")
    before = row_counts(database_url)
    resp = api.put(
        f"/resource_providers/{rp}/inventories",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert "Malformed JSON" in error(resp)["detail"]
    resp = api.post(
        f"/resource_providers/{rp}/inventories",
        content=b'{"resource_class": "VCPU", "total": 1}',
        headers={"content-type": "text/plain"},
    )
    assert resp.status_code == 415
    assert row_counts(database_url) == before


def _inventory_changes(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.read() as conn:
            log = tables.change_log
            query = select(func.count()).select_from(log).where(log.c.kind == "inventory")
            return int(conn.execute(query).scalar_one())
    finally:
        db.dispose()


def test_every_write_bumps_the_generation_and_logs_an_inventory_change(
    api: PlacementClient, database_url: str
) -> None:
    rp = create_rp(api, "cn1")
    url = f"/resource_providers/{rp}/inventories"
    writes = [
        lambda: put_inventories(api, rp, 0, {"VCPU": {"total": 4}}),
        lambda: api.post(url, json={"resource_class": "DISK_GB", "total": 10}),
        lambda: api.put(f"{url}/VCPU", json={"resource_provider_generation": 2, "total": 8}),
        lambda: api.delete(f"{url}/DISK_GB"),
        lambda: api.delete(url),
    ]
    for n, write in enumerate(writes, start=1):
        resp = write()
        assert resp.status_code in (200, 201, 204), resp.text
        assert generation(api, rp) == n
        assert _inventory_changes(database_url) == n


def _vcpu_capacity(api: PlacementClient, rp: str, amount: int) -> int | None:
    """The VCPU capacity allocation candidates show for the provider, or None
    when it is not a candidate for `amount`."""
    resp = api.get(f"/allocation_candidates?resources=VCPU:{amount}")
    assert resp.status_code == 200, resp.text
    summary = resp.json()["provider_summaries"].get(rp)
    return None if summary is None else int(summary["resources"]["VCPU"]["capacity"])


def test_allocation_candidates_follow_inventory_writes(api: PlacementClient) -> None:
    rp = create_rp(api, "cn1")
    url = f"/resource_providers/{rp}/inventories"
    assert _vcpu_capacity(api, rp, 1) is None
    assert api.post(url, json={"resource_class": "VCPU", "total": 4}).status_code == 201
    assert _vcpu_capacity(api, rp, 4) == 4
    resp = api.put(
        f"{url}/VCPU",
        json={"resource_provider_generation": 1, "total": 4, "allocation_ratio": 2.0},
    )
    assert resp.status_code == 200
    assert _vcpu_capacity(api, rp, 8) == 8
    assert put_inventories(api, rp, 2, {"VCPU": {"total": 2, "reserved": 1}}).status_code == 200
    assert _vcpu_capacity(api, rp, 2) is None
    assert _vcpu_capacity(api, rp, 1) == 1
    assert api.delete(f"{url}/VCPU").status_code == 204
    assert _vcpu_capacity(api, rp, 1) is None


def _set_total(url: str, rp: str, gen: int, total: int) -> str:
    """One writer process: replace the inventory as of generation `gen`."""
    db = Database(url)
    try:
        inventories.set_inventories(
            db, rp, gen, {"VCPU": Inventory(total=total)}, reserved_can_be_total=False
        )
        return "ok"
    except ConcurrentUpdate:
        return "conflict"
    finally:
        db.dispose()


WRITERS = 6


def test_concurrent_writers_of_one_generation_have_one_winner(
    api: PlacementClient, database_url: str
) -> None:
    rp = create_rp(api, "cn1")
    assert put_inventories(api, rp, 0, {"VCPU": {"total": 1}}).status_code == 200
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        outcomes = pool.starmap(
            _set_total, [(database_url, rp, 1, 100 + i) for i in range(WRITERS)]
        )
    assert sorted(outcomes) == ["conflict"] * (WRITERS - 1) + ["ok"]
    winner = 100 + outcomes.index("ok")
    body = api.get(f"/resource_providers/{rp}/inventories").json()
    assert body["resource_provider_generation"] == 2
    assert body["inventories"]["VCPU"]["total"] == winner
    assert _inventory_changes(database_url) == 2


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
