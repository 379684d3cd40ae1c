"""Malformed input to the provider, trait and aggregate endpoints: a Placement 400
body every time, and nothing written (row counts checked after each request)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient

WATCHED = (
    tables.resource_providers,
    tables.traits,
    tables.resource_provider_traits,
    tables.placement_aggregates,
    tables.resource_provider_aggregates,
    tables.change_log,
)


def row_counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in WATCHED
        }


def assert_placement_400(resp: Any) -> None:
    assert resp.status_code == 400, resp.text
    errors = resp.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["status"] == 400
    assert errors[0]["title"] == "Bad Request"
    # Codes appear from 1.23; the old-version cases have none.
    assert errors[0].get("code", "placement.undefined_code") == "placement.undefined_code"
    assert errors[0]["request_id"].startswith("req-")


@pytest.fixture
def rp(api: PlacementClient) -> str:
    resp = api.post("/resource_providers", json={"name": "existing"})
    assert resp.status_code == 200
    return str(resp.json()["uuid"])


LONG_NAME = "n" * 201
TOO_MANY = [str(uuid.uuid4()) for _ in range(10_001)]

CREATE_BODIES: list[Any] = [
    {},
    {"name": None},
    {"name": 12},
    {"name": ["a"]},
    {"name": LONG_NAME},
    {"name": "ok", "uuid": "not-a-uuid"},
    {"name": "ok", "uuid": 5},
    {"name": "ok", "uuid": "a" * 37},
    {"name": "ok", "parent_provider_uuid": "nope"},
    {"name": "ok", "root_provider_uuid": str(uuid.uuid4())},
    {"name": "ok", "generation": 3},
    ["name", "ok"],
    "ok",
]


@pytest.mark.parametrize("body", CREATE_BODIES)
def test_create_provider_bad_bodies(api: PlacementClient, database: Database, body: Any) -> None:
    before = row_counts(database)
    assert_placement_400(api.post("/resource_providers", json=body))
    assert row_counts(database) == before


@pytest.mark.parametrize(
    "raw", [b'{"foo": }', b"{", b"", b"\xff\xfe", b'{"name": "a"} trailing', b"nan"]
)
def test_malformed_json(api: PlacementClient, database: Database, rp: str, raw: bytes) -> None:
    before = row_counts(database)
    headers = {"content-type": "application/json"}
    for method, path in (
        ("POST", "/resource_providers"),
        ("PUT", f"/resource_providers/{rp}"),
        ("PUT", f"/resource_providers/{rp}/traits"),
        ("PUT", f"/resource_providers/{rp}/aggregates"),
    ):
        resp = api.request(method, path, content=raw, headers=headers)
        assert_placement_400(resp)
        assert "Malformed JSON" in resp.json()["errors"][0]["detail"]
    assert row_counts(database) == before


UPDATE_BODIES: list[Any] = [
    {},
    {"name": LONG_NAME},
    {"name": "x", "uuid": str(uuid.uuid4())},
    {"name": "x", "badfield": 1},
    {"name": "x", "parent_provider_uuid": 7},
    {"name": "x", "parent_provider_uuid": "garbage"},
]


@pytest.mark.parametrize("body", UPDATE_BODIES)
def test_update_provider_bad_bodies(
    api: PlacementClient, database: Database, rp: str, body: Any
) -> None:
    before = row_counts(database)
    assert_placement_400(api.put(f"/resource_providers/{rp}", json=body))
    assert row_counts(database) == before
    assert api.get(f"/resource_providers/{rp}").json()["name"] == "existing"


TRAIT_BODIES: list[Any] = [
    {"traits": ["HW_CPU_X86_SSE"]},
    {"resource_provider_generation": 0},
    {"traits": "HW_CPU_X86_SSE", "resource_provider_generation": 0},
    {"traits": [""], "resource_provider_generation": 0},
    {"traits": [1], "resource_provider_generation": 0},
    {"traits": ["A" * 256], "resource_provider_generation": 0},
    {"traits": ["HW_CPU_X86_SSE"], "resource_provider_generation": "0"},
    {"traits": ["HW_CPU_X86_SSE"], "resource_provider_generation": -1},
    {"traits": ["HW_CPU_X86_SSE"], "resource_provider_generation": 2**40},
    {"traits": ["HW_CPU_X86_SSE"], "resource_provider_generation": 0, "extra": 1},
    {"traits": ["CUSTOM_X"] * 10_001, "resource_provider_generation": 0},
]


@pytest.mark.parametrize("body", TRAIT_BODIES)
def test_provider_traits_bad_bodies(
    api: PlacementClient, database: Database, rp: str, body: Any
) -> None:
    before = row_counts(database)
    assert_placement_400(api.put(f"/resource_providers/{rp}/traits", json=body))
    assert row_counts(database) == before


def test_unknown_traits_change_nothing(api: PlacementClient, database: Database, rp: str) -> None:
    before = row_counts(database)
    resp = api.put(
        f"/resource_providers/{rp}/traits",
        json={"traits": ["HW_CPU_X86_SSE", "CUSTOM_NOPE"], "resource_provider_generation": 0},
    )
    assert_placement_400(resp)
    assert row_counts(database) == before


AGGREGATE_BODIES: list[Any] = [
    [str(uuid.uuid4())],
    {"aggregates": ["harry"], "resource_provider_generation": 0},
    {"aggregates": [AGG := str(uuid.uuid4()), AGG], "resource_provider_generation": 0},
    {"aggregates": "x", "resource_provider_generation": 0},
    {"aggregates": [], "resource_provider_generation": None},
    {"aggregates": [], "resource_provider_generation": 0, "more": True},
    {"aggregates": TOO_MANY, "resource_provider_generation": 0},
]


@pytest.mark.parametrize("body", AGGREGATE_BODIES)
def test_aggregates_bad_bodies(
    api: PlacementClient, database: Database, rp: str, body: Any
) -> None:
    before = row_counts(database)
    assert_placement_400(api.put(f"/resource_providers/{rp}/aggregates", json=body))
    assert row_counts(database) == before


@pytest.mark.parametrize("body", [{"a": 1}, [1], ["not-a-uuid"], [str(uuid.uuid4())] * 2, TOO_MANY])
def test_old_aggregates_bad_bodies(
    api: PlacementClient, database: Database, rp: str, body: Any
) -> None:
    before = row_counts(database)
    resp = api.put(f"/resource_providers/{rp}/aggregates", json=body, version="1.18")
    assert_placement_400(resp)
    assert row_counts(database) == before


@pytest.mark.parametrize(
    "name",
    ["lower", "CUSTOM_", "CUSTOM_A-B", "HW_NOT_CUSTOM", "CUSTOM_" + "X" * 300, "CUSTOM_%E2%98%83"],
)
def test_bad_custom_trait_names(api: PlacementClient, database: Database, name: str) -> None:
    before = row_counts(database)
    assert_placement_400(api.put(f"/traits/{name}"))
    assert row_counts(database) == before


@pytest.mark.parametrize(
    "query",
    [
        "uuid=spam",
        "in_tree=spam",
        "name=" + "n" * 201,
        "bogus=1",
        "member_of=" + "m" * 9000,
    ],
)
def test_bad_list_queries(api: PlacementClient, query: str) -> None:
    resp = api.get(f"/resource_providers?{query}")
    assert_placement_400(resp)
    assert "Invalid query string parameters" in resp.json()["errors"][0]["detail"]


def test_wrong_content_type_is_415_and_writes_nothing(
    api: PlacementClient, database: Database, rp: str
) -> None:
    before = row_counts(database)
    resp = api.request(
        "POST", "/resource_providers", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert resp.status_code == 415
    assert row_counts(database) == before
