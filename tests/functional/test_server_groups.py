"""Server groups through /scheduler/v1/server_groups (Nova's os-server-groups),
and their members, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from corral.compute.instances import PlacedInstance, record_placed
from corral.errors import Conflict
from corral.store import host_changes
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, detail, fingerprint, log_kinds, register


def create(api: PlacementClient, name: str, policy: str, **extra: Any) -> dict[str, Any]:
    resp = api.post(
        f"{ROOT}/server_groups", json={"server_group": {"name": name, "policy": policy, **extra}}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["server_group"])


@pytest.mark.parametrize(
    "policy", ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
)
def test_create_show_delete(api: PlacementClient, database: Database, policy: str) -> None:
    group = create(api, "web", policy)
    assert group["policy"] == policy
    assert group["members"] == [] and group["rules"] == {}
    # Owned by the caller, as Nova.
    assert group["project_id"] == "admin" and group["user_id"] == "admin"
    assert log_kinds(database)[-1] == host_changes.SERVER_GROUPS
    shown = api.get(f"{ROOT}/server_groups/{group['id']}").json()["server_group"]
    assert shown == group
    assert api.delete(f"{ROOT}/server_groups/{group['id']}").status_code == 204
    assert api.get(f"{ROOT}/server_groups/{group['id']}").status_code == 404
    assert api.delete(f"{ROOT}/server_groups/{group['id']}").status_code == 404


def test_anti_affinity_rules(api: PlacementClient) -> None:
    group = create(api, "web", "anti-affinity", rules={"max_server_per_host": 3})
    assert group["rules"] == {"max_server_per_host": 3}
    # Nova's positive_integer also takes the digits as a string.
    group = create(api, "db", "anti-affinity", rules={"max_server_per_host": "2"})
    assert group["rules"] == {"max_server_per_host": 2}
    resp = api.post(
        f"{ROOT}/server_groups",
        json={
            "server_group": {"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}
        },
    )
    assert resp.status_code == 400
    assert "Only anti-affinity policy supports rules" in detail(resp)


def test_list_filters_and_pages(api: PlacementClient) -> None:
    for i in range(3):
        create(api, f"g{i}", "affinity")
    create(api, "theirs", "affinity", project_id="p2", user_id="u2")
    names = [g["name"] for g in api.get(f"{ROOT}/server_groups").json()["server_groups"]]
    assert names == ["g0", "g1", "g2", "theirs"]
    page = api.get(f"{ROOT}/server_groups?limit=2&offset=1").json()["server_groups"]
    assert [g["name"] for g in page] == ["g1", "g2"]
    mine = api.get(f"{ROOT}/server_groups?project_id=p2").json()["server_groups"]
    assert [g["name"] for g in mine] == ["theirs"]


def test_members_join_as_instances_land(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    group = create(api, "web", "anti-affinity")
    other = create(api, "db", "affinity")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    record_placed(database, [PlacedInstance(first, "cmp1", "cmp1", "p", "u")], group["id"])
    record_placed(database, [PlacedInstance(second, "cmp1", "cmp1", "p", "u")], group["id"])
    shown = api.get(f"{ROOT}/server_groups/{group['id']}").json()["server_group"]
    assert shown["members"] == [first, second]

    # One group per instance, as Nova: the whole record is refused.
    before = fingerprint(database)
    with pytest.raises(Conflict):
        record_placed(
            database,
            [PlacedInstance(str(uuid.uuid4()), "cmp1", "cmp1", "p", "u"),
             PlacedInstance(first, "cmp1", "cmp1", "p", "u")],
            other["id"],
        )  # fmt: skip
    assert fingerprint(database) == before

    # A deleted instance leaves its group.
    assert api.delete(f"{ROOT}/instances/{first}").status_code == 204
    shown = api.get(f"{ROOT}/server_groups/{group['id']}").json()["server_group"]
    assert shown["members"] == [second]


def test_deleting_a_group_keeps_its_instances(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    group = create(api, "web", "affinity")
    member = str(uuid.uuid4())
    record_placed(database, [PlacedInstance(member, "cmp1", "cmp1", "p", "u")], group["id"])
    assert api.delete(f"{ROOT}/server_groups/{group['id']}").status_code == 204
    assert api.get(f"{ROOT}/instances/{member}").status_code == 200
    assert fingerprint(database)["server_group_members"] == 0


BAD_BODIES: list[tuple[str, Any]] = [
    ("long name", {"server_group": {"name": "n" * 256, "policy": "affinity"}}),
    ("blank name", {"server_group": {"name": " ", "policy": "affinity"}}),
    ("no policy", {"server_group": {"name": "n"}}),
    ("bad policy", {"server_group": {"name": "n", "policy": "spread"}}),
    ("old policies list", {"server_group": {"name": "n", "policies": ["affinity"]}}),
    (
        "unknown rule",
        {"server_group": {"name": "n", "policy": "anti-affinity", "rules": {"x": 1}}},
    ),
    (
        "zero per host",
        {
            "server_group": {
                "name": "n",
                "policy": "anti-affinity",
                "rules": {"max_server_per_host": 0},
            }
        },
    ),
    (
        "digits too many",
        {
            "server_group": {
                "name": "n",
                "policy": "anti-affinity",
                "rules": {"max_server_per_host": "9999999999"},
            }
        },
    ),
    (
        "long project",
        {"server_group": {"name": "n", "policy": "affinity", "project_id": "p" * 256}},
    ),
    ("bare", {"name": "n", "policy": "affinity"}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_are_400_and_change_nothing(
    api: PlacementClient, database: Database, case: str, body: Any
) -> None:
    before = fingerprint(database)
    resp = api.post(f"{ROOT}/server_groups", json=body)
    assert resp.status_code == 400, resp.text
    assert fingerprint(database) == before


@pytest.mark.parametrize(
    "path", ["/server_groups/not-a-uuid", "/server_groups?limit=0", "/server_groups?offset=-1",
             "/server_groups?project_id=" + "p" * 256, "/server_groups?sort=name"],
)  # fmt: skip
def test_bad_paths_and_queries(api: PlacementClient, path: str) -> None:
    assert api.get(ROOT + path).status_code == 400


def test_a_caller_without_a_project_must_name_one(api: PlacementClient, database: Database) -> None:
    body: dict[str, Any] = {"server_group": {"name": "n", "policy": "affinity"}}
    before = fingerprint(database)
    resp = api.post(f"{ROOT}/server_groups", json=body, headers={"x-project-id": ""})
    assert resp.status_code == 400
    assert "carries no project" in detail(resp)
    assert fingerprint(database) == before
    body["server_group"].update(project_id="p9", user_id="u9")
    resp = api.post(f"{ROOT}/server_groups", json=body, headers={"x-project-id": ""})
    assert resp.status_code == 200
    group = resp.json()["server_group"]
    assert (group["project_id"], group["user_id"]) == ("p9", "u9")


def test_non_admin_is_forbidden(api: PlacementClient, database: Database) -> None:
    member = PlacementClient(api.client, token="bob:p1")
    before = fingerprint(database)
    resp = member.post(
        f"{ROOT}/server_groups", json={"server_group": {"name": "n", "policy": "affinity"}}
    )
    assert resp.status_code == 403
    assert member.get(f"{ROOT}/server_groups").status_code == 403
    assert fingerprint(database) == before
