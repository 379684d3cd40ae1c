"""POST /scheduler/v1/select_destinations and /scheduler/v1/explain, on both
backends: decisions claim in Placement and are recorded; a request that fits
nowhere says why; explain and refused bodies change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, create_provider, detail, fingerprint, register

BIG = {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 200}
SMALL = {"VCPU": 1, "MEMORY_MB": 1024, "DISK_GB": 10}
FLAVOR = {"vcpus": 1, "memory_mb": 512, "root_gb": 5}
HUGE = {"vcpus": 64, "memory_mb": 1_000_000, "root_gb": 5}


@pytest.fixture
def cloud(api: PlacementClient) -> dict[str, str]:
    """Three hosts, host name -> root provider: two big ones, one small."""
    hosts = {}
    for name, inventory in (("cmp1", BIG), ("cmp2", BIG), ("cmp3", SMALL)):
        rp = create_provider(api, name, inventory)
        register(api, name, rp)
        hosts[name] = rp
    return hosts


def select(api: PlacementClient, spec: dict[str, Any], **body: Any) -> Any:
    return api.post(f"{ROOT}/select_destinations", json={"request_spec": spec, **body})


def usages(api: PlacementClient, providers: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, rp in providers.items():
        resp = api.get(f"/resource_providers/{rp}/usages")
        assert resp.status_code == 200, resp.text
        out[name] = resp.json()["usages"]
    return out


def test_select_claims_and_records(
    api: PlacementClient, database: Database, cloud: dict[str, str]
) -> None:
    instance = str(uuid.uuid4())
    resp = select(
        api, {"flavor": FLAVOR, "project_id": "p1", "user_id": "u1"}, instance_uuids=[instance]
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["instance_uuids"] == [instance]
    assert len(body["selections"]) == 1
    chosen = body["selections"][0][0]
    host = chosen["service_host"]
    assert host in cloud
    assert chosen["nodename"] == host
    assert chosen["compute_node_uuid"] == cloud[host]
    # The allocation request comes back as an object, not Nova's JSON text.
    assert set(chosen["allocation_request"]["allocations"]) == {cloud[host]}
    assert chosen["allocation_request_version"]
    allocations = api.get(f"/allocations/{instance}").json()["allocations"]
    assert allocations[cloud[host]]["resources"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 5}
    recorded = api.get(f"{ROOT}/instances/{instance}")
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["instance"]["host"] == host


def test_alternates_are_other_hosts(api: PlacementClient, cloud: dict[str, str]) -> None:
    resp = select(api, {"flavor": FLAVOR, "num_instances": 2})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["instance_uuids"]) == 2
    assert all(uuid.UUID(u) for u in body["instance_uuids"])
    for choices in body["selections"]:
        hosts = [s["service_host"] for s in choices]
        assert len(hosts) > 1
        assert len(set(hosts)) == len(hosts)
        assert set(hosts) <= set(cloud)
    for instance in body["instance_uuids"]:
        assert api.get(f"{ROOT}/instances/{instance}").status_code == 200


def test_without_alternates_one_selection_each(api: PlacementClient, cloud: dict[str, str]) -> None:
    resp = select(api, {"flavor": FLAVOR, "num_instances": 3}, return_alternates=False)
    assert resp.status_code == 200, resp.text
    assert [len(choices) for choices in resp.json()["selections"]] == [1, 1, 1]


def test_no_valid_host_explains_and_claims_nothing(
    api: PlacementClient, database: Database, cloud: dict[str, str]
) -> None:
    before, used = fingerprint(database), usages(api, cloud)
    resp = select(api, {"flavor": HUGE}, instance_uuids=[str(uuid.uuid4())])
    assert resp.status_code == 409, resp.text
    error = resp.json()["errors"][0]
    assert error["code"] == "scheduler.no_valid_host"
    assert "No valid host was found. 0/3 hosts available" in error["detail"]
    explanation = error["explanation"]
    assert explanation["hosts_total"] == 3
    assert explanation["hosts_available"] == 0
    assert explanation["summary"] in error["detail"]
    assert explanation["stages"]
    assert sum(s["removed"] for s in explanation["stages"]) == 3
    # Coded at any microversion: the code tells it from a claim conflict.
    resp = api.post(
        f"{ROOT}/select_destinations", json={"request_spec": {"flavor": HUGE}}, version="1.0"
    )
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["code"] == "scheduler.no_valid_host"
    assert fingerprint(database) == before
    assert usages(api, cloud) == used


def test_explain_is_a_dry_run(
    api: PlacementClient, database: Database, cloud: dict[str, str]
) -> None:
    before, used = fingerprint(database), usages(api, cloud)
    resp = api.post(f"{ROOT}/explain", json={"request_spec": {"flavor": {**FLAVOR, "vcpus": 2}}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["would_fit"] is True
    assert body["hosts_total"] == 3
    # The small host has one VCPU.
    assert body["hosts_available"] == 2
    assert {r["host"] for r in body["ranked"]} == {"cmp1", "cmp2"}
    assert body["summary"].startswith("2/3 hosts available")
    assert body["stages"][0]["hosts_in"] == 3
    assert fingerprint(database) == before
    assert usages(api, cloud) == used

    resp = api.post(f"{ROOT}/explain", json={"request_spec": {"flavor": HUGE}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["would_fit"] is False
    assert resp.json()["summary"].startswith("0/3 hosts available: ")
    assert fingerprint(database) == before


def test_anti_affinity_group_by_uuid_and_by_hint(
    api: PlacementClient, cloud: dict[str, str]
) -> None:
    resp = api.post(
        f"{ROOT}/server_groups",
        json={"server_group": {"name": "web", "policy": "anti-affinity"}},
    )
    assert resp.status_code == 200, resp.text
    group = resp.json()["server_group"]["id"]
    resp = select(api, {"flavor": FLAVOR, "num_instances": 2, "instance_group_uuid": group})
    assert resp.status_code == 200, resp.text
    first = {choices[0]["service_host"] for choices in resp.json()["selections"]}
    assert len(first) == 2
    resp = select(api, {"flavor": FLAVOR, "scheduler_hints": {"group": [group]}})
    assert resp.status_code == 200, resp.text
    third = resp.json()["selections"][0][0]["service_host"]
    assert third not in first
    resp = select(api, {"flavor": FLAVOR, "scheduler_hints": {"group": group}})
    assert resp.status_code == 409, resp.text
    assert resp.json()["errors"][0]["code"] == "scheduler.no_valid_host"


def test_a_request_that_fails_part_way_gives_back_its_claims(
    api: PlacementClient, cloud: dict[str, str]
) -> None:
    resp = api.post(
        f"{ROOT}/server_groups",
        json={"server_group": {"name": "db", "policy": "anti-affinity"}},
    )
    group = resp.json()["server_group"]["id"]
    used = usages(api, cloud)
    # Three hosts cannot take four members of an anti-affinity group.
    resp = select(api, {"flavor": FLAVOR, "num_instances": 4, "instance_group_uuid": group})
    assert resp.status_code == 409, resp.text
    assert resp.json()["errors"][0]["code"] == "scheduler.no_valid_host"
    assert usages(api, cloud) == used
    assert api.get(f"{ROOT}/instances").json()["instances"] == []
    assert api.get(f"{ROOT}/server_groups/{group}").json()["server_group"]["members"] == []


def test_unknown_or_conflicting_group_is_400(
    api: PlacementClient, database: Database, cloud: dict[str, str]
) -> None:
    before = fingerprint(database)
    unknown = str(uuid.uuid4())
    for spec in (
        {"flavor": FLAVOR, "instance_group_uuid": unknown},
        {"flavor": FLAVOR, "scheduler_hints": {"group": unknown}},
    ):
        resp = select(api, spec)
        assert resp.status_code == 400, resp.text
        assert f"Unknown server group {unknown}" in detail(resp)
        resp = api.post(f"{ROOT}/explain", json={"request_spec": spec})
        assert resp.status_code == 400, resp.text
    resp = select(
        api,
        {
            "flavor": FLAVOR,
            "instance_group_uuid": unknown,
            "scheduler_hints": {"group": str(uuid.uuid4())},
        },
    )
    assert resp.status_code == 400
    assert "name different server groups" in detail(resp)
    assert fingerprint(database) == before


def test_availability_zone(api: PlacementClient, database: Database, cloud: dict[str, str]) -> None:
    resp = api.post(
        f"{ROOT}/aggregates", json={"aggregate": {"name": "a1", "availability_zone": "az1"}}
    )
    assert resp.status_code == 200, resp.text
    aggregate = resp.json()["aggregate"]["id"]
    resp = api.post(f"{ROOT}/aggregates/{aggregate}/action", json={"add_host": {"host": "cmp2"}})
    assert resp.status_code == 200, resp.text
    resp = select(api, {"flavor": FLAVOR, "availability_zone": "az1"})
    assert resp.status_code == 200, resp.text
    chosen = resp.json()["selections"][0]
    assert [s["service_host"] for s in chosen] == ["cmp2"]
    assert chosen[0]["availability_zone"] == "az1"
    # The default zone holds the hosts of no zone.
    resp = api.post(
        f"{ROOT}/explain", json={"request_spec": {"flavor": FLAVOR, "availability_zone": "nova"}}
    )
    assert resp.status_code == 200, resp.text
    # A zone nothing names is refused, as Nova's API refuses it, before any work.
    before = fingerprint(database)
    for path in ("select_destinations", "explain"):
        resp = api.post(
            f"{ROOT}/{path}", json={"request_spec": {"flavor": FLAVOR, "availability_zone": "az9"}}
        )
        assert resp.status_code == 400, resp.text
        assert "The requested availability zone az9 is not available." in detail(resp)
    assert fingerprint(database) == before


def _spec(**extra: Any) -> dict[str, Any]:
    return {"flavor": FLAVOR, **extra}


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (
        "uuids-mismatch",
        {"request_spec": _spec(num_instances=2), "instance_uuids": [str(uuid.uuid4())]},
        "instance_uuids has 1 item(s) but request_spec.num_instances is 2",
    ),
    ("num-0", {"request_spec": _spec(num_instances=0)}, "num_instances"),
    ("num-1001", {"request_spec": _spec(num_instances=1001)}, "num_instances"),
    ("num-string", {"request_spec": _spec(num_instances="2")}, "num_instances"),
    ("unknown-top", {"request_spec": _spec(), "dry_run": True}, "dry_run"),
    ("unknown-spec", {"request_spec": _spec(flavour={})}, "flavour"),
    ("unknown-flavor", {"request_spec": {"flavor": {**FLAVOR, "gpus": 1}}}, "gpus"),
    ("no-flavor", {"request_spec": {"num_instances": 1}}, "flavor"),
    ("no-spec", {"instance_uuids": [str(uuid.uuid4())]}, "request_spec"),
    ("vcpus-string", {"request_spec": {"flavor": {**FLAVOR, "vcpus": "2"}}}, "vcpus"),
    ("vcpus-0", {"request_spec": {"flavor": {**FLAVOR, "vcpus": 0}}}, "vcpus"),
    ("memory-huge", {"request_spec": {"flavor": {**FLAVOR, "memory_mb": 2**31}}}, "memory_mb"),
    ("alternates-string", {"request_spec": _spec(), "return_alternates": "yes"}, "yes"),
    ("uuid-bad", {"request_spec": _spec(), "instance_uuids": ["not-a-uuid"]}, "not-a-uuid"),
    (
        "uuid-repeated",
        {"request_spec": _spec(num_instances=2), "instance_uuids": [str(uuid.UUID(int=1))] * 2},
        "non-unique",
    ),
    (
        "hint-too-many-values",
        {"request_spec": _spec(scheduler_hints={"cell": ["x"] * 101})},
        "is too long",
    ),
    (
        "hint-group-not-uuid",
        {"request_spec": _spec(scheduler_hints={"group": "web"})},
        "group",
    ),
    (
        "extra-specs-too-many",
        {"request_spec": {"flavor": {**FLAVOR, "extra_specs": {f"k{i}": "v" for i in range(201)}}}},
        "extra_specs",
    ),
    ("project-too-long", {"request_spec": _spec(project_id="p" * 256)}, "project_id"),
    ("az-with-colon", {"request_spec": _spec(availability_zone="az1:cmp1")}, "availability_zone"),
    (
        "force-hosts-too-many",
        {"request_spec": _spec(force_hosts=[f"h{i}" for i in range(101)])},
        "force_hosts",
    ),
    ("spec-not-object", {"request_spec": [FLAVOR]}, "request_spec"),
]


@pytest.mark.parametrize(
    ("body", "mentions"), [(b, m) for _, b, m in BAD_BODIES], ids=[i for i, _, _ in BAD_BODIES]
)
def test_bad_bodies_are_400_and_change_nothing(
    api: PlacementClient,
    database: Database,
    cloud: dict[str, str],
    body: dict[str, Any],
    mentions: str,
) -> None:
    before, used = fingerprint(database), usages(api, cloud)
    resp = api.post(f"{ROOT}/select_destinations", json=body)
    assert resp.status_code == 400, resp.text
    assert mentions in detail(resp)
    assert fingerprint(database) == before
    assert usages(api, cloud) == used


def test_explain_refuses_what_select_refuses(api: PlacementClient, database: Database) -> None:
    before = fingerprint(database)
    for body in (
        {"request_spec": _spec(num_instances=0)},
        {"request_spec": _spec(), "instance_uuids": [str(uuid.uuid4())]},
        {"request_spec": {"flavor": {**FLAVOR, "vcpus": -1}}},
    ):
        resp = api.post(f"{ROOT}/explain", json=body)
        assert resp.status_code == 400, resp.text
    assert fingerprint(database) == before


def test_malformed_json_and_media_type(api: PlacementClient, database: Database) -> None:
    before = fingerprint(database)
    resp = api.post(
        f"{ROOT}/select_destinations",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    resp = api.post(
        f"{ROOT}/select_destinations",
        content=b'{"request_spec": {}}',
        headers={"content-type": "text/plain"},
    )
    assert resp.status_code == 415
    assert fingerprint(database) == before


def test_non_admin_is_forbidden(api: PlacementClient, cloud: dict[str, str]) -> None:
    member = PlacementClient(api.client, token="bob:p1")
    assert select(member, {"flavor": FLAVOR}).status_code == 403
    resp = member.post(f"{ROOT}/explain", json={"request_spec": {"flavor": FLAVOR}})
    assert resp.status_code == 403
