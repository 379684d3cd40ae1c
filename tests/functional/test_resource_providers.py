"""Resource provider CRUD, trees and list filters, as upstream Placement behaves."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from corral.store import tables
from corral.store.database import Database, record_changes, utcnow
from corral.store.resource_classes import STANDARD_IDS
from tests.conftest import PlacementClient


def create(api: PlacementClient, name: str, parent: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {"name": name, **extra}
    if parent is not None:
        body["parent_provider_uuid"] = parent
    resp = api.post("/resource_providers", json=body)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


def detail(resp: Any) -> str:
    return str(resp.json()["errors"][0]["detail"])


def code(resp: Any) -> str:
    return str(resp.json()["errors"][0]["code"])


def provider_id(db: Database, rp_uuid: str) -> int:
    with db.read() as conn:
        rp = tables.resource_providers
        return int(conn.execute(select(rp.c.id).where(rp.c.uuid == rp_uuid)).scalar_one())


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def add_inventory(db: Database, rp_uuid: str, rc: str, **fields: Any) -> None:
    row = {
        "total": 100,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": 100,
        "step_size": 1,
        "allocation_ratio": 1.0,
        **fields,
    }
    with db.write() as conn:
        conn.execute(
            tables.inventories.insert().values(
                resource_provider_id=provider_id(db, rp_uuid),
                resource_class_id=STANDARD_IDS[rc],
                created_at=utcnow(),
                **row,
            )
        )
        # Every write logs its change, so the candidate index sees it.
        record_changes(conn, [provider_id(db, rp_uuid)], "inventory")


def add_allocation(db: Database, rp_uuid: str, rc: str, used: int) -> None:
    with db.write() as conn:
        conn.execute(
            tables.allocations.insert().values(
                resource_provider_id=provider_id(db, rp_uuid),
                consumer_id=str(uuid.uuid4()),
                resource_class_id=STANDARD_IDS[rc],
                used=used,
                created_at=utcnow(),
            )
        )
        record_changes(conn, [provider_id(db, rp_uuid)], "usage")


# --- create ---------------------------------------------------------------


def test_create_before_1_20_is_201_with_location_and_no_body(api: PlacementClient) -> None:
    rp_uuid = str(uuid.uuid4())
    resp = api.post("/resource_providers", json={"name": "rp", "uuid": rp_uuid}, version="1.19")
    assert resp.status_code == 201
    assert resp.headers["location"] == f"http://testserver/resource_providers/{rp_uuid}"
    assert "content-type" not in resp.headers
    assert resp.content == b""


def test_create_from_1_20_returns_the_provider(api: PlacementClient) -> None:
    resp = api.post("/resource_providers", json={"name": "rp"})
    assert resp.status_code == 200
    body = resp.json()
    assert resp.headers["location"] == f"http://testserver/resource_providers/{body['uuid']}"
    assert body["generation"] == 0
    assert body["parent_provider_uuid"] is None
    assert body["root_provider_uuid"] == body["uuid"]
    assert resp.headers["cache-control"] == "no-cache"
    assert "last-modified" in resp.headers


def test_dashless_uuid_is_normalised_and_conflicts(api: PlacementClient) -> None:
    dashed = "2290d4af-9e6e-400b-9d65-1ee01376f71a"
    resp = api.post("/resource_providers", json={"name": "a", "uuid": dashed.replace("-", "")})
    assert resp.status_code == 200
    assert resp.json()["uuid"] == dashed
    resp = api.post("/resource_providers", json={"name": "b", "uuid": dashed.replace("-", "")})
    assert resp.status_code == 409
    assert f"Conflicting resource provider uuid: {dashed} already exists" in detail(resp)


def test_duplicate_name_is_409_duplicate_name(api: PlacementClient) -> None:
    create(api, "same")
    resp = api.post("/resource_providers", json={"name": "same"})
    assert resp.status_code == 409
    assert code(resp) == "placement.duplicate_name"
    assert "Conflicting resource provider name: same already exists" in detail(resp)


def test_duplicate_uuid_and_name_names_both(api: PlacementClient) -> None:
    rp_uuid = create(api, "both")
    resp = api.post("/resource_providers", json={"name": "both", "uuid": rp_uuid})
    assert resp.status_code == 409
    assert f"uuid: {rp_uuid}, name: both" in detail(resp)


def test_create_child_and_self_parent(api: PlacementClient) -> None:
    parent = create(api, "parent")
    child = create(api, "child", parent=parent)
    body = api.get(f"/resource_providers/{child}").json()
    assert body["parent_provider_uuid"] == parent
    assert body["root_provider_uuid"] == parent
    me = str(uuid.uuid4())
    resp = api.post(
        "/resource_providers",
        json={"name": "selfish", "uuid": me, "parent_provider_uuid": me},
    )
    assert resp.status_code == 400
    assert "parent provider UUID cannot be same as UUID" in detail(resp)
    assert f'Unable to create resource provider "selfish", {me}:' in detail(resp)


def test_create_with_unknown_parent_is_400(api: PlacementClient) -> None:
    resp = api.post(
        "/resource_providers",
        json={"name": "orphan", "parent_provider_uuid": str(uuid.uuid4())},
    )
    assert resp.status_code == 400
    assert "parent provider UUID does not exist" in detail(resp)


def test_parent_needs_1_14(api: PlacementClient) -> None:
    parent = create(api, "parent")
    resp = api.post(
        "/resource_providers",
        json={"name": "child", "parent_provider_uuid": parent},
        version="1.13",
    )
    assert resp.status_code == 400
    assert "JSON does not validate" in detail(resp)


def test_create_records_a_change(api: PlacementClient, database: Database) -> None:
    before = count(database, tables.change_log)
    create(api, "logged")
    assert count(database, tables.change_log) == before + 1


# --- show -----------------------------------------------------------------


def test_show_404_text(api: PlacementClient) -> None:
    missing = str(uuid.uuid4())
    resp = api.get(f"/resource_providers/{missing}")
    assert resp.status_code == 404
    assert f"No resource provider with uuid {missing} found" in detail(resp)


def test_links_per_microversion(api: PlacementClient) -> None:
    rp_uuid = create(api, "linked")
    expect = {
        "1.0": {"self", "inventories", "usages"},
        "1.1": {"self", "inventories", "usages", "aggregates"},
        "1.5": {"self", "inventories", "usages", "aggregates"},
        "1.6": {"self", "inventories", "usages", "aggregates", "traits"},
        "1.11": {"self", "inventories", "usages", "aggregates", "traits", "allocations"},
    }
    for version, rels in expect.items():
        body = api.get(f"/resource_providers/{rp_uuid}", version=version).json()
        assert {link["rel"] for link in body["links"]} == rels, version
        assert len(body["links"]) == len(rels)
    old = api.get(f"/resource_providers/{rp_uuid}", version="1.13").json()
    assert set(old) == {"uuid", "name", "generation", "links"}
    new = api.get(f"/resource_providers/{rp_uuid}", version="1.14").json()
    assert new["root_provider_uuid"] == rp_uuid


def test_cache_headers_from_1_15(api: PlacementClient) -> None:
    rp_uuid = create(api, "cached")
    for path in ("/resource_providers", f"/resource_providers/{rp_uuid}"):
        old = api.get(path, version="1.14")
        assert "cache-control" not in old.headers
        assert "last-modified" not in old.headers
        new = api.get(path, version="1.15")
        assert new.headers["cache-control"] == "no-cache"
        assert new.headers["last-modified"].endswith(" GMT")


def test_wrong_accept_is_406(api: PlacementClient) -> None:
    rp_uuid = create(api, "accept")
    resp = api.get(f"/resource_providers/{rp_uuid}", headers={"accept": "text/plain"})
    assert resp.status_code == 406
    assert "Only application/json is provided" in resp.text
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert api.get("/resource_providers", headers={"accept": browser}).status_code == 200


# --- update ---------------------------------------------------------------


def test_rename_keeps_generation(api: PlacementClient) -> None:
    rp_uuid = create(api, "old")
    resp = api.put(f"/resource_providers/{rp_uuid}", json={"name": "new"})
    assert resp.status_code == 200
    assert resp.json()["name"] == "new"
    assert resp.json()["generation"] == 0
    assert "location" not in resp.headers
    assert api.get(f"/resource_providers/{rp_uuid}").json()["name"] == "new"


def test_rename_to_taken_name_is_409(api: PlacementClient) -> None:
    create(api, "taken")
    rp_uuid = create(api, "mine")
    resp = api.put(f"/resource_providers/{rp_uuid}", json={"name": "taken"})
    assert resp.status_code == 409
    assert code(resp) == "placement.duplicate_name"
    assert "Conflicting resource provider taken already exists." in detail(resp)


def test_put_checks_content_type_then_existence_then_body(api: PlacementClient) -> None:
    missing = str(uuid.uuid4())
    resp = api.request("PUT", f"/resource_providers/{missing}")
    assert resp.status_code == 415
    assert "The media type None is not supported, use application/json" in resp.text
    resp = api.put(f"/resource_providers/{missing}", json={"bogus": 1})
    assert resp.status_code == 404


def test_set_parent_on_a_root_is_allowed_before_1_37(api: PlacementClient) -> None:
    parent = create(api, "parent")
    rp_uuid = create(api, "rp")
    resp = api.put(
        f"/resource_providers/{rp_uuid}",
        json={"name": "rp", "parent_provider_uuid": parent},
        version="1.14",
    )
    assert resp.status_code == 200
    assert resp.json()["root_provider_uuid"] == parent


def test_reparent_and_unparent_need_1_37(api: PlacementClient) -> None:
    one = create(api, "one")
    two = create(api, "two")
    child = create(api, "child", parent=one)
    resp = api.put(
        f"/resource_providers/{child}",
        json={"name": "child", "parent_provider_uuid": two},
        version="1.36",
    )
    assert resp.status_code == 400
    assert "re-parenting a provider is not currently allowed" in detail(resp)
    resp = api.put(
        f"/resource_providers/{child}",
        json={"name": "child", "parent_provider_uuid": None},
        version="1.36",
    )
    assert resp.status_code == 400
    assert "un-parenting a provider is not currently allowed" in detail(resp)
    resp = api.put(
        f"/resource_providers/{child}",
        json={"name": "child", "parent_provider_uuid": two},
        version="1.37",
    )
    assert resp.status_code == 200
    assert resp.json()["parent_provider_uuid"] == two
    resp = api.put(
        f"/resource_providers/{child}",
        json={"name": "child", "parent_provider_uuid": None},
        version="1.37",
    )
    assert resp.status_code == 200
    assert resp.json()["parent_provider_uuid"] is None
    assert resp.json()["root_provider_uuid"] == child


def test_moving_a_provider_moves_its_subtree(api: PlacementClient) -> None:
    top = create(api, "top")
    mid = create(api, "mid")
    leaf = create(api, "leaf", parent=mid)
    resp = api.put(f"/resource_providers/{mid}", json={"name": "mid", "parent_provider_uuid": top})
    assert resp.status_code == 200
    assert api.get(f"/resource_providers/{leaf}").json()["root_provider_uuid"] == top
    tree = api.get(f"/resource_providers?in_tree={leaf}").json()["resource_providers"]
    assert {p["uuid"] for p in tree} == {top, mid, leaf}
    # Un-parent the middle: it becomes the root of itself and the leaf.
    resp = api.put(f"/resource_providers/{mid}", json={"name": "mid", "parent_provider_uuid": None})
    assert resp.status_code == 200
    assert api.get(f"/resource_providers/{leaf}").json()["root_provider_uuid"] == mid
    assert api.get(f"/resource_providers/{top}").json()["root_provider_uuid"] == top


def test_loops_are_refused(api: PlacementClient) -> None:
    top = create(api, "top")
    mid = create(api, "mid", parent=top)
    leaf = create(api, "leaf", parent=mid)
    for new_parent in (top, leaf):
        resp = api.put(
            f"/resource_providers/{top}", json={"name": "top", "parent_provider_uuid": new_parent}
        )
        assert resp.status_code == 400
        assert "creating loop in the provider tree is not allowed." in detail(resp)


def test_update_to_unknown_parent(api: PlacementClient) -> None:
    rp_uuid = create(api, "rp")
    resp = api.put(
        f"/resource_providers/{rp_uuid}",
        json={"name": "rp", "parent_provider_uuid": str(uuid.uuid4())},
    )
    assert resp.status_code == 400
    assert f"Unable to save resource provider {rp_uuid}" in detail(resp)
    assert "parent provider UUID does not exist" in detail(resp)


# --- delete ---------------------------------------------------------------


def test_delete_and_404_after(api: PlacementClient) -> None:
    rp_uuid = create(api, "gone")
    assert api.delete(f"/resource_providers/{rp_uuid}").status_code == 204
    resp = api.delete(f"/resource_providers/{rp_uuid}")
    assert resp.status_code == 404
    assert f"No resource provider with uuid {rp_uuid} found for delete" in detail(resp)


def test_delete_parent_is_409(api: PlacementClient) -> None:
    parent = create(api, "parent")
    create(api, "child", parent=parent)
    resp = api.delete(f"/resource_providers/{parent}")
    assert resp.status_code == 409
    assert code(resp) == "placement.resource_provider.cannot_delete_parent"
    assert (
        f"Unable to delete parent resource provider {parent}: It has child resource providers."
        in detail(resp)
    )


def test_delete_with_allocations_is_409(api: PlacementClient, database: Database) -> None:
    rp_uuid = create(api, "busy")
    add_inventory(database, rp_uuid, "VCPU")
    add_allocation(database, rp_uuid, "VCPU", 1)
    resp = api.delete(f"/resource_providers/{rp_uuid}")
    assert resp.status_code == 409
    assert code(resp) == "placement.resource_provider.inuse"
    assert f"Unable to delete resource provider {rp_uuid}" in detail(resp)
    assert api.get(f"/resource_providers/{rp_uuid}").status_code == 200


def test_delete_removes_inventories_traits_and_aggregate_links(
    api: PlacementClient, database: Database
) -> None:
    rp_uuid = create(api, "full")
    add_inventory(database, rp_uuid, "DISK_GB")
    api.put(
        f"/resource_providers/{rp_uuid}/traits",
        json={"traits": ["HW_CPU_X86_SSE"], "resource_provider_generation": 0},
    )
    api.put(
        f"/resource_providers/{rp_uuid}/aggregates",
        json={"aggregates": [str(uuid.uuid4())], "resource_provider_generation": 1},
    )
    assert api.delete(f"/resource_providers/{rp_uuid}").status_code == 204
    assert count(database, tables.inventories) == 0
    assert count(database, tables.resource_provider_traits) == 0
    assert count(database, tables.resource_provider_aggregates) == 0
    assert count(database, tables.resource_providers) == 0
    with database.read() as conn:
        kinds = [r.kind for r in conn.execute(select(tables.change_log.c.kind))]
    assert kinds[-1] == "deleted"


def test_delete_child_then_parent(api: PlacementClient) -> None:
    parent = create(api, "parent")
    child = create(api, "child", parent=parent)
    assert api.delete(f"/resource_providers/{child}").status_code == 204
    assert api.delete(f"/resource_providers/{parent}").status_code == 204


# --- list -----------------------------------------------------------------


def names(resp: Any) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {p["name"] for p in resp.json()["resource_providers"]}


def test_list_by_name_uuid_and_tree(api: PlacementClient) -> None:
    a = create(api, "a")
    create(api, "a-child", parent=a)
    b = create(api, "b")
    assert names(api.get("/resource_providers")) == {"a", "a-child", "b"}
    assert names(api.get("/resource_providers?name=a")) == {"a"}
    assert names(api.get("/resource_providers?name=")) == {"a", "a-child", "b"}
    assert names(api.get(f"/resource_providers?uuid={b}")) == {"b"}
    assert names(api.get(f"/resource_providers?in_tree={a}")) == {"a", "a-child"}
    assert names(api.get(f"/resource_providers?in_tree={uuid.uuid4()}")) == set()


def test_list_unicode_name(api: PlacementClient) -> None:
    create(api, "\u2603")
    assert names(api.get("/resource_providers?name=%e2%98%83")) == {"\u2603"}


def test_list_query_schema_per_version(api: PlacementClient) -> None:
    for query, version in (
        ("member_of=" + str(uuid.uuid4()), "1.2"),
        ("resources=VCPU:1", "1.3"),
        ("in_tree=" + str(uuid.uuid4()), "1.13"),
        ("required=HW_CPU_X86_SSE", "1.17"),
        ("spam=eggs", "latest"),
        ("uuid=not-a-uuid", "latest"),
    ):
        resp = api.get(f"/resource_providers?{query}", version=version)
        assert resp.status_code == 400, query
        assert "Invalid query string parameters" in detail(resp)


AGG_A = "83a3d69d-8920-48e2-8914-cadfd8fa2f91"
AGG_B = "99652f11-9f77-46b9-80b7-4b1989be9f8c"
AGG_C = "282d469e-29e2-4a8a-8f2e-31b3202b696a"


def put_aggregates(api: PlacementClient, rp_uuid: str, aggs: list[str]) -> None:
    resp = api.put(f"/resource_providers/{rp_uuid}/aggregates", json=aggs, version="1.18")
    assert resp.status_code == 200, resp.text


def put_traits(api: PlacementClient, rp_uuid: str, traits: list[str]) -> None:
    gen = api.get(f"/resource_providers/{rp_uuid}").json()["generation"]
    resp = api.put(
        f"/resource_providers/{rp_uuid}/traits",
        json={"traits": traits, "resource_provider_generation": gen},
    )
    assert resp.status_code == 200, resp.text


def test_list_member_of(api: PlacementClient) -> None:
    one, two = create(api, "one"), create(api, "two")
    create(api, "three")
    put_aggregates(api, one, [AGG_A, AGG_C])
    put_aggregates(api, two, [AGG_A, AGG_B])
    q = "/resource_providers?"
    assert names(api.get(f"{q}member_of={AGG_A}")) == {"one", "two"}
    assert names(api.get(f"{q}member_of=in:{AGG_B},{AGG_C}")) == {"one", "two"}
    assert names(api.get(f"{q}member_of={AGG_B}&member_of={AGG_C}")) == set()
    assert names(api.get(f"{q}member_of={AGG_A}&member_of=in:{AGG_B},{AGG_C}")) == {"one", "two"}
    assert names(api.get(f"{q}member_of=!{AGG_C}")) == {"two", "three"}
    assert names(api.get(f"{q}member_of=!in:{AGG_B},{AGG_C}")) == {"three"}
    assert names(api.get(f"{q}member_of=!{AGG_C}&member_of={AGG_A}")) == {"two"}
    assert names(api.get(f"{q}member_of={uuid.uuid4()}")) == set()


def test_list_member_of_version_rules(api: PlacementClient) -> None:
    q = f"/resource_providers?member_of={AGG_A}&member_of={AGG_B}"
    resp = api.get(q, version="1.23")
    assert resp.status_code == 400
    assert "Multiple member_of parameters are not supported" in detail(resp)
    resp = api.get(f"/resource_providers?member_of=!{AGG_A}", version="1.31")
    assert resp.status_code == 400
    assert "Forbidden member_of parameters are not supported" in detail(resp)
    resp = api.get("/resource_providers?member_of=not+a+uuid")
    assert resp.status_code == 400
    assert "Expected 'member_of' parameter to contain valid UUID(s)." in detail(resp)
    resp = api.get(f"/resource_providers?member_of={AGG_A},{AGG_B}")
    assert resp.status_code == 400
    assert "must be prefixed with the 'in:' or '!in:' keyword" in detail(resp)


def test_list_required_traits(api: PlacementClient) -> None:
    parent = create(api, "parent")
    child = create(api, "child", parent=parent)
    other = create(api, "other")
    put_traits(api, child, ["HW_CPU_X86_SGX", "STORAGE_DISK_SSD"])
    put_traits(api, other, ["MISC_SHARES_VIA_AGGREGATE", "STORAGE_DISK_SSD"])
    q = "/resource_providers?"
    assert names(api.get(f"{q}required=STORAGE_DISK_SSD")) == {"child", "other"}
    assert names(api.get(f"{q}required=HW_CPU_X86_SGX,MISC_SHARES_VIA_AGGREGATE")) == set()
    assert names(api.get(f"{q}required=STORAGE_DISK_SSD&in_tree={parent}")) == {"child"}
    assert names(api.get(f"{q}required=!STORAGE_DISK_SSD")) == {"parent"}
    assert names(api.get(f"{q}required=!HW_CPU_X86_SGX,STORAGE_DISK_SSD")) == {"other"}
    assert names(api.get(f"{q}required=in:HW_CPU_X86_SGX,MISC_SHARES_VIA_AGGREGATE")) == {
        "child",
        "other",
    }
    both = f"{q}required=in:HW_CPU_X86_SGX,HW_CPU_X86_AVX&required=STORAGE_DISK_SSD"
    assert names(api.get(both)) == {"child"}
    # Before 1.39 only the last `required` counts.
    resp = api.get(f"{q}required=HW_CPU_X86_SGX&required=MISC_SHARES_VIA_AGGREGATE", version="1.38")
    assert names(resp) == {"other"}


def test_list_required_errors(api: PlacementClient) -> None:
    q = "/resource_providers?"
    resp = api.get(f"{q}required=!STORAGE_DISK_SSD", version="1.21")
    assert resp.status_code == 400
    assert (
        "Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. "
        "Got: !STORAGE_DISK_SSD" in detail(resp)
    )
    resp = api.get(f"{q}required=")
    assert resp.status_code == 400
    assert "HW_CPU_X86_VMX,!CUSTOM_MAGIC." in detail(resp)
    resp = api.get(f"{q}required=STORAGE_DISK_SSD,BOGUS_TRAIT")
    assert resp.status_code == 400
    assert 'Invalid trait(s) in "required" parameter: No such trait(s): BOGUS_TRAIT.' in detail(
        resp
    )
    resp = api.get(f"{q}required=!BOGUS_TRAIT")
    assert resp.status_code == 400
    resp = api.get(f"{q}required=in:A,B", version="1.38")
    assert resp.status_code == 400
    assert "only supported since microversion 1.39" in detail(resp)


def test_list_resources(api: PlacementClient, database: Database) -> None:
    big = create(api, "big")
    small = create(api, "small")
    add_inventory(database, big, "DISK_GB", total=2048, min_unit=10, max_unit=1000, step_size=10)
    add_inventory(database, big, "VCPU", total=8, reserved=2, allocation_ratio=2.0, max_unit=8)
    add_inventory(database, small, "VCPU", total=2, max_unit=2)
    add_allocation(database, big, "VCPU", 9)
    q = "/resource_providers?resources="
    assert names(api.get(f"{q}DISK_GB:500")) == {"big"}
    assert names(api.get(f"{q}DISK_GB:1")) == set()  # below min_unit
    assert names(api.get(f"{q}DISK_GB:1010")) == set()  # above max_unit
    assert names(api.get(f"{q}DISK_GB:11")) == set()  # not a step
    assert names(api.get(f"{q}MEMORY_MB:1")) == set()  # no inventory
    # (8 - 2) * 2.0 = 12 capacity, 9 used: 3 left on big.
    assert names(api.get(f"{q}VCPU:2")) == {"big", "small"}
    assert names(api.get(f"{q}VCPU:3")) == {"big"}
    assert names(api.get(f"{q}VCPU:4")) == set()
    assert names(api.get(f"{q}DISK_GB:500,VCPU:3")) == {"big"}


def test_list_resources_errors(api: PlacementClient) -> None:
    q = "/resource_providers?resources="
    cases = {
        "VCPU": "Badly formed resources parameter. Expected resources query string parameter",
        "VCPU:fred": "Requested resource VCPU expected positive integer amount. Got: fred.",
        "VCPU:-2": "Requested resource VCPU requires amount >= 1. Got: -2.",
        "DISK_GB:500,": "Got: .",
        "": "Got: empty string.",
        "MYMISSINGCLASS:1": "Invalid resource class in resources parameter: "
        "No such resource class MYMISSINGCLASS.",
    }
    for value, text in cases.items():
        resp = api.get(q + value)
        assert resp.status_code == 400, value
        assert text in detail(resp), value


def test_list_checks_in_upstream_order(api: PlacementClient) -> None:
    """An unknown in_tree provider, or required traits nobody has, give an empty
    list before a later unknown name would give a 400, as upstream."""
    create(api, "rp")
    q = "/resource_providers?"
    resp = api.get(f"{q}in_tree={uuid.uuid4()}&required=BOGUS_TRAIT")
    assert names(resp) == set()
    resp = api.get(f"{q}required=HW_CPU_X86_SGX&resources=NOPE:1")
    assert names(resp) == set()
    resp = api.get(f"{q}member_of={AGG_A}&resources=NOPE:1")
    assert names(resp) == set()
    assert api.get(f"{q}resources=NOPE:1").status_code == 400
