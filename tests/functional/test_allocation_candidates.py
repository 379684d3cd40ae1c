"""GET /allocation_candidates over HTTP, on both backends.

Data goes straight into the store (with change-log rows, as every writer
does), and each request must see it at once: the handler catches the index
up with the change log before searching.
"""

from __future__ import annotations

from typing import Any

import pytest

from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.candidate_rows import CloudWriter

AGG1 = "11111111-1111-1111-1111-111111111111"
AGG2 = "22222222-2222-2222-2222-222222222222"
CN1 = "c0000000-0000-0000-0000-000000000001"
CN2 = "c0000000-0000-0000-0000-000000000002"
SS = "5e000000-0000-0000-0000-000000000001"

ASK = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:1024"


@pytest.fixture
def cloud(database: Database) -> CloudWriter:
    return CloudWriter(database)


def two_hosts(cloud: CloudWriter) -> None:
    for name, uuid in (("cn1", CN1), ("cn2", CN2)):
        cloud.provider(name, uuid=uuid)
        cloud.inventory(name, "VCPU", 4)
        cloud.inventory(name, "MEMORY_MB", 4096)
        cloud.inventory(name, "DISK_GB", 100)


def providers_of(body: dict[str, Any]) -> list[set[str]]:
    return [set(ar["allocations"]) for ar in body["allocation_requests"]]


def test_candidates_and_summaries(api: PlacementClient, cloud: CloudWriter) -> None:
    two_hosts(cloud)
    cloud.traits("cn1", "HW_CPU_X86_AVX2")
    resp = api.get(ASK, version="1.34")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-cache"
    assert "last-modified" in resp.headers
    body = resp.json()
    assert sorted(providers_of(body), key=sorted) == [{CN1}, {CN2}]
    for ar in body["allocation_requests"]:
        (uuid,) = ar["allocations"]
        assert ar["allocations"][uuid] == {"resources": {"VCPU": 1, "MEMORY_MB": 1024}}
        assert ar["mappings"] == {"": [uuid]}
    summary = body["provider_summaries"][CN1]
    assert summary == {
        "resources": {
            "VCPU": {"capacity": 4, "used": 0},
            "MEMORY_MB": {"capacity": 4096, "used": 0},
            "DISK_GB": {"capacity": 100, "used": 0},
        },
        "traits": ["HW_CPU_X86_AVX2"],
        "parent_provider_uuid": None,
        "root_provider_uuid": CN1,
    }


def test_shapes_by_microversion(api: PlacementClient, cloud: CloudWriter) -> None:
    two_hosts(cloud)
    old = api.get(ASK, version="1.10").json()
    assert old["allocation_requests"][0]["allocations"][0]["resources"] == {
        "VCPU": 1,
        "MEMORY_MB": 1024,
    }
    assert set(old["allocation_requests"][0]["allocations"][0]["resource_provider"]) == {"uuid"}
    # Before 1.27 only the requested classes are summarised; traits from 1.17.
    assert old["provider_summaries"][CN1] == {
        "resources": {
            "VCPU": {"capacity": 4, "used": 0},
            "MEMORY_MB": {"capacity": 4096, "used": 0},
        }
    }
    v12 = api.get(ASK, version="1.12").json()
    assert set(v12["allocation_requests"][0]) == {"allocations"}
    v17 = api.get(ASK, version="1.17").json()
    assert v17["provider_summaries"][CN1]["traits"] == []
    v33 = api.get(ASK, version="1.33").json()
    assert "mappings" not in v33["allocation_requests"][0]
    assert "root_provider_uuid" in v33["provider_summaries"][CN1]
    assert api.get(ASK, version="1.9").status_code == 404


def test_writes_are_seen_at_once(api: PlacementClient, cloud: CloudWriter) -> None:
    two_hosts(cloud)
    assert len(api.get(ASK).json()["allocation_requests"]) == 2
    consumer = cloud.allocate("cn1", "VCPU", 4)
    body = api.get(ASK).json()
    assert providers_of(body) == [{CN2}]
    assert CN1 not in body["provider_summaries"]
    cloud.free(consumer)
    assert len(api.get(ASK).json()["allocation_requests"]) == 2
    cloud.delete_provider("cn2")
    assert providers_of(api.get(ASK).json()) == [{CN1}]
    cloud.provider("cn3")
    cloud.inventory("cn3", "VCPU", 1)
    cloud.inventory("cn3", "MEMORY_MB", 1024)
    assert len(api.get(ASK).json()["allocation_requests"]) == 2


def test_capacity_rules(api: PlacementClient, cloud: CloudWriter) -> None:
    cloud.provider("cn1", uuid=CN1)
    cloud.inventory("cn1", "VCPU", 4, reserved=1, allocation_ratio=2.0, max_unit=4, step_size=2)
    cloud.allocate("cn1", "VCPU", 2)
    # capacity (4 - 1) * 2 = 6, used 2: 4 more fit, in steps of 2, at most 4 at once.
    for amount, fits in ((2, True), (3, False), (4, True), (6, False)):
        body = api.get(f"/allocation_candidates?resources=VCPU:{amount}").json()
        assert bool(body["allocation_requests"]) is fits, amount
    summary = api.get("/allocation_candidates?resources=VCPU:2").json()["provider_summaries"]
    assert summary[CN1]["resources"]["VCPU"] == {"capacity": 6, "used": 2}


def test_traits_aggregates_and_limit(api: PlacementClient, cloud: CloudWriter) -> None:
    two_hosts(cloud)
    cloud.traits("cn1", "HW_CPU_X86_AVX2", "CUSTOM_GOLD")
    cloud.aggregates("cn1", AGG1)
    cloud.aggregates("cn2", AGG2)

    def hosts(query: str, version: str = "1.39") -> list[set[str]]:
        resp = api.get(ASK + query, version=version)
        assert resp.status_code == 200, resp.text
        return sorted(providers_of(resp.json()), key=sorted)

    assert hosts("&required=HW_CPU_X86_AVX2") == [{CN1}]
    assert hosts("&required=!HW_CPU_X86_AVX2") == [{CN2}]
    assert hosts("&required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE") == [{CN1}]
    assert hosts("&required=HW_CPU_X86_SSE") == []
    assert hosts(f"&member_of={AGG2}") == [{CN2}]
    assert hosts(f"&member_of=in:{AGG1},{AGG2}") == [{CN1}, {CN2}]
    assert hosts(f"&member_of=!{AGG1}") == [{CN2}]
    assert hosts(f"&in_tree={CN2}") == [{CN2}]
    assert hosts("&root_required=CUSTOM_GOLD") == [{CN1}]
    assert hosts("&root_required=!CUSTOM_GOLD") == [{CN2}]
    assert len(hosts("&limit=1")) == 1
    limited = api.get(ASK + "&limit=1").json()
    (only,) = limited["allocation_requests"][0]["allocations"]
    assert set(limited["provider_summaries"]) == {only}


def test_nested_and_granular(api: PlacementClient, cloud: CloudWriter) -> None:
    cloud.provider("cn1", uuid=CN1)
    cloud.inventory("cn1", "VCPU", 8)
    cloud.inventory("cn1", "MEMORY_MB", 8192)
    cloud.provider("pf1", parent="cn1")
    cloud.inventory("pf1", "SRIOV_NET_VF", 2)
    cloud.traits("pf1", "CUSTOM_PHYSNET_A")
    cloud.provider("pf2", parent="cn1")
    cloud.inventory("pf2", "SRIOV_NET_VF", 2)
    cloud.traits("pf2", "CUSTOM_PHYSNET_B")
    pf1, pf2 = cloud.uuids["pf1"], cloud.uuids["pf2"]

    body = api.get("/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:1", version="1.34").json()
    assert sorted(providers_of(body), key=sorted) == sorted([{CN1, pf1}, {CN1, pf2}], key=sorted)
    assert set(body["provider_summaries"]) == {CN1, pf1, pf2}
    assert body["provider_summaries"][pf1]["parent_provider_uuid"] == CN1
    # Before 1.29 one tree cannot serve one request from two providers.
    old = api.get("/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:1", version="1.28")
    assert old.json()["allocation_requests"] == []

    granular = (
        "/allocation_candidates?resources=VCPU:1"
        "&resources_A=SRIOV_NET_VF:1&required_A=CUSTOM_PHYSNET_A"
        "&resources_B=SRIOV_NET_VF:1&required_B=CUSTOM_PHYSNET_B&group_policy=isolate"
    )
    (ar,) = api.get(granular, version="1.34").json()["allocation_requests"]
    assert ar["mappings"] == {"": [CN1], "_A": [pf1], "_B": [pf2]}
    assert ar["allocations"][pf1] == {"resources": {"SRIOV_NET_VF": 1}}

    two_vfs = (
        "/allocation_candidates?resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&group_policy={}"
    )
    isolated = api.get(two_vfs.format("isolate"), version="1.34").json()
    assert len(isolated["allocation_requests"]) == 2  # (pf1, pf2) and (pf2, pf1)
    shared = api.get(two_vfs.format("none"), version="1.34").json()
    # Also both groups from one PF: pf1 twice, pf2 twice, amounts added up.
    assert len(shared["allocation_requests"]) == 4
    doubled = [ar for ar in shared["allocation_requests"] if len(ar["allocations"]) == 1]
    assert all(
        next(iter(ar["allocations"].values())) == {"resources": {"SRIOV_NET_VF": 2}}
        for ar in doubled
    )


def test_same_subtree(api: PlacementClient, cloud: CloudWriter) -> None:
    cloud.provider("cn1", uuid=CN1)
    cloud.inventory("cn1", "VCPU", 8)
    for numa in ("numa0", "numa1"):
        cloud.provider(numa, parent="cn1")
        cloud.traits(numa, "HW_NUMA_ROOT")
        cloud.inventory(numa, "MEMORY_MB", 2048)
        nic = numa + "_nic"
        cloud.provider(nic, parent=numa)
        cloud.inventory(nic, "SRIOV_NET_VF", 4)
    query = (
        "/allocation_candidates?resources_MEM=MEMORY_MB:1024&resources_VF=SRIOV_NET_VF:1"
        "&required_NUMA=HW_NUMA_ROOT&same_subtree=_MEM,_VF,_NUMA&group_policy=none"
    )
    body = api.get(query, version="1.36").json()
    pairs = sorted(
        (
            cloud_name(cloud, ar["mappings"]["_MEM"][0]),
            cloud_name(cloud, ar["mappings"]["_VF"][0]),
            cloud_name(cloud, ar["mappings"]["_NUMA"][0]),
        )
        for ar in body["allocation_requests"]
    )
    assert pairs == [("numa0", "numa0_nic", "numa0"), ("numa1", "numa1_nic", "numa1")]


def cloud_name(cloud: CloudWriter, uuid: str) -> str:
    return next(name for name, u in cloud.uuids.items() if u == uuid)


def test_sharing_provider(api: PlacementClient, cloud: CloudWriter) -> None:
    two_hosts(cloud)
    cloud.provider("ss", uuid=SS)
    cloud.inventory("ss", "DISK_GB", 1000)
    cloud.traits("ss", "MISC_SHARES_VIA_AGGREGATE")
    for name in ("cn1", "ss"):
        cloud.aggregates(name, AGG1)
    body = api.get(ASK + ",DISK_GB:500", version="1.34").json()
    assert sorted(providers_of(body), key=sorted) == [{CN1, SS}]
    (ar,) = body["allocation_requests"]
    assert ar["allocations"][SS] == {"resources": {"DISK_GB": 500}}
    assert sorted(ar["mappings"][""]) == sorted([CN1, SS])
    assert set(body["provider_summaries"]) == {CN1, SS}
    # Only the shared disk: one candidate, whichever tree it is anchored to.
    only_disk = api.get("/allocation_candidates?resources=DISK_GB:500").json()
    assert providers_of(only_disk) == [{SS}]


@pytest.mark.parametrize(
    ("query", "version", "text"),
    [
        ("resources=VCPU:1,CUSTOM_NOPE:1", "1.39", "No such resource class CUSTOM_NOPE"),
        ("resources=VCPU:1&required=CUSTOM_NOPE", "1.39", "No such trait(s): CUSTOM_NOPE."),
        ("resources=VCPU", "1.39", "Badly formed resources parameter"),
        ("resources=VCPU:0", "1.39", "requires amount >= 1"),
        ("resources=VCPU:1&limit=0", "1.39", "Invalid query string parameters"),
        ("resources=VCPU:1&required=in:A,B", "1.38", "only supported since microversion 1.39"),
        ("resources1=VCPU:1&resources2=VCPU:1", "1.39", '"group_policy" parameter is required'),
        ("resources=VCPU:1&bogus=1", "1.39", "Invalid query string parameters"),
        ("required=HW_CPU_X86_SSE", "1.39", "There must be at least one resources"),
        ("resources=VCPU:1&required1=HW_CPU_X86_SSE", "1.25", "orphaned traits keys: required1"),
        ("resources=VCPU:1&member_of=not-a-uuid", "1.39", "contain valid UUID(s)"),
        ("resources=VCPU:1&in_tree=nope", "1.39", "Expected 'in_tree' parameter"),
        ("resources=VCPU:1&root_required=A&root_required=B", "1.39", "may be specified only"),
    ],
)
def test_bad_requests(
    api: PlacementClient, cloud: CloudWriter, query: str, version: str, text: str
) -> None:
    two_hosts(cloud)
    resp = api.get(f"/allocation_candidates?{query}", version=version)
    assert resp.status_code == 400, resp.text
    assert text in resp.json()["errors"][0]["detail"]


def test_unknown_names_after_an_empty_group_are_not_checked(
    api: PlacementClient, cloud: CloudWriter
) -> None:
    # As upstream: group 1 can match nothing, so the search ends before
    # group 2's unknown trait is looked at.
    two_hosts(cloud)
    query = (
        "/allocation_candidates?resources1=VCPU:100&resources2=VCPU:1"
        "&required2=CUSTOM_NOPE&group_policy=none"
    )
    resp = api.get(query)
    assert resp.status_code == 200
    assert resp.json() == {"allocation_requests": [], "provider_summaries": {}}


def test_policy_is_checked(api: PlacementClient) -> None:
    resp = api.get(ASK, headers={"x-auth-token": "someone:someproject", "x-roles": "reader"})
    assert resp.status_code == 403
