"""Flavor extra specs and image properties through POST
/scheduler/v1/select_destinations: what Nova 34's ResourceRequest and request
filters ask of Placement is what corral claims (mixed CPU policy, the image's
traits_required, the VCPU fallback of a dedicated request), and a request Nova
would fail is refused with Nova's reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from corral.conf import new_conf
from corral.service.appfactory import build_app
from corral.service.profiles import apply_profile
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, create_provider, register

PINNED = {"VCPU": 8, "PCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100}
FLAVOR = {"vcpus": 4, "memory_mb": 512, "root_gb": 5}


def set_traits(api: PlacementClient, rp: str, *traits: str) -> None:
    for trait in traits:
        if trait.startswith("CUSTOM_"):
            assert api.put(f"/traits/{trait}").status_code in (201, 204)
    generation = api.get(f"/resource_providers/{rp}").json()["generation"]
    resp = api.put(
        f"/resource_providers/{rp}/traits",
        json={"resource_provider_generation": generation, "traits": list(traits)},
    )
    assert resp.status_code == 200, resp.text


@pytest.fixture
def cloud(api: PlacementClient) -> dict[str, str]:
    """Two hosts with PCPU; only gold1 has CUSTOM_GOLD."""
    hosts = {}
    for name in ("gold1", "plain1"):
        rp = create_provider(api, name, PINNED)
        register(api, name, rp)
        hosts[name] = rp
    set_traits(api, hosts["gold1"], "CUSTOM_GOLD")
    return hosts


def select(api: PlacementClient, spec: dict[str, Any]) -> Any:
    instance = str(uuid.uuid4())
    resp = api.post(
        f"{ROOT}/select_destinations", json={"request_spec": spec, "instance_uuids": [instance]}
    )
    return resp, instance


def test_mixed_cpu_policy_claims_vcpu_and_pcpu(api: PlacementClient, cloud: dict[str, str]) -> None:
    flavor = {**FLAVOR, "extra_specs": {"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0"}}
    resp, instance = select(api, {"flavor": flavor})
    assert resp.status_code == 200, resp.text
    host = resp.json()["selections"][0][0]["service_host"]
    allocations = api.get(f"/allocations/{instance}").json()["allocations"]
    assert allocations[cloud[host]]["resources"] == {
        "VCPU": 1,
        "PCPU": 3,
        "MEMORY_MB": 512,
        "DISK_GB": 5,
    }


def test_image_traits_required_pick_the_host_with_them(
    api: PlacementClient, cloud: dict[str, str]
) -> None:
    for _ in range(2):  # gold1 has room for two
        spec = {"flavor": FLAVOR, "image": {"properties": {"traits_required": ["CUSTOM_GOLD"]}}}
        resp, _instance = select(api, spec)
        assert resp.status_code == 200, resp.text
        assert resp.json()["selections"][0][0]["service_host"] == "gold1"


def test_request_nova_would_fail_is_refused_with_its_reason(
    api: PlacementClient, cloud: dict[str, str]
) -> None:
    flavor = {**FLAVOR, "extra_specs": {"hw:tpm_version": "2.0", "hw:tpm_secret_security": "x"}}
    resp, instance = select(api, {"flavor": flavor})
    assert resp.status_code == 409, resp.text
    error = resp.json()["errors"][0]
    assert error["code"] == "scheduler.no_valid_host"
    assert "TPM secret security 'x' is not supported." in error["detail"]
    flavor = {**FLAVOR, "extra_specs": {"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-9"}}
    resp, _instance = select(api, {"flavor": flavor})
    assert resp.status_code == 409, resp.text
    assert "hw:cpu_dedicated_mask" in resp.json()["errors"][0]["detail"]
    assert api.get(f"/allocations/{instance}").json()["allocations"] == {}


LEGACY = {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100}  # a vcpu_pin_set host: no PCPU
DEDICATED = {**FLAVOR, "extra_specs": {"hw:cpu_policy": "dedicated"}}


def test_dedicated_falls_back_to_vcpu_on_hosts_without_pcpu(api: PlacementClient) -> None:
    rp = create_provider(api, "legacy1", LEGACY)
    register(api, "legacy1", rp)
    resp, instance = select(api, {"flavor": DEDICATED})
    assert resp.status_code == 200, resp.text
    allocations = api.get(f"/allocations/{instance}").json()["allocations"]
    assert allocations[rp]["resources"] == {"VCPU": 4, "MEMORY_MB": 512, "DISK_GB": 5}


def test_pcpu_candidates_come_before_the_fallback(api: PlacementClient) -> None:
    rp = create_provider(api, "both1", PINNED)
    register(api, "both1", rp)
    resp, instance = select(api, {"flavor": DEDICATED})
    assert resp.status_code == 200, resp.text
    allocations = api.get(f"/allocations/{instance}").json()["allocations"]
    assert allocations[rp]["resources"] == {"PCPU": 4, "MEMORY_MB": 512, "DISK_GB": 5}


def test_disable_fallback_pcpu_query(database_url: str) -> None:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    overrides = apply_profile(conf, "default")  # as tests.conftest.make_client
    conf.set_override("disable_fallback_pcpu_query", True, group="workarounds")
    with TestClient(build_app(conf, database_url, policy_overrides=overrides)) as client:
        api = PlacementClient(client)
        rp = create_provider(api, "legacy1", LEGACY)
        register(api, "legacy1", rp)
        resp, _instance = select(api, {"flavor": DEDICATED})
        assert resp.status_code == 409, resp.text
        assert "lacked PCPU" in resp.json()["errors"][0]["detail"]
