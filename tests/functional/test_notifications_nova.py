"""corral's select_destinations notification payloads against Nova 34's own.

tests/functional/nova_notification_payloads.py runs in the Nova virtualenv
(see test_rpc_nova.py): for each case it builds a RequestSpec from Nova's
objects, sends it through obj_to_primitive / obj_from_primitive as the
conductor and scheduler do, and prints the primitive with both payloads as
Nova's scheduler builds them, at the start and at the end (after its
_schedule set each instance's uuid and appended each selected host to the
group). corral builds its payloads from the same primitive; they must be
equal, but for the `_context` Nova's legacy payload leaks inside objects it
cannot render as dicts (null in corral's) and the order of `_changed_fields`
(a set in Nova).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.rpc.notification_payloads import legacy_payload, versioned_payload
from corral.rpc.request_spec import decode_request_spec

SCRIPT = Path(__file__).with_name("nova_notification_payloads.py")
INSTANCE = "6f1cd5c4-4e36-4b6c-9a7a-3d5f1e0c2b11"
SECOND = "8b3e7f6a-1c2d-4e5f-9a0b-7c6d5e4f3a21"

CASES: dict[str, dict[str, Any]] = {
    "boot": {"instance_uuids": [INSTANCE], "selected_hosts": ["compute-1"]},
    "everything": {
        "numa": True,
        "pci": True,
        "group": True,
        "destination": True,
        "retry": True,
        "force_hosts": ["compute-2"],
        "force_nodes": ["compute-2.example.org"],
        "ignore_hosts": ["compute-9"],
        "hints": {"foo": ["bar"], "group": ["x"]},
        "availability_zone": "az1",
        "extra_specs": {"hw:cpu_policy": "dedicated", "trait:HW_CPU_X86_AVX2": "required"},
        "flavor_description": "a flavor",
        "image_properties": {
            "hw_architecture": "x86_64",
            "hw_numa_nodes": 2,
            "hw_pci_numa_affinity_policy": "preferred",
            "traits_required": ["CUSTOM_GOLD"],
        },
        "num_instances": 2,
        "instance_uuids": [INSTANCE, SECOND],
        "selected_hosts": ["compute-2", "compute-3"],
    },
    "volume-backed": {"image": "volume", "instance_uuids": [INSTANCE], "selected_hosts": ["c"]},
}


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: sorted(v) if k == "_changed_fields" else None if k == "_context" else _normal(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


@pytest.fixture(scope="module")
def nova_payloads(nova_python: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(nova_python), str(SCRIPT)],
        input=json.dumps(list(CASES.values())),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    out: list[dict[str, Any]] = json.loads(lines[-1].removeprefix("RESULT "))
    return out


@pytest.mark.parametrize("index", range(len(CASES)), ids=list(CASES))
def test_payloads_are_novas(nova_payloads: list[dict[str, Any]], index: int) -> None:
    case = list(CASES.values())[index]
    nova = nova_payloads[index]
    primitive = nova["primitive"]
    decode_request_spec(primitive)  # what corral accepts before it notifies
    last = case["instance_uuids"][-1]
    assert versioned_payload(primitive) == nova["versioned"]
    assert _normal(legacy_payload(primitive)) == _normal(nova["legacy"])
    end = versioned_payload(primitive, last_instance=last, selected_hosts=case["selected_hosts"])
    assert end == nova["versioned_end"]
    assert _normal(legacy_payload(primitive, last_instance=last)) == _normal(nova["legacy_end"])
