"""The hw:/os: extra specs and image properties Nova 34's
ResourceRequest.from_request_spec turns into resources and traits
(nova/scheduler/utils.py _translate_*_request, reading nova.virt.hardware),
and the image's traits_required."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from corral.scheduler import constraints
from corral.scheduler.resources import resource_draft
from corral.scheduler.spec import Flavor, Image, RequestSpec

BASE = {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 40}
UEFI = {"hw_firmware_type": "uefi"}


def make_spec(
    extra_specs: Mapping[str, str] | None = None, image: Mapping[str, object] | None = None
) -> RequestSpec:
    return RequestSpec(
        flavor=Flavor(vcpus=4, memory_mb=4096, root_gb=40, extra_specs=dict(extra_specs or {})),
        image=Image(properties=dict(image or {})),
    )


def root(extra: Mapping[str, str] | None = None, image: Mapping[str, object] | None = None):
    draft = resource_draft(make_spec(extra, image))
    assert draft.refusal is None, draft.refusal
    return draft.root


def refusal(extra: Mapping[str, str] | None = None, image: Mapping[str, object] | None = None):
    return resource_draft(make_spec(extra, image)).refusal


# --- image traits_required -------------------------------------------------------------


def test_image_traits_required_join_the_root_required_traits() -> None:
    got = root({"trait:HW_CPU_X86_AVX2": "required"}, {"traits_required": ["CUSTOM_GOLD"]})
    assert got.required == {"HW_CPU_X86_AVX2", "CUSTOM_GOLD"}


def test_image_traits_required_malformed_entries_are_skipped() -> None:
    got = root(image={"traits_required": ["CUSTOM_OK", "lower", 7, ""]})
    assert got.required == {"CUSTOM_OK"}


# --- memory encryption -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image", "trait"),
    [
        ({"hw:mem_encryption": "true"}, UEFI, "HW_CPU_X86_AMD_SEV"),
        ({}, {**UEFI, "hw_mem_encryption": True}, "HW_CPU_X86_AMD_SEV"),
        (
            {"hw:mem_encryption": "yes", "hw:mem_encryption_model": "amd-sev-es"},
            UEFI,
            "HW_CPU_X86_AMD_SEV_ES",
        ),
        (
            {"hw:mem_encryption": "1"},
            {**UEFI, "hw_mem_encryption_model": "amd-sev-snp", "hw_firmware_stateless": True},
            "HW_CPU_X86_AMD_SEV_SNP",
        ),
        (
            {"hw:mem_encryption": "on", "hw:mem_encryption_model": "intel-tdx"},
            {
                **UEFI,
                "hw_firmware_stateless": True,
                "hw_machine_type": "pc-q35-8.2",
                "hw_video_model": "none",
            },
            "HW_CPU_X86_INTEL_TDX",
        ),
    ],
)
def test_mem_encryption_asks_one_context_and_the_model_trait(
    extra: dict[str, str], image: dict[str, object], trait: str
) -> None:
    got = root(extra, image)
    assert got.resources == {**BASE, "MEM_ENCRYPTION_CONTEXT": 1}
    assert trait in got.required


def test_mem_encryption_off_asks_nothing() -> None:
    assert root({"hw:mem_encryption": "false"}, UEFI).resources == BASE


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:mem_encryption": "true"}, {}),  # no UEFI firmware
        ({"hw:mem_encryption": "true"}, {**UEFI, "hw_mem_encryption": False}),
        ({"hw:mem_encryption": "true", "hw:mem_encryption_model": "ibm-pef"}, UEFI),
        ({"hw:mem_encryption": "true"}, {**UEFI, "hw_machine_type": "pc-i440fx-8.2"}),
        # SEV-SNP needs stateless firmware
        ({"hw:mem_encryption": "true", "hw:mem_encryption_model": "amd-sev-snp"}, UEFI),
        # TDX no video device
        (
            {"hw:mem_encryption": "true", "hw:mem_encryption_model": "intel-tdx"},
            {**UEFI, "hw_firmware_stateless": True},
        ),
        (
            {"hw:mem_encryption": "true", "hw:mem_encryption_model": "amd-sev"},
            {**UEFI, "hw_mem_encryption_model": "amd-sev-es"},
        ),
    ],
)
def test_mem_encryption_invalid_or_conflicting_refuses(
    extra: dict[str, str], image: dict[str, object]
) -> None:
    assert refusal(extra, image)


# --- vPMEM -----------------------------------------------------------------------------


def test_pmem_labels_become_custom_namespace_classes() -> None:
    got = root({"hw:pmem": "4GB, small,4GB,,my-label"})
    assert got.resources == {
        **BASE,
        "CUSTOM_PMEM_NAMESPACE_4GB": 2,
        "CUSTOM_PMEM_NAMESPACE_SMALL": 1,
        "CUSTOM_PMEM_NAMESPACE_MY_LABEL": 1,
    }


# --- vTPM ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image", "traits"),
    [
        ({"hw:tpm_version": "2.0"}, {}, {"COMPUTE_SECURITY_TPM_TIS", "COMPUTE_SECURITY_TPM_2_0"}),
        (
            {"hw:tpm_version": "2.0", "hw:tpm_model": "tpm-crb"},
            {},
            {"COMPUTE_SECURITY_TPM_CRB", "COMPUTE_SECURITY_TPM_2_0"},
        ),
        ({}, {"hw_tpm_version": "1.2"}, {"COMPUTE_SECURITY_TPM_TIS", "COMPUTE_SECURITY_TPM_1_2"}),
        # a model alone asks for no vTPM
        ({"hw:tpm_model": "tpm-crb"}, {}, set()),
    ],
)
def test_vtpm_model_and_version_traits(
    extra: dict[str, str], image: dict[str, object], traits: set[str]
) -> None:
    assert root(extra, image).required == traits


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:tpm_version": "1.2", "hw:tpm_model": "tpm-crb"}, {}),  # CRB needs 2.0
        ({"hw:tpm_version": "2.0", "hw:tpm_model": "tpm-xyz"}, {}),
        ({"hw:tpm_version": "2.0"}, {"hw_tpm_version": "1.2"}),
    ],
)
def test_vtpm_invalid_or_conflicting_refuses(
    extra: dict[str, str], image: dict[str, object]
) -> None:
    assert refusal(extra, image)


# --- secure boot, maxphysaddr, stateless firmware, PCI NUMA socket --------------------


@pytest.mark.parametrize(
    ("extra", "image", "traits"),
    [
        ({"os:secure_boot": "required"}, {}, {"COMPUTE_SECURITY_UEFI_SECURE_BOOT"}),
        ({}, {"os_secure_boot": "required"}, {"COMPUTE_SECURITY_UEFI_SECURE_BOOT"}),
        ({"os:secure_boot": "optional"}, {}, set()),
        ({"hw:maxphysaddr_mode": "passthrough"}, {}, {"COMPUTE_ADDRESS_SPACE_PASSTHROUGH"}),
        ({}, {"hw_maxphysaddr_mode": "emulate"}, {"COMPUTE_ADDRESS_SPACE_EMULATED"}),
        ({}, {**UEFI, "hw_firmware_stateless": True}, {"COMPUTE_SECURITY_STATELESS_FIRMWARE"}),
        # stateless firmware without UEFI is ignored, as Nova ignores it
        ({}, {"hw_firmware_stateless": True}, set()),
        ({}, {**UEFI, "hw_firmware_stateless": False}, set()),
        ({"hw:pci_numa_affinity_policy": "socket"}, {}, {"COMPUTE_SOCKET_PCI_NUMA_AFFINITY"}),
        ({}, {"hw_pci_numa_affinity_policy": "socket"}, {"COMPUTE_SOCKET_PCI_NUMA_AFFINITY"}),
        ({"hw:pci_numa_affinity_policy": "preferred"}, {}, set()),
    ],
)
def test_firmware_and_platform_traits(
    extra: dict[str, str], image: dict[str, object], traits: set[str]
) -> None:
    got = root(extra, image)
    assert got.required == traits
    assert got.resources == BASE


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"os:secure_boot": "maybe"}, {}),
        ({"os:secure_boot": "required"}, {"os_secure_boot": "disabled"}),
        ({"hw:maxphysaddr_mode": "guess"}, {}),
        ({"hw:pci_numa_affinity_policy": "socket"}, {"hw_pci_numa_affinity_policy": "legacy"}),
        ({"hw:pci_numa_affinity_policy": "anywhere"}, {}),
    ],
)
def test_platform_invalid_or_conflicting_refuses(
    extra: dict[str, str], image: dict[str, object]
) -> None:
    assert refusal(extra, image)


# --- the rules' own bounds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "cpus"),
    [("1-4,^3,6", {1, 2, 4, 6}), (" 0 , 2 ", {0, 2}), ("0-3,^0-1", {2, 3}), (",,1", {1})],
)
def test_parse_cpu_spec(mask: str, cpus: set[int]) -> None:
    assert constraints.parse_cpu_spec(mask) == cpus


@pytest.mark.parametrize("mask", ["a", "1-", "^x", "4-2", f"0-{constraints.MAX_CPU + 1}", "-1"])
def test_parse_cpu_spec_refuses_bad_or_unbounded_masks(mask: str) -> None:
    with pytest.raises(constraints.ConstraintError):
        constraints.parse_cpu_spec(mask)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("Yes", True), (" on ", True), ("0", False), ("junk", False)],
)
def test_flag_reads_as_oslo_bool_from_string(value: object, expected: bool) -> None:
    assert constraints.flag(value) is expected
