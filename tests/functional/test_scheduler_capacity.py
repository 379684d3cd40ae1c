"""GET /scheduler/v1/capacity on both backends: exact counts on a small cloud
built through the API, and the proof that they are right: scheduling that
many instances one after the other through select_destinations lands every
one, and one more finds no host."""

from __future__ import annotations

from typing import Any

import pytest

from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, compute_host, detail, fingerprint

SHAPE = "VCPU:2,MEMORY_MB:4096,DISK_GB:20"
FLAVOR = {"vcpus": 2, "memory_mb": 4096, "root_gb": 20}


def _ok(resp: Any) -> Any:
    assert resp.status_code in (200, 201, 204), resp.text
    return resp.json() if resp.status_code != 204 else None


def _zone(api: PlacementClient, zone: str, hosts: list[str]) -> None:
    agg = _ok(
        api.post(
            f"{ROOT}/aggregates", json={"aggregate": {"name": zone, "availability_zone": zone}}
        )
    )
    for host in hosts:
        _ok(
            api.post(
                f"{ROOT}/aggregates/{agg['aggregate']['id']}/action",
                json={"add_host": {"host": host}},
            )
        )


def _trait(api: PlacementClient, rp: str, trait: str) -> None:
    assert api.put(f"/traits/{trait}").status_code in (201, 204)
    generation = _ok(api.get(f"/resource_providers/{rp}"))["generation"]
    _ok(
        api.put(
            f"/resource_providers/{rp}/traits",
            json={"resource_provider_generation": generation, "traits": [trait]},
        )
    )


@pytest.fixture
def cloud(api: PlacementClient) -> dict[str, str]:
    """Hosts of different sizes; what the shape fits on each is in the comments."""
    hosts = {
        # min(16/2, 32768/4096, 200/20) = 8
        "big": compute_host(api, "big", {"VCPU": 16, "MEMORY_MB": 32768, "DISK_GB": 200}),
        # VCPU (4 * 4.0) / 2 = 8, MEMORY_MB (16384 - 4096) / 4096 = 3, DISK_GB 100 / 20 = 5
        "dense": compute_host(
            api,
            "dense",
            {
                "VCPU": {"total": 4, "allocation_ratio": 4.0},
                "MEMORY_MB": {"total": 16384, "reserved": 4096},
                "DISK_GB": 100,
            },
        ),
        # VCPU max_unit 1: a VCPU:2 instance never fits
        "narrow": compute_host(
            api,
            "narrow",
            {"VCPU": {"total": 32, "max_unit": 1}, "MEMORY_MB": 65536, "DISK_GB": 500},
        ),
        # big enough, but its service is disabled
        "off": compute_host(api, "off", {"VCPU": 16, "MEMORY_MB": 32768, "DISK_GB": 200}),
        # big enough, but forced down
        "down": compute_host(api, "down", {"VCPU": 16, "MEMORY_MB": 32768, "DISK_GB": 200}),
        # min(8/2, 8192/4096, 100/20) = 2, and it has CUSTOM_FAST
        "fast": compute_host(api, "fast", {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100}),
        # too small for the shape, in the default zone
        "tiny": compute_host(api, "tiny", {"VCPU": 1, "MEMORY_MB": 1024, "DISK_GB": 10}),
    }
    _zone(api, "az1", ["big", "dense", "off"])
    _zone(api, "az2", ["narrow", "down", "fast"])
    _ok(api.put(f"{ROOT}/hosts/off/service", json={"disabled": True, "disabled_reason": "repair"}))
    _ok(api.put(f"{ROOT}/hosts/down/service", json={"forced_down": True}))
    _trait(api, hosts["fast"], "CUSTOM_FAST")
    return hosts


def capacity(api: PlacementClient, query: str) -> dict[str, Any]:
    resp = api.get(f"{ROOT}/capacity?{query}")
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def schedule_until_full(api: PlacementClient, spec: dict[str, Any]) -> list[str]:
    """Hosts chosen for one instance per request, until one finds no host."""
    chosen = []
    for _ in range(100):
        resp = api.post(
            f"{ROOT}/select_destinations", json={"request_spec": spec, "return_alternates": False}
        )
        if resp.status_code == 409:
            return chosen
        chosen.append(_ok(resp)["selections"][0][0]["service_host"])
    raise AssertionError("never full")


def test_counts_per_zone_aggregate_and_host(api: PlacementClient, cloud: dict[str, str]) -> None:
    answer = capacity(api, f"resources={SHAPE}")
    assert answer["hosts"] == {
        "big": 8,
        "dense": 3,
        "narrow": 0,
        "off": 0,
        "down": 0,
        "fast": 2,
        "tiny": 0,
    }
    assert answer["total"] == 13
    assert answer["zones"] == {"az1": 11, "az2": 2, "nova": 0}
    assert answer["aggregates"] == {"az1": 11, "az2": 2}
    # The shape itself is the smallest: where it fits nowhere, what is free is stranded.
    stranded = answer["stranded"]
    assert set(stranded["hosts"]) == {"narrow", "off", "down", "tiny"}
    assert stranded["hosts"]["tiny"] == {"VCPU": 1, "MEMORY_MB": 1024, "DISK_GB": 10}
    assert stranded["total"]["VCPU"] == 32 + 16 + 16 + 1


def test_scope_by_zone_aggregate_and_trait(api: PlacementClient, cloud: dict[str, str]) -> None:
    az1 = capacity(api, f"resources={SHAPE}&availability_zone=az1")
    assert az1["total"] == 11
    assert az1["hosts"] == {"big": 8, "dense": 3, "off": 0}
    assert az1["zones"] == {"az1": 11}
    by_agg = capacity(api, f"resources={SHAPE}&aggregate=az2")
    assert by_agg["hosts"] == {"narrow": 0, "down": 0, "fast": 2}
    assert capacity(api, f"resources={SHAPE}&required=CUSTOM_FAST")["hosts"]["fast"] == 2
    assert capacity(api, f"resources={SHAPE}&required=CUSTOM_FAST")["total"] == 2
    assert capacity(api, f"resources={SHAPE}&required=!CUSTOM_FAST")["total"] == 11
    # A smaller `smallest` fits the narrow host's memory but not its VCPU max_unit.
    small = capacity(api, f"resources={SHAPE}&smallest=VCPU:1,MEMORY_MB:512")
    assert set(small["stranded"]["hosts"]) == {"off", "down"}
    assert small["total"] == 13


def test_the_count_is_what_scheduling_finds(api: PlacementClient, cloud: dict[str, str]) -> None:
    fast = {**FLAVOR, "extra_specs": {"trait:CUSTOM_FAST": "required"}}
    assert capacity(api, f"resources={SHAPE}&required=CUSTOM_FAST")["total"] == 2
    assert schedule_until_full(api, {"flavor": fast}) == ["fast", "fast"]
    assert capacity(api, f"resources={SHAPE}&required=CUSTOM_FAST")["total"] == 0

    answer = capacity(api, f"resources={SHAPE}")
    assert answer["total"] == 11
    assert answer["hosts"]["fast"] == 0
    chosen = schedule_until_full(api, {"flavor": FLAVOR})
    assert len(chosen) == 11
    assert {h: chosen.count(h) for h in set(chosen)} == {"big": 8, "dense": 3}
    assert capacity(api, f"resources={SHAPE}")["total"] == 0


def test_zone_count_is_what_scheduling_in_the_zone_finds(
    api: PlacementClient, cloud: dict[str, str]
) -> None:
    assert capacity(api, f"resources={SHAPE}&availability_zone=az2")["total"] == 2
    chosen = schedule_until_full(api, {"flavor": FLAVOR, "availability_zone": "az2"})
    assert chosen == ["fast", "fast"]


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ("", "needs `resources`"),
        ("resources=VCPU:0", "requires amount >= 1"),
        ("resources=VCPU", "Badly formed resources"),
        ("resources=NOPE:1", "No such resource class NOPE"),
        (f"resources={SHAPE}&required=CUSTOM_NOPE", "No such trait"),
        (f"resources={SHAPE}&availability_zone=az9", "availability zone az9"),
        (f"resources={SHAPE}&aggregate=nope", "No host aggregate named nope"),
        (f"resources={SHAPE}&limit=3", "Invalid query string"),
        (f"resources={SHAPE}&smallest=VCPU:x", "expected positive integer"),
        (f"resources={SHAPE}&project=a&project=b", "more than once"),
        ("resources1=VCPU:1&resources2=VCPU:1", "group_policy"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    api: PlacementClient, database: Database, cloud: dict[str, str], query: str, mentions: str
) -> None:
    before = fingerprint(database)
    resp = api.get(f"{ROOT}/capacity?{query}")
    assert resp.status_code == 400, resp.text
    assert mentions in detail(resp)
    assert resp.json()["errors"][0]["status"] == 400
    assert fingerprint(database) == before


def test_non_admin_is_forbidden(api: PlacementClient, cloud: dict[str, str]) -> None:
    member = PlacementClient(api.client, token="bob:p1")
    assert member.get(f"{ROOT}/capacity?resources={SHAPE}").status_code == 403
    service = PlacementClient(api.client, token="nova:service")
    resp = service.get(f"{ROOT}/capacity?resources={SHAPE}", headers={"x-roles": "service"})
    assert resp.status_code == 403
