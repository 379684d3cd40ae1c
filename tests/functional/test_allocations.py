"""Allocations and consumers, as upstream Placement behaves (microversions 1.0-1.39)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from corral.errors import ConcurrentUpdate
from corral.placement import allocations as domain
from corral.placement.consumers import ConsumerRace
from corral.store import resource_classes, tables
from corral.store.database import Database, utcnow
from tests.conftest import PlacementClient

PROJECT = "0b5a4bd6-2c80-4c4e-9f36-5b5f1c0a7e11"
USER = "7f0f6a0e-4c5b-4a08-9c5d-0f6f3d8e2a22"
INCOMPLETE = "00000000-0000-0000-0000-000000000000"


def detail(resp: Any) -> str:
    return str(resp.json()["errors"][0]["detail"])


def code(resp: Any) -> str:
    return str(resp.json()["errors"][0]["code"])


def make_rp(api: PlacementClient, db: Database, name: str, **inventories: dict[str, Any]) -> str:
    """A provider (through the API) with inventory rows written directly."""
    resp = api.post("/resource_providers", json={"name": name}, version="1.20")
    assert resp.status_code == 200, resp.text
    rp = str(resp.json()["uuid"])
    set_inventory(db, rp, **inventories)
    return rp


def set_inventory(db: Database, rp: str, **inventories: dict[str, Any]) -> None:
    with db.write() as conn:
        rp_id = conn.execute(
            select(tables.resource_providers.c.id).where(tables.resource_providers.c.uuid == rp)
        ).scalar_one()
        ids = resource_classes.ids_for_names(conn, inventories)
        inv = tables.inventories
        conn.execute(inv.delete().where(inv.c.resource_provider_id == rp_id))
        for name, fields in inventories.items():
            row = {
                "reserved": 0,
                "min_unit": 1,
                "max_unit": 2_147_483_647,
                "step_size": 1,
                "allocation_ratio": 1.0,
                **fields,
            }
            conn.execute(
                inv.insert().values(
                    resource_provider_id=rp_id,
                    resource_class_id=ids[name],
                    created_at=utcnow(),
                    **row,
                )
            )


def generation(api: PlacementClient, rp: str) -> int:
    return int(api.get(f"/resource_providers/{rp}").json()["generation"])


def put_alloc(
    api: PlacementClient,
    consumer: str,
    allocs: dict[str, dict[str, int]],
    *,
    gen: int | None = None,
    version: str = "1.28",
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {
        "allocations": {rp: {"resources": res} for rp, res in allocs.items()},
        "project_id": PROJECT,
        "user_id": USER,
        **extra,
    }
    if version.startswith("1.") and int(version[2:]) >= 28:
        body["consumer_generation"] = gen
    if version.startswith("1.") and int(version[2:]) >= 38 and "consumer_type" not in body:
        body["consumer_type"] = "INSTANCE"
    return api.put(f"/allocations/{consumer}", json=body, version=version)


def db_state(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]]:
    """Allocations, consumers and provider generations, to prove nothing changed."""
    with db.read() as conn:
        a = tables.allocations
        c = tables.consumers
        rp = tables.resource_providers
        allocs = [
            tuple(r)
            for r in conn.execute(
                select(
                    a.c.consumer_id, a.c.resource_provider_id, a.c.resource_class_id, a.c.used
                ).order_by(a.c.id)
            )
        ]
        cons = [tuple(r) for r in conn.execute(select(c.c.uuid, c.c.generation).order_by(c.c.id))]
        gens = [r.generation for r in conn.execute(select(rp.c.generation).order_by(rp.c.id))]
    return allocs, cons, gens


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- reading -------------------------------------------------------------------


def test_get_unknown_consumer_is_empty(api: PlacementClient) -> None:
    for version in ("1.0", "1.12", "1.28", "1.38"):
        resp = api.get("/allocations/599ffd2d-526a-4b2e-8683-f13ad25f9958", version=version)
        assert resp.status_code == 200
        assert resp.json() == {"allocations": {}}
    assert api.get("/allocations/not-a-uuid").json() == {"allocations": {}}


def test_get_allocations_collection_is_405(api: PlacementClient) -> None:
    resp = api.get("/allocations")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    assert api.post("/allocations", json={}, version="1.12").status_code == 404


def test_shapes_per_microversion(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", DISK_GB={"total": 100}, VCPU={"total": 8})
    consumer = str(uuid.uuid4())
    resp = api.put(
        f"/allocations/{consumer}",
        json={"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"DISK_GB": 10}}]},
        version="1.7",
    )
    assert resp.status_code == 204, resp.text
    assert "content-type" not in resp.headers
    assert "last-modified" not in resp.headers

    old = api.get(f"/allocations/{consumer}", version="1.11").json()
    assert old == {"allocations": {rp: {"resources": {"DISK_GB": 10}, "generation": 1}}}
    v12 = api.get(f"/allocations/{consumer}", version="1.12").json()
    assert v12["project_id"] == INCOMPLETE and v12["user_id"] == INCOMPLETE
    assert set(v12) == {"allocations", "project_id", "user_id"}
    v28 = api.get(f"/allocations/{consumer}", version="1.28").json()
    assert v28["consumer_generation"] == 1
    assert "consumer_type" not in v28
    v38 = api.get(f"/allocations/{consumer}", version="1.38").json()
    assert v38["consumer_type"] == "unknown"

    by_rp = api.get(f"/resource_providers/{rp}/allocations", version="1.27").json()
    assert by_rp == {
        "allocations": {consumer: {"resources": {"DISK_GB": 10}}},
        "resource_provider_generation": 1,
    }
    by_rp = api.get(f"/resource_providers/{rp}/allocations", version="1.28").json()
    assert by_rp["allocations"][consumer]["consumer_generation"] == 1


def test_cache_headers_from_1_15(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 8})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {rp: {"VCPU": 1}}).status_code == 204
    for path in (f"/allocations/{consumer}", f"/resource_providers/{rp}/allocations"):
        resp = api.get(path, version="1.15")
        assert resp.headers["cache-control"] == "no-cache"
        assert resp.headers["last-modified"].endswith("GMT")
        resp = api.get(path, version="1.14")
        assert "cache-control" not in resp.headers
        assert "last-modified" not in resp.headers


def test_provider_allocations_404(api: PlacementClient) -> None:
    missing = str(uuid.uuid4())
    resp = api.get(f"/resource_providers/{missing}/allocations")
    assert resp.status_code == 404
    assert f"Resource provider '{missing}' not found" in detail(resp)


# --- writing -------------------------------------------------------------------


def test_consumer_generations_1_28(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", DISK_GB={"total": 100})
    consumer = str(uuid.uuid4())
    resp = put_alloc(api, consumer, {rp: {"DISK_GB": 10}}, gen=5)
    assert resp.status_code == 409
    assert "consumer generation conflict - expected null but got 5" in detail(resp)
    assert code(resp) == "placement.concurrent_update"

    assert put_alloc(api, consumer, {rp: {"DISK_GB": 10}}, gen=None).status_code == 204
    resp = put_alloc(api, consumer, {rp: {"DISK_GB": 10}}, gen=None)
    assert resp.status_code == 409
    assert "consumer generation conflict - expected 1 but got None" in detail(resp)
    resp = put_alloc(api, consumer, {rp: {"DISK_GB": 10}}, gen=7)
    assert "expected 1 but got 7" in detail(resp)

    assert put_alloc(api, consumer, {rp: {"DISK_GB": 20}}, gen=1).status_code == 204
    got = api.get(f"/allocations/{consumer}").json()
    assert got["consumer_generation"] == 2
    assert got["allocations"][rp] == {"resources": {"DISK_GB": 20}, "generation": 2}

    # Before 1.28 the generation is neither needed nor checked.
    assert put_alloc(api, consumer, {rp: {"DISK_GB": 30}}, version="1.27").status_code == 204
    assert api.get(f"/allocations/{consumer}").json()["consumer_generation"] == 3


def test_empty_allocations_remove_them_and_the_consumer(
    api: PlacementClient, database: Database
) -> None:
    rp = make_rp(api, database, "rp", DISK_GB={"total": 100})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {rp: {"DISK_GB": 10}}).status_code == 204
    resp = put_alloc(api, consumer, {}, version="1.27")
    assert resp.status_code == 400
    assert put_alloc(api, consumer, {}, gen=1).status_code == 204
    assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}
    assert count(database, tables.consumers) == 0
    assert count(database, tables.allocations) == 0
    # The emptied provider's generation moved with the change (as upstream).
    assert generation(api, rp) == 2
    # The consumer is gone, so it is new again.
    assert put_alloc(api, consumer, {rp: {"DISK_GB": 10}}, gen=None).status_code == 204


def test_emptying_a_new_consumer_leaves_it_at_generation_0(
    api: PlacementClient, database: Database
) -> None:
    """Upstream creates the consumer and, with nothing to give back, keeps it."""
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {}, gen=None).status_code == 204
    assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}
    assert count(database, tables.consumers) == 1
    resp = put_alloc(api, consumer, {}, gen=None)
    assert resp.status_code == 409
    assert "consumer generation conflict - expected 0 but got None" in detail(resp)
    # Emptying it again changes nothing, not even the generation.
    assert put_alloc(api, consumer, {}, gen=0).status_code == 204
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    assert put_alloc(api, consumer, {rp: {"VCPU": 1}}, gen=0).status_code == 204
    assert api.get(f"/allocations/{consumer}").json()["consumer_generation"] == 1


def test_replacing_frees_the_old_claim(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {rp: {"VCPU": 4}}).status_code == 204
    assert put_alloc(api, consumer, {rp: {"VCPU": 3}}, gen=1).status_code == 204
    assert put_alloc(api, consumer, {rp: {"VCPU": 4}}, gen=2).status_code == 204
    other = put_alloc(api, str(uuid.uuid4()), {rp: {"VCPU": 1}})
    assert other.status_code == 409
    assert "The requested amount would exceed the capacity" in detail(other)
    assert detail(other).strip().startswith("There was a conflict")
    assert "Unable to allocate inventory: Unable to create allocation for 'VCPU'" in detail(other)


def test_capacity_uses_reserved_and_ratio(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4, "reserved": 1, "allocation_ratio": 2.5})
    # int((4 - 1) * 2.5) == 7
    assert put_alloc(api, str(uuid.uuid4()), {rp: {"VCPU": 4}}).status_code == 204
    assert put_alloc(api, str(uuid.uuid4()), {rp: {"VCPU": 3}}).status_code == 204
    assert put_alloc(api, str(uuid.uuid4()), {rp: {"VCPU": 1}}).status_code == 409
    usage = api.get(f"/resource_providers/{rp}/allocations").json()["allocations"]
    assert sum(c["resources"]["VCPU"] for c in usage.values()) == 7


def test_unit_rules(api: PlacementClient, database: Database) -> None:
    rp = make_rp(
        api,
        database,
        "rp",
        DISK_GB={"total": 1000, "min_unit": 10, "max_unit": 100, "step_size": 5},
    )
    for used in (5, 105, 12):
        resp = put_alloc(api, str(uuid.uuid4()), {rp: {"DISK_GB": used}})
        assert resp.status_code == 409, used
        assert "would violate inventory constraints" in detail(resp)
    assert put_alloc(api, str(uuid.uuid4()), {rp: {"DISK_GB": 15}}).status_code == 204
    assert put_alloc(api, str(uuid.uuid4()), {rp: {"DISK_GB": 100}}).status_code == 204


def test_class_not_in_inventory_and_unknown_class(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    bare = make_rp(api, database, "bare")
    consumer = str(uuid.uuid4())
    resp = put_alloc(api, consumer, {rp: {"VCPU": 1, "PCI_DEVICE": 1}})
    assert resp.status_code == 409
    assert f"Inventory for 'PCI_DEVICE' on resource provider '{rp}' invalid." in detail(resp)
    assert code(resp) == "placement.undefined_code"

    resp = put_alloc(api, consumer, {bare: {"DISK_GB": 1}})
    assert resp.status_code == 409
    assert f"on resource provider '{bare}' invalid" in detail(resp)

    resp = put_alloc(api, consumer, {rp: {"CUSTOM_PONY": 1}})
    assert resp.status_code == 400
    assert (
        f"Unable to allocate inventory for consumer {consumer}: No such resource class CUSTOM_PONY."
        in detail(resp)
    )

    missing = str(uuid.uuid4())
    resp = put_alloc(api, consumer, {missing: {"VCPU": 1}})
    assert resp.status_code == 400
    assert f"Allocation for resource provider '{missing}' that does not exist." in detail(resp)
    assert count(database, tables.consumers) == 0


def test_failed_new_consumer_leaves_nothing(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    before = db_state(database)
    resp = put_alloc(api, consumer, {rp: {"VCPU": 9999}}, gen=None)
    assert resp.status_code == 409
    assert db_state(database) == before
    # Still a new consumer: null is the right generation.
    assert put_alloc(api, consumer, {rp: {"VCPU": 1}}, gen=None).status_code == 204


def test_over_capacity_provider_may_shrink_usage(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 10})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {rp: {"VCPU": 8}}).status_code == 204
    set_inventory(database, rp, VCPU={"total": 4})
    # Still over capacity, but less than before: allowed, as upstream.
    assert put_alloc(api, consumer, {rp: {"VCPU": 6}}, gen=1).status_code == 204
    # Growing again is refused.
    resp = put_alloc(api, consumer, {rp: {"VCPU": 7}}, gen=2)
    assert resp.status_code == 409
    assert "exceed the capacity" in detail(resp)


def test_moving_allocations_bumps_only_the_new_provider(
    api: PlacementClient, database: Database
) -> None:
    a = make_rp(api, database, "a", VCPU={"total": 4})
    b = make_rp(api, database, "b", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {a: {"VCPU": 2}}).status_code == 204
    assert put_alloc(api, consumer, {b: {"VCPU": 2}}, gen=1).status_code == 204
    assert (generation(api, a), generation(api, b)) == (1, 1)
    with database.read() as conn:
        cl = tables.change_log
        rows = conn.execute(select(cl.c.resource_provider_id, cl.c.kind)).all()
    usage_ids = [pid for pid, kind in rows if kind == "usage"]
    # Both providers' usage changed, so both are in the change log.
    assert len(set(usage_ids)) == 2


def test_project_user_and_type_follow_the_last_write(
    api: PlacementClient, database: Database
) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    resp = put_alloc(api, consumer, {rp: {"VCPU": 1}}, version="1.38", consumer_type="PONY")
    assert resp.status_code == 204
    got = api.get(f"/allocations/{consumer}").json()
    assert (got["project_id"], got["user_id"], got["consumer_type"]) == (PROJECT, USER, "PONY")
    resp = put_alloc(
        api,
        consumer,
        {rp: {"VCPU": 1}},
        gen=1,
        version="1.38",
        project_id="other-project",
        consumer_type="INSTANCE",
    )
    assert resp.status_code == 204
    got = api.get(f"/allocations/{consumer}").json()
    assert (got["project_id"], got["consumer_type"]) == ("other-project", "INSTANCE")
    # Before 1.38 the type is kept.
    assert put_alloc(api, consumer, {rp: {"VCPU": 2}}, gen=2, version="1.37").status_code == 204
    assert api.get(f"/allocations/{consumer}").json()["consumer_type"] == "INSTANCE"
    # Before 1.8 the consumer moves to the incomplete project and user.
    resp = api.put(
        f"/allocations/{consumer}",
        json={"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]},
        version="1.7",
    )
    assert resp.status_code == 204
    got = api.get(f"/allocations/{consumer}").json()
    assert (got["project_id"], got["user_id"]) == (INCOMPLETE, INCOMPLETE)


def test_dashless_consumer_uuid_is_normalised(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = uuid.uuid4()
    assert put_alloc(api, consumer.hex, {rp: {"VCPU": 1}}).status_code == 204
    assert api.get(f"/allocations/{consumer}").json()["allocations"][rp]["resources"] == {"VCPU": 1}
    resp = put_alloc(api, "not-a-uuid", {rp: {"VCPU": 1}})
    assert resp.status_code == 400
    assert "Malformed consumer_uuid: not-a-uuid" in detail(resp)


def test_delete(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    assert put_alloc(api, consumer, {rp: {"VCPU": 1}}).status_code == 204
    assert api.delete(f"/allocations/{consumer}").status_code == 204
    assert count(database, tables.consumers) == 0
    # Deleting gives back capacity and does not bump the generation (upstream).
    assert generation(api, rp) == 1
    resp = api.delete(f"/allocations/{consumer}")
    assert resp.status_code == 404
    assert f"No allocations for consumer '{consumer}'" in detail(resp)


def test_post_allocations_is_atomic(api: PlacementClient, database: Database) -> None:
    a = make_rp(api, database, "a", VCPU={"total": 2})
    b = make_rp(api, database, "b", VCPU={"total": 2})
    c1, c2, c3 = (str(uuid.uuid4()) for _ in range(3))

    def part(allocs: dict[str, dict[str, int]], gen: int | None = None) -> dict[str, Any]:
        return {
            "allocations": {rp: {"resources": res} for rp, res in allocs.items()},
            "project_id": PROJECT,
            "user_id": USER,
            "consumer_generation": gen,
        }

    # Three VCPU on a two-VCPU provider, across consumers: all refused.
    body = {c1: part({a: {"VCPU": 1}}), c2: part({a: {"VCPU": 1}}), c3: part({a: {"VCPU": 1}})}
    resp = api.post("/allocations", json=body, version="1.28")
    assert resp.status_code == 409
    assert count(database, tables.allocations) == 0
    assert count(database, tables.consumers) == 0

    body = {c1: part({a: {"VCPU": 2}}), c2: part({b: {"VCPU": 1}})}
    assert api.post("/allocations", json=body, version="1.28").status_code == 204
    # Move c1 to b and empty c2 in one go.
    body = {c1: part({b: {"VCPU": 2}}, gen=1), c2: part({}, gen=1)}
    assert api.post("/allocations", json=body, version="1.28").status_code == 204
    assert api.get(f"/allocations/{c2}").json() == {"allocations": {}}
    assert api.get(f"/resource_providers/{b}/allocations").json()["allocations"] == {
        c1: {"resources": {"VCPU": 2}, "consumer_generation": 2}
    }
    body = {c1: part({a: {"CUSTOM_NOPE": 1}}, gen=2)}
    resp = api.post("/allocations", json=body, version="1.28")
    assert resp.status_code == 400
    assert "Unable to allocate inventory No such resource class CUSTOM_NOPE." in detail(resp)


def test_post_mappings_and_consumer_type(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    consumer = str(uuid.uuid4())
    body = {
        consumer: {
            "allocations": {rp: {"resources": {"VCPU": 1}}},
            "project_id": PROJECT,
            "user_id": USER,
            "consumer_generation": None,
            "mappings": {"": [rp], "_NET1": [rp]},
        }
    }
    resp = api.post("/allocations", json=body, version="1.33")
    assert resp.status_code == 400
    assert "Additional properties are not allowed" in detail(resp)
    assert api.post("/allocations", json=body, version="1.34").status_code == 204
    resp = api.post("/allocations", json=body, version="1.38")
    assert "'consumer_type' is a required property" in detail(resp)


def test_retry_then_give_up(database: Database) -> None:
    calls: list[int] = []

    def racing(conn: Any) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConsumerRace("c")
        return "done"

    assert domain.run_write(database, 5, racing) == "done"
    assert len(calls) == 3

    calls.clear()

    def always(conn: Any) -> None:
        calls.append(1)
        raise ConsumerRace("c")

    with pytest.raises(ConcurrentUpdate) as exc:
        domain.run_write(database, 4, always)
    assert len(calls) == 4
    assert "concurrently updated the resource provider data" in exc.value.detail


# --- bad input -----------------------------------------------------------------


def _good(rp: str) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": {"VCPU": 1}}},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": None,
    }


def _with_used(used: Any) -> Any:
    def make(rp: str) -> dict[str, Any]:
        body = _good(rp)
        body["allocations"][rp]["resources"]["VCPU"] = used
        return body

    return make


def _with(**changes: Any) -> Any:
    def make(rp: str) -> dict[str, Any]:
        return {**_good(rp), **changes}

    return make


def _without(key: str) -> Any:
    def make(rp: str) -> dict[str, Any]:
        body = _good(rp)
        del body[key]
        return body

    return make


BAD_BODIES_1_28: dict[str, Any] = {
    "not an object": lambda rp: ["allocations"],
    "allocations wrong type": _with(allocations=[]),
    "unknown field": _with(cow=1),
    "used zero": _with_used(0),
    "used negative": _with_used(-1),
    "used huge": _with_used(2_147_483_648),
    "used float": _with_used(1.5),
    "used string": _with_used("1"),
    "class name lower case": lambda rp: {
        **_good(rp),
        "allocations": {rp: {"resources": {"vcpu": 1}}},
    },
    "provider key not a uuid": _with(allocations={"provider": {"resources": {"VCPU": 1}}}),
    "generation missing": _without("consumer_generation"),
    "generation wrong type": _with(consumer_generation="1"),
    "project too long": _with(project_id="x" * 256),
    "project empty": _with(project_id=""),
    "user wrong type": _with(user_id=5),
}


@pytest.mark.parametrize("kind", list(BAD_BODIES_1_28))
def test_bad_bodies_are_400_and_change_nothing(
    api: PlacementClient, database: Database, kind: str
) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    before = db_state(database)
    body = BAD_BODIES_1_28[kind](rp)
    resp = api.put(f"/allocations/{uuid.uuid4()}", json=body, version="1.28")
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert err["title"] == "Bad Request"
    assert "JSON does not validate" in err["detail"]
    assert db_state(database) == before


def test_malformed_json_and_content_type(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    before = db_state(database)
    path = f"/allocations/{uuid.uuid4()}"
    resp = api.put(path, content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert "Malformed JSON" in detail(resp)
    resp = api.put(path, content=b"{}", headers={"content-type": "text/plain"})
    assert resp.status_code == 415
    resp = api.post("/allocations", content=b"[", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert db_state(database) == before
    del rp


def test_too_many_allocations(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    before = db_state(database)
    # More classes on one provider than the schema allows.
    resources = {f"CUSTOM_C{i}": 1 for i in range(1_001)}
    resp = put_alloc(api, str(uuid.uuid4()), {rp: resources})
    assert resp.status_code == 400
    assert "JSON does not validate" in detail(resp)
    # More (consumer, provider, class) triples than the total bound.
    part = {
        "allocations": {rp: {"resources": {f"CUSTOM_C{i}": 1 for i in range(600)}}},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": None,
    }
    body = {str(uuid.uuid4()): part for _ in range(20)}
    resp = api.post("/allocations", json=body, version="1.28")
    assert resp.status_code == 400
    assert "Too many allocations in one request: 12000" in detail(resp)
    assert db_state(database) == before


def test_bad_post_bodies(api: PlacementClient, database: Database) -> None:
    rp = make_rp(api, database, "rp", VCPU={"total": 4})
    before = db_state(database)
    good = {
        "allocations": {rp: {"resources": {"VCPU": 1}}},
        "project_id": PROJECT,
        "user_id": USER,
    }
    for body in (
        {},
        {"not-a-uuid": good},
        {str(uuid.uuid4()): {"cow": "moo"}},
        {str(uuid.uuid4()): {**good, "allocations": {rp: {"cow": "moo"}}}},
        [good],
    ):
        resp = api.post("/allocations", json=body, version="1.13")
        assert resp.status_code == 400, body
        assert "JSON does not validate" in detail(resp)
    assert db_state(database) == before


def test_list_form_bad_provider_uuid(api: PlacementClient, database: Database) -> None:
    make_rp(api, database, "rp", VCPU={"total": 4})
    before = db_state(database)
    resp = api.put(
        f"/allocations/{uuid.uuid4()}",
        json={"allocations": [{"resource_provider": {"uuid": "nope"}, "resources": {"VCPU": 1}}]},
        version="1.0",
    )
    assert resp.status_code == 400
    assert "is not a 'uuid'" in detail(resp)
    assert db_state(database) == before
