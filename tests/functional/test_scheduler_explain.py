"""The answer to "why no host?": each ruled-out host counted under its reason."""

from __future__ import annotations

from typing import Any

from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, create_provider, register

SMALL = {"VCPU": 8, "MEMORY_MB": 2048, "DISK_GB": 100}
BIG = {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}


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


def test_every_host_is_counted_under_the_first_reason_it_fails(api: PlacementClient) -> None:
    for host, inventory in (("small", SMALL), ("elsewhere", BIG), ("off", BIG), ("fits", BIG)):
        register(api, host, provider=create_provider(api, host, inventory))
        _ok(api.post(f"{ROOT}/hosts/{host}/heartbeat"))
    _zone(api, "az1", ["small", "off", "fits"])
    _zone(api, "az2", ["elsewhere"])
    _ok(api.put(f"{ROOT}/hosts/off/service", json={"disabled": True, "disabled_reason": "repair"}))
    request = {"flavor": {"vcpus": 2, "memory_mb": 4096, "root_gb": 10}, "availability_zone": "az1"}

    fits = _ok(api.post(f"{ROOT}/explain", json={"request_spec": request}))
    assert fits["summary"].startswith("1/4 hosts available: ")
    assert [h["host"] for h in fits["ranked"]] == ["fits"]

    request["flavor"]["vcpus"] = 16  # now no host has the VCPUs either
    none = _ok(api.post(f"{ROOT}/explain", json={"request_spec": request}))
    stages = {s["stage"]: s for s in none["stages"]}
    placement = stages["placement"]["reasons"]
    assert placement.get("not in AZ az1") == 1
    assert (
        sum(placement.values())
        + sum(s["removed"] for name, s in stages.items() if name != "placement")
        == 4
    )
    assert none["summary"].startswith("0/4 hosts available: ")
    assert "lacked VCPU" in none["summary"] and "not in AZ az1" in none["summary"]

    request["flavor"]["vcpus"] = 2
    request["flavor"]["memory_mb"] = 8192
    some = _ok(api.post(f"{ROOT}/explain", json={"request_spec": request}))
    reasons = {r: n for s in some["stages"] for r, n in s["reasons"].items()}
    assert reasons.get("lacked MEMORY_MB") == 1, some
    assert reasons.get("not in AZ az1") == 1, some
    # The disabled host goes either to Placement (COMPUTE_STATUS_DISABLED) or to ComputeFilter.
    assert any("disabled" in r or "repair" in r for r in reasons), some
    assert some["hosts_available"] == 1
