"""corral's Placement query against Nova 34's own, for a table of flavors and images.

Nova 34.0.0's code, in its virtualenv (tests/functional/nova_resource_request.py),
builds each case's RequestSpec as nova-api does, runs the request filters
that need no database or Neutron, and builds ResourceRequest.from_request_spec;
corral decodes the RequestSpec Nova's RPC client would send
(rpc.request_spec.decode_request_spec), builds its resource draft
(scheduler.resources) and runs its request filters (scheduler.request_filters).
The groups (resources, required and forbidden traits), the root traits and
whether pinning was asked for must be the same; where Nova raises, corral
refuses the request.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.rpc.request_spec import decode_request_spec
from corral.scheduler.request_filters import RequestFilterSettings, narrow
from corral.scheduler.resources import resource_draft

SCRIPT = Path(__file__).with_name("nova_resource_request.py")
UEFI = {"hw_firmware_type": "uefi"}


def flavor(vcpus: int = 4, **extra_specs: str) -> dict[str, Any]:
    return {"vcpus": vcpus, "memory_mb": 2048, "root_gb": 20, "extra_specs": extra_specs}


def case(name: str, flavor_: dict[str, Any], image: dict[str, Any] | None = None, **kw: Any):
    return pytest.param({"flavor": flavor_, "image": image or {}, **kw}, id=name)


def x(**specs: str) -> dict[str, str]:
    """Extra specs whose keys have a colon: x(hw__cpu_policy=...) -> hw:cpu_policy."""
    return {k.replace("__", ":", 1): v for k, v in specs.items()}


def f(vcpus: int = 4, **specs: str) -> dict[str, Any]:
    return flavor(vcpus, **x(**specs))


CASES = [
    case("plain", f()),
    case("swap-ephemeral", {**f(), "ephemeral_gb": 3, "swap": 1025}),
    case("bfv", {**f(), "ephemeral_gb": 1}, is_bfv=True),
    case("resources-override", f(**{"resources:VCPU": "2", "resources:MEMORY_MB": "0"})),
    case("resources-pcpu", f(**{"resources:PCPU": "4"})),
    case("resources-bad", f(**{"resources:VGPU": "x", "resources:NOPE": "1"})),
    case(
        "granular",
        f(**{"resources1:VGPU": "1", "trait1:CUSTOM_A": "required", "group_policy": "none"}),
    ),
    case("granular-memory", f(**{"resources1:MEMORY_MB": "1024", "group_policy": "isolate"})),
    case("traits", f(**{"trait:HW_CPU_X86_AVX2": "required", "trait:CUSTOM_SLOW": "forbidden"})),
    case("image-traits", f(), {"trait:CUSTOM_GOLD": "required", "trait:CUSTOM_X": "required"}),
    case("dedicated", f(hw__cpu_policy="dedicated")),
    case("dedicated-image", f(), {"hw_cpu_policy": "dedicated"}),
    case(
        "dedicated-emulator", f(hw__cpu_policy="dedicated", hw__emulator_threads_policy="isolate")
    ),
    case("dedicated-isolate", f(hw__cpu_policy="dedicated", hw__cpu_thread_policy="isolate")),
    case(
        "dedicated-require", f(), {"hw_cpu_policy": "dedicated", "hw_cpu_thread_policy": "require"}
    ),
    case("shared", f(hw__cpu_policy="shared")),
    case("mixed-mask", f(hw__cpu_policy="mixed", hw__cpu_dedicated_mask="^0-1")),
    case("mixed-list", f(6, hw__cpu_policy="mixed", hw__cpu_dedicated_mask="1,3-4")),
    case(
        "mixed-emulator",
        f(
            hw__cpu_policy="mixed",
            hw__cpu_dedicated_mask="3",
            hw__emulator_threads_policy="isolate",
        ),
    ),
    case(
        "mixed-realtime",
        f(hw__cpu_policy="mixed", hw__cpu_realtime="yes", hw__cpu_realtime_mask="^0"),
    ),
    case(
        "mixed-realtime-image",
        f(hw__cpu_policy="mixed", hw__cpu_realtime="true", hw__cpu_realtime_mask="^0"),
        {"hw_cpu_realtime_mask": "^0-2"},
    ),
    case("mixed-image", f(hw__cpu_dedicated_mask="0"), {"hw_cpu_policy": "mixed"}),
    case("mem-encryption", f(hw__mem_encryption="true"), UEFI),
    case("mem-encryption-image", f(), {**UEFI, "hw_mem_encryption": "true"}),
    case(
        "mem-encryption-es",
        f(hw__mem_encryption="true", hw__mem_encryption_model="amd-sev-es"),
        {**UEFI, "hw_machine_type": "q35"},
    ),
    case(
        "mem-encryption-snp",
        f(hw__mem_encryption="true"),
        {**UEFI, "hw_mem_encryption_model": "amd-sev-snp", "hw_firmware_stateless": "true"},
    ),
    case(
        "mem-encryption-tdx",
        f(hw__mem_encryption="true", hw__mem_encryption_model="intel-tdx"),
        {**UEFI, "hw_firmware_stateless": "true", "hw_video_model": "none"},
    ),
    case(
        "mem-encryption-tdx-video",
        f(hw__mem_encryption="true", hw__mem_encryption_model="intel-tdx"),
        {**UEFI, "hw_firmware_stateless": "true"},
    ),
    case("mem-encryption-off", f(hw__mem_encryption="false"), UEFI),
    case("pmem", f(hw__pmem="4GB,SMALL,4GB")),
    case("vtpm", f(hw__tpm_version="2.0")),
    case("vtpm-crb", f(hw__tpm_version="2.0", hw__tpm_model="tpm-crb")),
    case("vtpm-image", f(), {"hw_tpm_version": "1.2", "hw_tpm_model": "tpm-tis"}),
    case("vtpm-host", f(hw__tpm_version="2.0", hw__tpm_secret_security="host")),
    case("vtpm-deployment", f(hw__tpm_version="2.0", hw__tpm_secret_security="deployment")),
    case("secure-boot", f(os__secure_boot="required")),
    case("secure-boot-image", f(), {"os_secure_boot": "required"}),
    case("secure-boot-optional", f(os__secure_boot="optional")),
    case("maxphysaddr", f(hw__maxphysaddr_mode="passthrough")),
    case("maxphysaddr-image", f(), {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": 42}),
    case("stateless", f(), {**UEFI, "hw_firmware_stateless": "true"}),
    case("stateless-bios", f(), {"hw_firmware_stateless": "true"}),
    case("pci-numa-socket", f(hw__pci_numa_affinity_policy="socket")),
    case("pci-numa-socket-image", f(), {"hw_pci_numa_affinity_policy": "socket"}),
    case("packed-ring", f(hw__virtio_packed_ring="true")),
    case("packed-ring-image", f(), {"hw_virtio_packed_ring": "yes"}),
    case("sound-virtio", f(hw__sound_model="virtio")),
    case("sound-ich9", f(), {"hw_sound_model": "ich9"}),
    case("ephemeral", f(hw__ephemeral_encryption="true")),
    case(
        "ephemeral-format",
        f(),
        {"hw_ephemeral_encryption": "true", "hw_ephemeral_encryption_format": "luks"},
    ),
    case("accelerators", f(**{"accel:device_profile": "fpga-profile"})),
    case(
        "everything",
        f(
            hw__cpu_policy="mixed",
            hw__cpu_dedicated_mask="^0",
            hw__mem_encryption="true",
            hw__tpm_version="2.0",
            hw__pmem="LARGE",
            os__secure_boot="required",
            hw__virtio_packed_ring="true",
        ),
        {**UEFI, "trait:CUSTOM_GOLD": "required", "hw_sound_model": "virtio"},
    ),
    # what Nova raises: corral refuses
    case("bad-cpu-policy", f(hw__cpu_policy="whatever")),
    case(
        "thread-conflict", f(hw__cpu_thread_policy="require"), {"hw_cpu_thread_policy": "isolate"}
    ),
    case("mixed-dedicated-image", f(hw__cpu_policy="mixed"), {"hw_cpu_policy": "dedicated"}),
    case("mixed-bad-mask", f(hw__cpu_policy="mixed", hw__cpu_dedicated_mask="0-7")),
    case("mem-encryption-bios", f(hw__mem_encryption="true")),
    case(
        "mem-encryption-snp-stateful",
        f(hw__mem_encryption_model="amd-sev-snp", hw__mem_encryption="1"),
        UEFI,
    ),
    case("vtpm-bad-version", f(hw__tpm_version="3.0")),
    case("vtpm-crb-1.2", f(hw__tpm_version="1.2", hw__tpm_model="tpm-crb")),
    case("vtpm-bad-secret", f(hw__tpm_version="2.0", hw__tpm_secret_security="vault")),
    case("secure-boot-conflict", f(os__secure_boot="required"), {"os_secure_boot": "disabled"}),
    case("packed-ring-conflict", f(hw__virtio_packed_ring="true"), {"hw_virtio_packed_ring": "no"}),
]

SETTINGS = RequestFilterSettings()  # the options Nova defaults to


@pytest.fixture(scope="module")
def nova_answers(nova_python: Path) -> dict[str, dict[str, Any]]:
    """Nova's answer per case id, from one run of Nova's code over the whole table."""
    inputs = [p.values[0] for p in CASES]
    result = subprocess.run(
        [str(nova_python), str(SCRIPT)],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    answers = json.loads(lines[-1].removeprefix("RESULT "))
    return {p.id: answer for p, answer in zip(CASES, answers, strict=True) if p.id}


def test_the_table_covers_both_outcomes(nova_answers: dict[str, dict[str, Any]]) -> None:
    errors = [name for name, answer in nova_answers.items() if "error" in answer]
    assert 5 < len(errors) < len(nova_answers) - 30


@pytest.mark.parametrize("given", CASES)
def test_corral_asks_placement_what_nova_asks(
    given: dict[str, Any], nova_answers: dict[str, dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.id
    assert nova_answers[name]["spec"]["nova_object.name"] == "RequestSpec", given
    nova = nova_answers[name]
    spec = decode_request_spec(nova["spec"])
    draft = resource_draft(spec)
    narrowing = narrow(spec, {}, SETTINGS, draft=draft)
    if "error" in nova:
        assert draft.refusal or narrowing.refusal, f"Nova: {nova['error']}; corral does not refuse"
        return
    assert draft.refusal is None and narrowing.refusal is None, (draft.refusal, narrowing.refusal)
    got = {
        suffix: {
            "resources": dict(group.resources),
            "required": sorted(t for any_of in group.required_traits for t in any_of),
            "forbidden": sorted(group.forbidden_traits),
        }
        for suffix, group in draft.frozen_groups().items()
    }
    assert got == nova["groups"], nova["querystring"]
    rlp = spec.request_level_params
    assert sorted(rlp.root_required | set(narrowing.root_required)) == nova["root_required"]
    assert sorted(rlp.root_forbidden | set(narrowing.root_forbidden)) == nova["root_forbidden"]
    assert draft.cpu_pinning_requested == nova["cpu_pinning_requested"]
