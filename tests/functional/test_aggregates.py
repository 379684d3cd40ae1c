"""Provider aggregates, as upstream Placement behaves (microversion 1.1+)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from corral.errors import ConcurrentUpdate
from corral.placement import aggregates
from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient

AGG_1 = "f918801a-5e54-4bee-9095-09a9d0c786b8"
AGG_2 = "a893eb5c-e2a0-4251-ab26-f71d3b0cfc0b"


def create_rp(api: PlacementClient, name: str) -> str:
    resp = api.post("/resource_providers", json={"name": name})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


def detail(resp: Any) -> str:
    return str(resp.json()["errors"][0]["detail"])


def generation(api: PlacementClient, rp: str) -> int:
    return int(api.get(f"/resource_providers/{rp}").json()["generation"])


def test_aggregates_need_1_1(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    assert api.get(f"/resource_providers/{rp}/aggregates", version="1.0").status_code == 404
    resp = api.put(f"/resource_providers/{rp}/aggregates", json=[], version="1.0")
    assert resp.status_code == 404


def test_404_for_unknown_provider_before_body_checks(api: PlacementClient) -> None:
    missing = str(uuid.uuid4())
    assert api.get(f"/resource_providers/{missing}/aggregates").status_code == 404
    resp = api.put(f"/resource_providers/{missing}/aggregates", json=[])
    assert resp.status_code == 404


def test_old_list_body_does_not_bump(api: PlacementClient, database: Database) -> None:
    rp = create_rp(api, "rp")
    resp = api.put(f"/resource_providers/{rp}/aggregates", json=[AGG_1, AGG_2], version="1.18")
    assert resp.status_code == 200
    assert resp.json() == {"aggregates": [AGG_1, AGG_2]}
    assert generation(api, rp) == 0
    got = api.get(f"/resource_providers/{rp}/aggregates", version="1.18").json()
    assert set(got["aggregates"]) == {AGG_1, AGG_2}
    assert "resource_provider_generation" not in got
    with database.read() as conn:
        cl = tables.change_log
        kinds = [r.kind for r in conn.execute(select(cl.c.kind).order_by(cl.c.seq))]
    assert kinds[-1] == "aggregates"


def test_new_body_checks_and_bumps_generation(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    path = f"/resource_providers/{rp}/aggregates"
    resp = api.put(path, json={"aggregates": [AGG_1, AGG_2], "resource_provider_generation": 0})
    assert resp.status_code == 200
    assert resp.json() == {"aggregates": [AGG_1, AGG_2], "resource_provider_generation": 1}
    assert resp.headers["cache-control"] == "no-cache"
    assert "last-modified" in resp.headers
    got = api.get(path).json()
    assert set(got["aggregates"]) == {AGG_1, AGG_2}
    assert got["resource_provider_generation"] == 1
    # Setting the same set still bumps, as upstream.
    resp = api.put(path, json={"aggregates": [AGG_2, AGG_1], "resource_provider_generation": 1})
    assert resp.json()["resource_provider_generation"] == 2
    resp = api.put(path, json={"aggregates": [], "resource_provider_generation": 0})
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["code"] == "placement.concurrent_update"
    assert "Resource provider's generation already changed." in detail(resp)
    resp = api.put(path, json={"aggregates": [], "resource_provider_generation": 2})
    assert resp.json() == {"aggregates": [], "resource_provider_generation": 3}
    assert api.get(path).json()["aggregates"] == []


def test_body_shape_must_match_version(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    path = f"/resource_providers/{rp}/aggregates"
    resp = api.put(path, json=[AGG_1])
    assert resp.status_code == 400
    assert "JSON does not validate" in detail(resp)
    resp = api.put(
        path, json={"aggregates": [AGG_1], "resource_provider_generation": 0}, version="1.18"
    )
    assert resp.status_code == 400
    resp = api.put(path, json={"aggregates": [AGG_1]})
    assert resp.status_code == 400
    assert "'resource_provider_generation' is a required property" in detail(resp)


def test_aggregates_are_shared_between_providers(api: PlacementClient, database: Database) -> None:
    one = create_rp(api, "one")
    two = create_rp(api, "two")
    for rp in (one, two):
        resp = api.put(
            f"/resource_providers/{rp}/aggregates",
            json={"aggregates": [AGG_1], "resource_provider_generation": 0},
        )
        assert resp.status_code == 200
    with database.read() as conn:
        aggs = conn.execute(
            select(func.count()).select_from(tables.placement_aggregates)
        ).scalar_one()
        links = conn.execute(
            select(func.count()).select_from(tables.resource_provider_aggregates)
        ).scalar_one()
    assert (aggs, links) == (1, 2)
    member = api.get(f"/resource_providers?member_of={AGG_1}").json()["resource_providers"]
    assert {p["uuid"] for p in member} == {one, two}


def test_cache_headers_from_1_15(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    path = f"/resource_providers/{rp}/aggregates"
    for resp in (api.put(path, json=[AGG_1], version="1.14"), api.get(path, version="1.14")):
        assert "cache-control" not in resp.headers
        assert "last-modified" not in resp.headers
    assert api.get(path, version="1.15").headers["cache-control"] == "no-cache"


def test_racing_writers_on_one_generation_one_wins(
    api: PlacementClient, database: Database
) -> None:
    rp = create_rp(api, "raced")
    barrier = threading.Barrier(4)

    def write(_: int) -> str:
        barrier.wait()
        try:
            aggregates.set_provider_aggregates(database, rp, [str(uuid.uuid4())], 0)
        except ConcurrentUpdate:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(write, range(4)))
    assert outcomes.count("ok") == 1
    body = api.get(f"/resource_providers/{rp}/aggregates").json()
    assert body["resource_provider_generation"] == 1
    assert len(body["aggregates"]) == 1


def test_racing_old_writers_share_new_aggregates(api: PlacementClient, database: Database) -> None:
    """Before 1.19 nothing is checked: racers may all win, and a new aggregate
    they all name is created once."""
    rps = [create_rp(api, f"rp{i}") for i in range(4)]
    barrier = threading.Barrier(len(rps))

    def write(rp: str) -> None:
        barrier.wait()
        aggregates.set_provider_aggregates(database, rp, [AGG_1, AGG_2], None)

    with ThreadPoolExecutor(len(rps)) as pool:
        list(pool.map(write, rps))
    with database.read() as conn:
        aggs = conn.execute(
            select(func.count()).select_from(tables.placement_aggregates)
        ).scalar_one()
    assert aggs == 2
    for rp in rps:
        got = api.get(f"/resource_providers/{rp}/aggregates").json()["aggregates"]
        assert set(got) == {AGG_1, AGG_2}
