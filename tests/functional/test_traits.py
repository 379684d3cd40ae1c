"""Traits and provider traits, as upstream Placement behaves (microversion 1.6+)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from corral.errors import ConcurrentUpdate
from corral.placement import traits
from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient


def create_rp(api: PlacementClient, name: str) -> str:
    resp = api.post("/resource_providers", json={"name": name})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


def detail(resp: Any) -> str:
    return str(resp.json()["errors"][0]["detail"])


def set_traits(api: PlacementClient, rp: str, traits: list[str], gen: int, **kw: Any) -> Any:
    return api.put(
        f"/resource_providers/{rp}/traits",
        json={"traits": traits, "resource_provider_generation": gen},
        **kw,
    )


def change_kinds(db: Database) -> list[str]:
    with db.read() as conn:
        cl = tables.change_log
        return [r.kind for r in conn.execute(select(cl.c.kind).order_by(cl.c.seq))]


def test_traits_need_1_6(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    for method, path in (
        ("GET", "/traits"),
        ("PUT", "/traits/CUSTOM_A"),
        ("GET", "/traits/CUSTOM_A"),
        ("DELETE", "/traits/CUSTOM_A"),
        ("GET", f"/resource_providers/{rp}/traits"),
        ("DELETE", f"/resource_providers/{rp}/traits"),
    ):
        assert api.request(method, path, version="1.5").status_code == 404, (method, path)


def test_put_custom_trait_201_then_204(api: PlacementClient) -> None:
    resp = api.put("/traits/CUSTOM_TRAIT_1", version="1.6")
    assert resp.status_code == 201
    assert resp.headers["location"] == "http://testserver/traits/CUSTOM_TRAIT_1"
    assert "content-type" not in resp.headers
    assert "last-modified" not in resp.headers
    resp = api.put("/traits/CUSTOM_TRAIT_1", version="1.15")
    assert resp.status_code == 204
    assert resp.headers["cache-control"] == "no-cache"
    assert "last-modified" in resp.headers


def test_invalid_trait_names_are_400(api: PlacementClient, database: Database) -> None:
    with database.read() as conn:
        before = conn.execute(select(func.count()).select_from(tables.traits)).scalar_one()
    for name in ("TRAIT_X", "CUSTOM_ABC:1", "CUSTOM_lower", "CUSTOM_" + "A" * 249):
        resp = api.put(f"/traits/{name}")
        assert resp.status_code == 400, name
        assert "The trait is invalid." in detail(resp)
    with database.read() as conn:
        after = conn.execute(select(func.count()).select_from(tables.traits)).scalar_one()
    assert after == before


def test_get_trait(api: PlacementClient) -> None:
    api.put("/traits/CUSTOM_GET")
    resp = api.get("/traits/CUSTOM_GET", version="1.6")
    assert resp.status_code == 204
    assert "last-modified" not in resp.headers
    assert "last-modified" in api.get("/traits/CUSTOM_GET", version="1.15").headers
    assert api.get("/traits/HW_CPU_X86_SSE").status_code == 204
    resp = api.get("/traits/NON_EXISTED")
    assert resp.status_code == 404
    assert "No such trait(s): NON_EXISTED." in detail(resp)


def test_delete_trait_rules(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    api.put("/traits/CUSTOM_USED")
    api.put("/traits/CUSTOM_FREE")
    assert set_traits(api, rp, ["CUSTOM_USED"], 0).status_code == 200
    resp = api.delete("/traits/CUSTOM_USED")
    assert resp.status_code == 409
    assert "The trait CUSTOM_USED is in use by a resource provider." in detail(resp)
    resp = api.delete("/traits/HW_CPU_X86_SSE")
    assert resp.status_code == 400
    assert "Cannot delete standard trait HW_CPU_X86_SSE." in detail(resp)
    assert api.delete("/traits/CUSTOM_FREE").status_code == 204
    assert api.delete("/traits/CUSTOM_FREE").status_code == 404


def test_list_trait_filters(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    for name in ("CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2", "CUSTOM_OTHER"):
        api.put(f"/traits/{name}")
    everything = api.get("/traits").json()["traits"]
    assert {"CUSTOM_TRAIT_1", "HW_CPU_X86_SSE", "MISC_SHARES_VIA_AGGREGATE"} <= set(everything)
    got = api.get("/traits?name=in:CUSTOM_TRAIT_1,CUSTOM_TRAIT_2,CUSTOM_NOPE").json()["traits"]
    assert sorted(got) == ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]
    got = api.get("/traits?name=startswith:CUSTOM_TRAIT").json()["traits"]
    assert sorted(got) == ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]
    set_traits(api, rp, ["CUSTOM_OTHER", "HW_CPU_X86_SSE"], 0)
    got = api.get("/traits?associated=true").json()["traits"]
    assert sorted(got) == ["CUSTOM_OTHER", "HW_CPU_X86_SSE"]
    got = api.get("/traits?associated=FALSE&name=startswith:CUSTOM_").json()["traits"]
    assert sorted(got) == ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]


def test_list_trait_bad_queries(api: PlacementClient) -> None:
    resp = api.get("/traits?name=in_abc")
    assert resp.status_code == 400
    assert "Badly formatted name parameter" in detail(resp)
    assert 'Got: "in_abc"' in detail(resp)
    resp = api.get("/traits?associated=xyz")
    assert resp.status_code == 400
    assert 'The query parameter "associated" only accepts "true" or "false"' in detail(resp)
    resp = api.get("/traits?invalid=abc")
    assert resp.status_code == 400
    assert "Invalid query string parameters: Additional properties are not allowed" in detail(resp)


def test_provider_traits_replace_and_bump(api: PlacementClient, database: Database) -> None:
    rp = create_rp(api, "rp")
    api.put("/traits/CUSTOM_A")
    resp = api.get(f"/resource_providers/{rp}/traits")
    assert resp.json() == {"traits": [], "resource_provider_generation": 0}
    resp = set_traits(api, rp, ["CUSTOM_A", "HW_CPU_X86_SSE"], 0)
    assert resp.status_code == 200
    assert resp.json()["resource_provider_generation"] == 1
    assert sorted(resp.json()["traits"]) == ["CUSTOM_A", "HW_CPU_X86_SSE"]
    assert change_kinds(database)[-1] == "traits"
    # The same set again changes nothing, so the generation stays.
    resp = set_traits(api, rp, ["HW_CPU_X86_SSE", "CUSTOM_A"], 1)
    assert resp.json()["resource_provider_generation"] == 1
    resp = set_traits(api, rp, ["CUSTOM_A"], 1)
    assert resp.json()["resource_provider_generation"] == 2
    assert api.get(f"/resource_providers/{rp}").json()["generation"] == 2


def test_provider_traits_generation_conflict(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    resp = set_traits(api, rp, ["HW_CPU_X86_SSE"], 5, version="1.23")
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["code"] == "placement.concurrent_update"
    assert "Resource provider's generation already changed." in detail(resp)
    assert api.get(f"/resource_providers/{rp}/traits").json()["traits"] == []


def test_provider_traits_unknown_names(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    resp = set_traits(api, rp, ["NON_EXISTED_TRAIT1", "NON_EXISTED_TRAIT2", "HW_CPU_X86_SSE"], 0)
    assert resp.status_code == 400
    assert "No such trait NON_EXISTED_TRAIT1, NON_EXISTED_TRAIT2" in detail(resp)
    assert api.get(f"/resource_providers/{rp}").json()["generation"] == 0


def test_provider_traits_404s(api: PlacementClient) -> None:
    missing = str(uuid.uuid4())
    resp = api.get(f"/resource_providers/{missing}/traits")
    assert resp.status_code == 404
    assert f"No resource provider with uuid {missing} found: " in detail(resp)
    resp = set_traits(api, missing, ["HW_CPU_X86_SSE"], 0)
    assert resp.status_code == 404
    assert f"No resource provider with uuid {missing} found" in detail(resp)
    assert api.delete(f"/resource_providers/{missing}/traits").status_code == 404


def test_delete_provider_traits(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    # Nothing to remove: no bump.
    assert api.delete(f"/resource_providers/{rp}/traits").status_code == 204
    assert api.get(f"/resource_providers/{rp}").json()["generation"] == 0
    set_traits(api, rp, ["HW_CPU_X86_SSE"], 0)
    resp = api.delete(f"/resource_providers/{rp}/traits")
    assert resp.status_code == 204
    assert "content-type" not in resp.headers
    body = api.get(f"/resource_providers/{rp}/traits").json()
    assert body == {"traits": [], "resource_provider_generation": 2}


def test_provider_traits_cache_headers(api: PlacementClient) -> None:
    rp = create_rp(api, "rp")
    old = api.get(f"/resource_providers/{rp}/traits", version="1.14")
    assert "last-modified" not in old.headers
    new = api.get(f"/resource_providers/{rp}/traits", version="1.15")
    assert new.headers["cache-control"] == "no-cache"
    resp = set_traits(api, rp, ["HW_CPU_X86_SSE"], 0, version="1.14")
    assert "cache-control" not in resp.headers
    resp = set_traits(api, rp, ["HW_CPU_X86_SSE2"], 1, version="1.15")
    assert "last-modified" in resp.headers


def test_racing_writers_on_one_generation_one_wins(
    api: PlacementClient, database: Database
) -> None:
    rp = create_rp(api, "raced")
    names = ["HW_CPU_X86_SSE", "HW_CPU_X86_SSE2", "HW_CPU_X86_AVX", "HW_CPU_X86_AVX2"]
    barrier = threading.Barrier(len(names))

    def write(name: str) -> str:
        barrier.wait()
        try:
            traits.set_provider_traits(database, rp, [name], 0)
        except ConcurrentUpdate:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(len(names)) as pool:
        outcomes = list(pool.map(write, names))
    assert outcomes.count("ok") == 1
    body = api.get(f"/resource_providers/{rp}/traits").json()
    assert body["resource_provider_generation"] == 1
    assert len(body["traits"]) == 1
