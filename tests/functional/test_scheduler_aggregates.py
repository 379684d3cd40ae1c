"""Host aggregates through /scheduler/v1/aggregates (Nova's os-aggregates), and
their mirror in Placement aggregates, on both backends."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from corral.compute import aggregates as compute_aggregates
from corral.compute.instances import PlacedInstance, record_placed
from corral.placement import aggregates as placement_aggregates
from corral.store import host_changes
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import (
    ROOT,
    create_provider,
    detail,
    fingerprint,
    log_kinds,
    provider_aggregates,
    register,
)


def create(api: PlacementClient, name: str, zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    resp = api.post(f"{ROOT}/aggregates", json={"aggregate": body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["aggregate"])


def act(api: PlacementClient, agg: dict[str, Any], action: str, value: Any) -> Any:
    return api.post(f"{ROOT}/aggregates/{agg['id']}/action", json={action: value})


def test_create_show_update_delete(api: PlacementClient, database: Database) -> None:
    agg = create(api, "rack1", "az1")
    assert agg["availability_zone"] == "az1"
    assert agg["metadata"] == {"availability_zone": "az1"}
    assert agg["hosts"] == [] and uuid.UUID(agg["uuid"])
    assert log_kinds(database)[-1] == host_changes.HOST_AGGREGATES
    by_uuid = api.get(f"{ROOT}/aggregates/{agg['uuid']}").json()["aggregate"]
    assert by_uuid["id"] == agg["id"]

    resp = api.put(f"{ROOT}/aggregates/{agg['id']}", json={"aggregate": {"name": "rack-one"}})
    assert resp.status_code == 200
    assert resp.json()["aggregate"]["name"] == "rack-one"
    resp = api.put(
        f"{ROOT}/aggregates/{agg['id']}", json={"aggregate": {"availability_zone": "az2"}}
    )
    assert resp.json()["aggregate"]["availability_zone"] == "az2"
    listed = api.get(f"{ROOT}/aggregates").json()["aggregates"]
    assert [a["name"] for a in listed] == ["rack-one"]

    assert api.delete(f"{ROOT}/aggregates/{agg['id']}").status_code == 204
    assert api.get(f"{ROOT}/aggregates/{agg['id']}").status_code == 404
    assert api.delete(f"{ROOT}/aggregates/{agg['id']}").status_code == 404


def test_names_are_unique(api: PlacementClient, database: Database) -> None:
    create(api, "rack1")
    other = create(api, "rack2")
    before = fingerprint(database)
    resp = api.post(f"{ROOT}/aggregates", json={"aggregate": {"name": "rack1"}})
    assert resp.status_code == 409
    assert "rack1 already exists" in detail(resp)
    resp = api.put(f"{ROOT}/aggregates/{other['id']}", json={"aggregate": {"name": "rack1"}})
    assert resp.status_code == 409
    assert fingerprint(database) == before


def test_metadata_set_and_removed(api: PlacementClient) -> None:
    agg = create(api, "rack1")
    resp = act(api, agg, "set_metadata", {"metadata": {"ssd": "true", "io_ops": "8"}})
    assert resp.status_code == 200
    assert resp.json()["aggregate"]["metadata"] == {"ssd": "true", "io_ops": "8"}
    resp = api.put(f"{ROOT}/aggregates/{agg['id']}/metadata", json={"metadata": {"ssd": None}})
    assert resp.status_code == 200
    assert resp.json()["aggregate"]["metadata"] == {"io_ops": "8"}


def test_add_and_remove_host_mirror_to_placement(api: PlacementClient, database: Database) -> None:
    rp = create_provider(api, "cmp1")
    register(api, "cmp1", rp)
    other = str(uuid.uuid4())  # set on the provider by someone else: kept
    api.put(
        f"/resource_providers/{rp}/aggregates",
        json={"aggregates": [other], "resource_provider_generation": 0},
    )
    agg = create(api, "rack1")
    resp = act(api, agg, "add_host", {"host": "cmp1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["aggregate"]["hosts"] == ["cmp1"]
    assert provider_aggregates(api, rp) == {other, agg["uuid"]}

    resp = act(api, agg, "add_host", {"host": "cmp1"})
    assert resp.status_code == 409

    resp = act(api, agg, "remove_host", {"host": "cmp1"})
    assert resp.status_code == 200
    assert resp.json()["aggregate"]["hosts"] == []
    assert provider_aggregates(api, rp) == {other}
    resp = act(api, agg, "remove_host", {"host": "cmp1"})
    assert resp.status_code == 404


def test_unknown_hosts_cannot_join(api: PlacementClient, database: Database) -> None:
    agg = create(api, "rack1")
    before = fingerprint(database)
    resp = act(api, agg, "add_host", {"host": "ghost"})
    assert resp.status_code == 404
    assert "ghost could not be found" in detail(resp)
    assert act(api, agg, "remove_host", {"host": "ghost"}).status_code == 404
    assert fingerprint(database) == before


def test_non_empty_aggregates_are_not_deleted(api: PlacementClient) -> None:
    register(api, "cmp1")
    agg = create(api, "rack1")
    act(api, agg, "add_host", {"host": "cmp1"})
    resp = api.delete(f"{ROOT}/aggregates/{agg['id']}")
    assert resp.status_code == 400
    assert "not empty" in detail(resp)


def test_a_provider_placement_lacks_is_mirrored_when_registered(api: PlacementClient) -> None:
    rp = str(uuid.uuid4())
    register(api, "cmp1", rp)
    agg = create(api, "rack1")
    assert act(api, agg, "add_host", {"host": "cmp1"}).status_code == 200
    # Now Placement learns of the provider and the node is registered again.
    resp = api.post("/resource_providers", json={"name": "cmp1", "uuid": rp})
    assert resp.status_code == 200
    register(api, "cmp1", rp)
    assert provider_aggregates(api, rp) == {agg["uuid"]}


def test_concurrent_joins_lose_no_aggregate(api: PlacementClient, database: Database) -> None:
    rp = create_provider(api, "cmp1")
    register(api, "cmp1", rp)
    aggs = [create(api, f"rack{i}") for i in range(8)]

    def join(agg: dict[str, Any]) -> None:
        compute_aggregates.add_host(database, agg["id"], "cmp1")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(join, aggs))
    assert provider_aggregates(api, rp) == {a["uuid"] for a in aggs}
    # Every join went through the generation check: one bump each.
    assert placement_aggregates.provider_aggregates(database, rp).generation == 8


def test_availability_zone_rules(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    register(api, "cmp2")
    az1 = create(api, "zone1", "az1")
    az2 = create(api, "zone2", "az2")
    plain = create(api, "plain")
    assert act(api, az1, "add_host", {"host": "cmp1"}).status_code == 200
    assert act(api, plain, "add_host", {"host": "cmp1"}).status_code == 200

    # A host is in one zone at most: joining another zone is a conflict ...
    before = fingerprint(database)
    resp = act(api, az2, "add_host", {"host": "cmp1"})
    assert resp.status_code == 409
    assert "already in availability zone(s) ['az1']" in detail(resp)
    # ... and so is giving one of its aggregates another zone (400, as Nova).
    resp = act(api, plain, "set_metadata", {"metadata": {"availability_zone": "az2"}})
    assert resp.status_code == 400
    resp = api.put(
        f"{ROOT}/aggregates/{plain['id']}", json={"aggregate": {"availability_zone": "az2"}}
    )
    assert resp.status_code == 400
    # An empty zone name is refused.
    resp = act(api, plain, "set_metadata", {"metadata": {"availability_zone": None}})
    assert resp.status_code == 400
    assert "empty named availability zone" in detail(resp)
    assert fingerprint(database) == before

    # The same zone is fine.
    resp = act(api, plain, "set_metadata", {"metadata": {"availability_zone": "az1"}})
    assert resp.status_code == 200

    # The zone of hosts that run instances cannot change.
    assert act(api, plain, "remove_host", {"host": "cmp1"}).status_code == 200
    record_placed(database, [PlacedInstance(str(uuid.uuid4()), "cmp1", "cmp1", "p", "u")])
    resp = api.put(
        f"{ROOT}/aggregates/{az1['id']}", json={"aggregate": {"availability_zone": "az9"}}
    )
    assert resp.status_code == 400
    assert "contain instances" in detail(resp)


BAD_BODIES: list[tuple[str, str, str, Any]] = [
    ("POST", "", "long name", {"aggregate": {"name": "n" * 256}}),
    ("POST", "", "leading space", {"aggregate": {"name": " n"}}),
    ("POST", "", "no name", {"aggregate": {"availability_zone": "az"}}),
    ("POST", "", "zone with colon", {"aggregate": {"name": "n", "availability_zone": "a:b"}}),
    ("POST", "", "extra key", {"aggregate": {"name": "n", "x": 1}}),
    ("POST", "", "bare", {"name": "n"}),
    ("PUT", "/{id}", "empty update", {"aggregate": {}}),
    ("POST", "/{id}/action", "unknown action", {"explode": {}}),
    ("POST", "/{id}/action", "two actions", {"add_host": {"host": "a"}, "remove_host": {}}),
    ("POST", "/{id}/action", "bad host", {"add_host": {"host": "a b"}}),
    ("POST", "/{id}/action", "bad key", {"set_metadata": {"metadata": {"a/b": "c"}}}),
    ("POST", "/{id}/action", "long value", {"set_metadata": {"metadata": {"a": "v" * 256}}}),
    (
        "POST",
        "/{id}/action",
        "too many keys",
        {"set_metadata": {"metadata": {f"k{i}": "v" for i in range(129)}}},
    ),
    ("PUT", "/{id}/metadata", "metadata not a map", {"metadata": ["a"]}),
    ("PUT", "/{id}/metadata", "value not a string", {"metadata": {"a": 1}}),
]


@pytest.mark.parametrize(
    ("method", "path", "case", "body"), BAD_BODIES, ids=[b[2] for b in BAD_BODIES]
)
def test_bad_bodies_are_400_and_change_nothing(
    api: PlacementClient, database: Database, method: str, path: str, case: str, body: Any
) -> None:
    agg = create(api, "rack1")
    before = fingerprint(database)
    shown = api.get(f"{ROOT}/aggregates/{agg['id']}").json()
    resp = api.request(method, f"{ROOT}/aggregates" + path.format(id=agg["id"]), json=body)
    assert resp.status_code == 400, resp.text
    assert fingerprint(database) == before
    assert api.get(f"{ROOT}/aggregates/{agg['id']}").json() == shown


@pytest.mark.parametrize("ref", ["abc", "0", "99999999999", "1.5", "not-a-uuid-at-all"])
def test_bad_aggregate_refs(api: PlacementClient, ref: str) -> None:
    resp = api.get(f"{ROOT}/aggregates/{ref}")
    assert resp.status_code == 400
    assert "Invalid aggregate in the path" in detail(resp)


def test_non_admin_is_forbidden(api: PlacementClient, database: Database) -> None:
    agg = create(api, "rack1")
    member = PlacementClient(api.client, token="bob:p1")
    before = fingerprint(database)
    assert member.get(f"{ROOT}/aggregates").status_code == 403
    assert member.post(f"{ROOT}/aggregates", json={"aggregate": {"name": "x"}}).status_code == 403
    resp = member.post(
        f"{ROOT}/aggregates/{agg['id']}/action", json={"set_metadata": {"metadata": {}}}
    )
    assert resp.status_code == 403
    assert fingerprint(database) == before
