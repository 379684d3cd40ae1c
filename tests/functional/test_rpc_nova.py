"""Nova's own scheduler client against `corral serve`, over the local RabbitMQ.

A separate virtualenv holds nova 34.0.0 from PyPI (created once, cached under
~/.cache/corral-nova34-venv, or CORRAL_NOVA_VENV). Each test starts `corral
serve` with one RPC worker on a topic of its own, registers hosts through
corral's HTTP API, and runs tests/functional/nova_scheduler_client.py in the
Nova virtualenv: it builds a RequestSpec from Nova's objects and calls
nova.scheduler.rpcapi.SchedulerAPI().select_destinations, as nova-conductor
does. Hostile messages go through the same client.

Without RabbitMQ on 127.0.0.1:5672 (or without PyPI to build the Nova
virtualenv) the tests skip, unless CORRAL_REQUIRE_SERVICES=1, where that is a
failure.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RABBIT_URL
from tests.functional.test_launcher import HEADERS, Service

CLIENT = Path(__file__).with_name("nova_scheduler_client.py")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"
MAX_MESSAGE_BYTES = 65_536

HOST_INVENTORY = {"VCPU": 8, "MEMORY_MB": 16_384, "DISK_GB": 200}


class RpcService:
    """`corral serve` with one API and one RPC worker on a topic of its own."""

    def __init__(self, tmp: Path, database_url: str, rabbit_url: str, extra_conf: str = "") -> None:
        self.topic = f"corral_test_{uuid.uuid4().hex[:12]}"
        conf = (
            f"[DEFAULT]\ntransport_url = {rabbit_url}\nhost = corral-test\n"
            "[api]\nauth_strategy = noauth2\n"
            f"[scheduler]\nworkers = 1\ntopic = {self.topic}\n"
            f"max_rpc_message_bytes = {MAX_MESSAGE_BYTES}\n"
            f"{extra_conf}"
        )
        self.service = Service(tmp, database_url, conf, workers=1)
        self.service.wait_log(rf"RPC server listening: exchange nova, topic {self.topic}", 120)
        self.http = httpx.Client(base_url=self.service.url, headers=HEADERS, timeout=30)

    def rpc_worker_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"rpc worker 1 started \(pid (\d+)\)", self.text())]

    def text(self) -> str:
        return self.service.text()

    def add_host(
        self,
        host: str,
        inventory: Mapping[str, int | Mapping[str, Any]] = HOST_INVENTORY,
        **node: Any,
    ) -> str:
        resp = self.http.post("/resource_providers", json={"name": host})
        assert resp.status_code == 200, resp.text
        rp = str(resp.json()["uuid"])
        resp = self.http.put(
            f"/resource_providers/{rp}/inventories",
            json={
                "resource_provider_generation": 0,
                "inventories": {
                    rc: dict(v) if isinstance(v, Mapping) else {"total": v}
                    for rc, v in inventory.items()
                },
            },
        )
        assert resp.status_code == 200, resp.text
        resp = self.http.put(
            f"/scheduler/v1/hosts/{host}",
            json={
                "nodename": f"{host}.example.org",
                "provider_uuid": rp,
                "hypervisor_type": "QEMU",
                "hypervisor_version": 8002000,
                "supported_instances": [["x86_64", "kvm", "hvm"]],
                **node,
            },
        )
        assert resp.status_code in (200, 201), resp.text
        return rp

    def allocations(self, consumer: str) -> dict[str, Any]:
        resp = self.http.get(f"/allocations/{consumer}")
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()["allocations"]
        return result

    def usages(self, rp: str) -> dict[str, int]:
        resp = self.http.get(f"/resource_providers/{rp}/usages")
        assert resp.status_code == 200, resp.text
        result: dict[str, int] = resp.json()["usages"]
        return result

    def stop(self) -> int:
        self.http.close()
        return self.service.stop()


@pytest.fixture
def corral(tmp_path: Path, database_url: str, rabbit_url: str) -> Iterator[RpcService]:
    svc = RpcService(tmp_path, database_url, rabbit_url)
    yield svc
    if svc.service.proc.poll() is None:
        assert svc.stop() == 0, svc.text()


def nova_client(python: Path, corral: RpcService, scenario: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(CLIENT), RABBIT_URL, corral.topic],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-4000:] + corral.text()[-4000:]
    outcome: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return outcome


def test_nova_schedules_through_corral(nova_python: Path, corral: RpcService) -> None:
    providers = {corral.add_host(f"compute-{i}"): f"compute-{i}" for i in range(3)}
    instance = str(uuid.uuid4())
    result = nova_client(
        nova_python,
        corral,
        {
            "kind": "select",
            "vcpus": 2,
            "memory_mb": 2048,
            "root_gb": 20,
            "instance_uuids": [instance],
            "return_objects": True,
            "return_alternates": True,
        },
    )
    (per_instance,) = result["selections"]
    # The chosen host, then alternates (up to [scheduler] max_attempts = 3 in all).
    assert 1 <= len(per_instance) <= 3
    assert all(s["type"] == "Selection" for s in per_instance)
    chosen = per_instance[0]
    assert providers[chosen["compute_node_uuid"]] == chosen["service_host"]
    assert chosen["nodename"] == f"{chosen['service_host']}.example.org"
    wanted = {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}
    assert chosen["allocation_request"]["allocations"] == {
        chosen["compute_node_uuid"]: {"resources": wanted}
    }
    assert len({s["service_host"] for s in per_instance}) == len(per_instance)
    # corral claimed the chosen host's allocation, as Nova's scheduler does.
    claimed = corral.allocations(instance)
    assert set(claimed) == {chosen["compute_node_uuid"]}
    assert claimed[chosen["compute_node_uuid"]]["resources"] == wanted

    # An older conductor (return_objects=False) gets Nova's legacy dicts.
    legacy_instance = str(uuid.uuid4())
    legacy = nova_client(
        nova_python,
        corral,
        {
            "kind": "select",
            "vcpus": 1,
            "memory_mb": 512,
            "instance_uuids": [legacy_instance],
            "return_objects": False,
        },
    )
    (entry,) = legacy["legacy"]
    assert set(entry) == {"host", "nodename", "limits"}
    assert entry["host"] in providers.values()

    # Nothing fits a 64 GiB flavor: NoValidHost, with corral's explanation.
    too_big = str(uuid.uuid4())
    refused = nova_client(
        nova_python,
        corral,
        {"kind": "select", "vcpus": 1, "memory_mb": 65_536, "instance_uuids": [too_big]},
    )
    assert refused["is_no_valid_host"] is True, refused
    assert refused["message"].startswith("No valid host was found. ")
    assert refused["kwargs"]["reason"] and refused["kwargs"]["reason"] in refused["message"]
    assert "0/3 hosts available: 3 lacked MEMORY_MB" in refused["message"], refused
    assert corral.allocations(too_big) == {}
    assert len(corral.rpc_worker_pids()) == 1


NUMA_FILTERS = "[filter_scheduler]\nenabled_filters = ComputeFilter,NUMATopologyFilter\n"
ONE_CELL = {
    "cells": [
        {
            "id": 0,
            "cpuset": [],
            "pcpuset": [0, 1, 2, 3],
            "memory": 16384,
            "siblings": [[0], [1], [2], [3]],
            "pinned_cpus": [],
            "mempages": [{"size_kb": 4, "total": 16384 * 256}],
        }
    ]
}
NUMA_INVENTORY: dict[str, int | Mapping[str, Any]] = {
    "VCPU": {"total": 8, "allocation_ratio": 4.0},
    "PCPU": 8,
    "MEMORY_MB": {"total": 16384, "allocation_ratio": 1.5},
    "DISK_GB": 200,
}


def test_numa_selections_carry_novas_numa_limits(
    tmp_path: Path, database_url: str, rabbit_url: str, nova_python: Path
) -> None:
    """A pinned multi-create over RPC: Nova's client decodes Selections whose
    limits.numa_topology is a NUMATopologyLimits with the host's ratios (what
    NUMATopologyFilter sets), and the two instances, 3 pinned CPUs each, land
    on two hosts of 4 pinnable CPUs though Placement would take both on one."""
    corral = RpcService(tmp_path, database_url, rabbit_url, NUMA_FILTERS)
    try:
        providers = {
            corral.add_host(f"numa-{i}", NUMA_INVENTORY, numa_topology=ONE_CELL): f"numa-{i}"
            for i in range(2)
        }
        instances = [str(uuid.uuid4()) for _ in range(2)]
        result = nova_client(
            nova_python,
            corral,
            {
                "kind": "select",
                "vcpus": 3,
                "memory_mb": 512,
                "root_gb": 10,
                "extra_specs": {"hw:cpu_policy": "dedicated"},
                "instance_uuids": instances,
                "return_objects": True,
                "return_alternates": True,
            },
        )
        chosen = [per_instance[0] for per_instance in result["selections"]]
        assert {s["service_host"] for s in chosen} == set(providers.values())
        for per_instance in result["selections"]:
            for selection in per_instance:
                assert selection["limits"] == {
                    "numa_topology": {
                        "type": "NUMATopologyLimits",
                        "version": "1.1",
                        "cpu_allocation_ratio": 4.0,
                        "ram_allocation_ratio": 1.5,
                        "has_network_metadata": False,
                    }
                }, selection
        for instance, selection in zip(instances, chosen, strict=True):
            claimed = corral.allocations(instance)
            assert claimed[selection["compute_node_uuid"]]["resources"]["PCPU"] == 3
    finally:
        assert corral.stop() == 0, corral.text()


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((FIXTURES / "request_spec_minimal.json").read_text())
    return spec


def _call(spec: Any, instance: str, version: str = "4.5", **extra: Any) -> dict[str, Any]:
    args = {
        "spec_obj": spec,
        "instance_uuids": [instance],
        "return_objects": True,
        "return_alternates": True,
        **extra,
    }
    return {"method": "select_destinations", "version": version, "args": args}


def test_hostile_messages_are_refused_and_the_worker_survives(
    nova_python: Path, corral: RpcService
) -> None:
    rp = corral.add_host("compute-0")
    instances = [str(uuid.uuid4()) for _ in range(11)]

    wrong_object_version = _spec()
    wrong_object_version["nova_object.version"] = "2.0"
    wrong_field_type = _spec()
    wrong_field_type["nova_object.data"]["flavor"]["nova_object.data"]["vcpus"] = "1"
    wrong_name = _spec()
    wrong_name["nova_object.name"] = "Instance"
    oversized = _spec()
    oversized["nova_object.data"]["scheduler_hints"] = {
        f"hint{i}": ["x" * 60_000] for i in range(3)
    }
    # Deeper than orjson measures (255 levels), shallow enough for Nova's own
    # serialiser on the sending side.
    deep: Any = "bottom"
    for _ in range(260):
        deep = [deep]
    too_deep = _spec()
    too_deep["nova_object.data"]["scheduler_hints"] = {"deep": deep}
    unknown_field = copy.deepcopy(_spec())
    unknown_field["nova_object.data"]["surprise"] = True

    messages = [
        _call("garbage", instances[0]),
        _call(wrong_object_version, instances[1]),
        _call(wrong_field_type, instances[2]),
        _call(wrong_name, instances[3]),
        _call(oversized, instances[4]),
        _call(too_deep, instances[5]),
        _call(unknown_field, instances[6]),
        _call(_spec(), instances[7], version="5.0"),
        _call(_spec(), instances[8], smuggled="extra argument"),
        {"method": "_private", "version": "4.5", "args": {}},
        {"method": "select_destinations", "version": "4.5", "args": {"spec_obj": _spec()}},
        {
            "method": "update_aggregates",
            "version": "4.1",
            "cast": True,
            "fanout": True,
            "args": {"aggregates": {"nova_object.name": "Aggregate"}},
        },
        {
            "method": "sync_instance_info",
            "version": "4.2",
            "cast": True,
            "fanout": True,
            "args": {"host_name": ["compute-0"], "instance_uuids": "all"},
        },
    ]
    outcomes = nova_client(nova_python, corral, {"kind": "raw", "messages": messages})["outcomes"]
    calls = outcomes[:11]
    assert all(o.get("is_remote_error") for o in calls), calls
    texts = [o["message"] for o in calls]
    assert "spec_obj: expected a Nova object (RequestSpec), got str" in texts[0]
    assert "RequestSpec version 2.0 is not supported" in texts[1]
    assert "spec_obj.flavor.vcpus: expected an integer, got str" in texts[2]
    assert "expected a RequestSpec object, got 'Instance'" in texts[3]
    assert f"max_rpc_message_bytes allows {MAX_MESSAGE_BYTES}" in texts[4]
    assert "cannot be measured" in texts[5]
    assert "spec_obj.surprise: RequestSpec 1.15 has no such field" in texts[6]
    assert "UnsupportedVersion" in texts[7]
    assert "unexpected arguments: smuggled" in texts[8]
    assert "NoSuchMethod" in texts[9]
    assert "instance_uuids: is required" in texts[10]
    assert outcomes[11:] == [{"sent": True}, {"sent": True}]

    # Nothing was claimed, and the same worker still answers: a good request works.
    for instance in instances:
        assert corral.allocations(instance) == {}
    assert corral.usages(rp) == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    good = str(uuid.uuid4())
    result = nova_client(
        nova_python,
        corral,
        {"kind": "select", "vcpus": 1, "memory_mb": 512, "instance_uuids": [good]},
    )
    assert result["selections"][0][0]["compute_node_uuid"] == rp
    assert corral.usages(rp)["MEMORY_MB"] == 512
    corral.service.wait_log(r"refused sync_instance_info message")
    assert len(corral.rpc_worker_pids()) == 1, corral.text()
