"""What a flavor and an image ask of the host: Nova 34's nova.virt.hardware getters.

ResourceRequest.from_request_spec (nova.scheduler.utils) and the request
filters (nova.scheduler.request_filter) read the flavor's `hw:*`/`os:*` extra
specs and the image's `hw_*`/`os_*` properties through these functions of
nova.virt.hardware; this module holds the same rules, each named after the
Nova function it mirrors:

- `_get_flavor_image_meta` / `_get_unique_flavor_image_meta`: the flavor's
  `hw:KEY` and the image's `hw_KEY` (the unique variant refuses two different
  values);
- get_cpu_policy_constraint, get_cpu_thread_policy_constraint,
  get_emulator_thread_policy_constraint, get_dedicated_cpu_constraint,
  get_realtime_cpu_constraint (with parse_cpu_spec);
- get_mem_encryption_constraint (MemEncryptionConfig and its checks),
  get_vtpm_constraint, get_tpm_secret_security_constraint,
  get_secure_boot_constraint, get_stateless_firmware_constraint,
  get_maxphysaddr_mode, get_pci_numa_policy_constraint, get_vpmems,
  get_packed_virtqueue_constraint, get_sound_model,
  get_ephemeral_encryption_constraint, get_ephemeral_encryption_format.

Where Nova raises (an invalid value, a flavor and an image that disagree),
these raise `ConstraintError` with Nova's reason; the caller refuses the
request with it, as Nova's scheduler fails it (nova-api refuses most of these
before they reach a scheduler). Image properties arrive typed over RPC (a
FlexibleBooleanField is a bool) and as JSON over HTTP, so booleans are read
as oslo's bool_from_string reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import os_resource_classes

Specs = Mapping[str, str]
Props = Mapping[str, object]

# oslo_utils.strutils.bool_from_string
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})

# Nova's enums (nova.objects.fields).
CPU_POLICIES = ("dedicated", "shared", "mixed")
CPU_THREAD_POLICIES = ("prefer", "isolate", "require")
EMULATOR_THREAD_POLICIES = ("share", "isolate")
TPM_VERSIONS = ("1.2", "2.0")
TPM_MODELS = ("tpm-tis", "tpm-crb")
SECURE_BOOT = ("required", "disabled", "optional")
MAXPHYSADDR_MODES = ("passthrough", "emulate")
PCI_NUMA_POLICIES = ("required", "legacy", "preferred", "socket")
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio")
EPHEMERAL_ENCRYPTION_FORMATS = ("plain", "luks", "luksv2")

# The highest guest CPU number a mask may name. Nova accepts any number and
# then refuses one outside the flavor's vCPUs; bounding it first keeps a mask
# like "0-999999999" from building a set that large.
MAX_CPU = 4095


class ConstraintError(ValueError):
    """What Nova raises for an invalid or conflicting flavor/image request."""


@dataclass(frozen=True, slots=True)
class MemEncryption:
    """Nova's MemEncryptionConfig: the model and the CPU trait it needs."""

    model: str
    required_trait: str
    needs_stateless_firmware: bool
    # MemEncryptionConfigTDX.check_constraints: no video device (hw_video_model=none)
    needs_no_video: bool = False


# MemEncryptionConfig.create's table (Sev, SevEs, SevSnp, TDX): every model
# needs UEFI firmware and a q35 machine type; SEV-SNP and TDX stateless
# firmware; TDX no video device.
MEM_ENCRYPTION_MODELS = {
    "amd-sev": MemEncryption("amd-sev", "HW_CPU_X86_AMD_SEV", False),
    "amd-sev-es": MemEncryption("amd-sev-es", "HW_CPU_X86_AMD_SEV_ES", False),
    "amd-sev-snp": MemEncryption("amd-sev-snp", "HW_CPU_X86_AMD_SEV_SNP", True),
    "intel-tdx": MemEncryption("intel-tdx", "HW_CPU_X86_INTEL_TDX", True, needs_no_video=True),
}


def flag(value: object) -> bool:
    """oslo's strutils.bool_from_string (not strict, default False)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _optional_flag(value: object) -> bool | None:
    return None if value is None else flag(value)


def _text(value: object) -> str | None:
    """A property as the string Nova's enum fields hold, None when unset."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def flavor_image(
    key: str, specs: Specs, props: Props, prefix: str = "hw"
) -> tuple[str | None, object]:
    """_get_flavor_image_meta: the flavor's `prefix:key` and the image's `prefix_key`."""
    return specs.get(f"{prefix}:{key}"), props.get(f"{prefix}_{key}")


def unique_flavor_image(key: str, specs: Specs, props: Props, prefix: str = "hw") -> str | None:
    """_get_unique_flavor_image_meta: one value, refusing two that differ."""
    flavor_value, image_raw = flavor_image(key, specs, props, prefix)
    image_value = _text(image_raw)
    if image_value and flavor_value and image_value != flavor_value:
        raise ConstraintError(
            f"Flavor has {prefix}:{key} extra spec explicitly set to {flavor_value}, "
            f"conflicting with image which has {prefix}_{key} explicitly set to {image_value}."
        )
    return flavor_value or image_value


def parse_cpu_spec(spec: str) -> set[int]:
    """parse_cpu_spec: "1-4,^3,6" -> {1, 2, 4, 6}, CPUs bounded by MAX_CPU."""
    include: set[int] = set()
    exclude: set[int] = set()

    def number(text: str, rule: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ConstraintError(f"Invalid CPU expression {rule!r}") from None
        if not 0 <= value <= MAX_CPU:
            raise ConstraintError(f"CPU {value} in {rule!r} is outside 0-{MAX_CPU}")
        return value

    for raw in spec.split(","):
        rule = raw.strip()
        if not rule:
            continue
        parts = rule.split("-", 1)
        if len(parts) > 1:
            reject = parts[0].startswith("^")
            start = number(parts[0][1:] if reject else parts[0], rule)
            end = number(parts[1], rule)
            if start > end:
                raise ConstraintError(f"Invalid range expression {rule!r}")
            (exclude if reject else include).update(range(start, end + 1))
        elif rule.startswith("^"):
            exclude.add(number(rule[1:], rule))
        else:
            include.add(number(rule, rule))
    return include - exclude


def _mask(mask: str, vcpus: int) -> set[int]:
    """A mask as Nova reads one: a leading ^ excludes from all the flavor's vCPUs."""
    if mask.strip().startswith("^"):
        return parse_cpu_spec(f"0-{vcpus - 1},{mask}") if vcpus > 0 else set()
    return parse_cpu_spec(mask)


def cpu_policy(specs: Specs, props: Props) -> str | None:
    """get_cpu_policy_constraint: the flavor's policy, else the image's."""
    flavor_policy, image_raw = flavor_image("cpu_policy", specs, props)
    image_policy = _text(image_raw)
    for source, value in (
        ("flavor extra specs", flavor_policy),
        ("image properties", image_policy),
    ):
        if value and value not in CPU_POLICIES:
            raise ConstraintError(f"CPU policy {value!r} in {source} is not one of {CPU_POLICIES}")
    if flavor_policy == "dedicated":
        return flavor_policy
    if flavor_policy == "mixed":
        if image_policy == "dedicated":
            raise ConstraintError("Image CPU pinning policy conflicts with the flavor's")
        return flavor_policy
    if flavor_policy == "shared":
        if image_policy in ("mixed", "dedicated"):
            raise ConstraintError("Image CPU pinning policy conflicts with the flavor's")
        return flavor_policy
    return image_policy if image_policy in CPU_POLICIES else None


def cpu_thread_policy(specs: Specs, props: Props) -> str | None:
    """get_cpu_thread_policy_constraint."""
    flavor_policy, image_raw = flavor_image("cpu_thread_policy", specs, props)
    image_policy = _text(image_raw)
    for source, value in (
        ("flavor extra specs", flavor_policy),
        ("image properties", image_policy),
    ):
        if value and value not in CPU_THREAD_POLICIES:
            raise ConstraintError(
                f"CPU thread policy {value!r} in {source} is not one of {CPU_THREAD_POLICIES}"
            )
    if flavor_policy in (None, "prefer"):
        return flavor_policy or image_policy
    if image_policy and image_policy != flavor_policy:
        raise ConstraintError("Image CPU thread policy conflicts with the flavor's")
    return flavor_policy


def emulator_threads_policy(specs: Specs) -> str | None:
    """get_emulator_thread_policy_constraint (a flavor extra spec only)."""
    policy = specs.get("hw:emulator_threads_policy")
    if not policy:
        return None
    if policy not in EMULATOR_THREAD_POLICIES:
        raise ConstraintError(
            f"Emulator threads policy {policy!r} is not one of {EMULATOR_THREAD_POLICIES}"
        )
    return policy


def dedicated_cpus(specs: Specs, vcpus: int) -> set[int] | None:
    """get_dedicated_cpu_constraint: `hw:cpu_dedicated_mask` of a mixed instance."""
    mask = specs.get("hw:cpu_dedicated_mask")
    if not mask:
        return None
    pcpus = _mask(mask, vcpus)
    cpus = set(range(vcpus))
    if not pcpus or not cpus - pcpus:
        raise ConstraintError("hw:cpu_dedicated_mask must leave both dedicated and shared vCPUs")
    if not pcpus <= cpus:
        raise ConstraintError(
            "Mixed instance dedicated vCPU(s) mask is not a subset of vCPUs in the flavor"
        )
    return pcpus


def realtime_cpus(specs: Specs, props: Props, vcpus: int) -> set[int] | None:
    """get_realtime_cpu_constraint: the realtime vCPUs when `hw:cpu_realtime` is on
    (the image's mask ahead of the flavor's, as Nova prefers it)."""
    if not flag(specs.get("hw:cpu_realtime")):
        return None
    flavor_mask, image_mask = flavor_image("cpu_realtime_mask", specs, props)
    mask = _text(image_mask) or flavor_mask
    cpus = set(range(vcpus))
    realtime = _mask(mask, vcpus) if mask else set(cpus)
    if not realtime:
        raise ConstraintError("Realtime policy needs at least one realtime vCPU")
    if realtime == cpus and not emulator_threads_policy(specs):
        raise ConstraintError("Realtime policy needs a mask leaving a vCPU for the emulator")
    if not realtime <= cpus:
        raise ConstraintError("Realtime vCPU(s) mask is not a subset of the flavor's vCPUs")
    return realtime


def mem_encryption(specs: Specs, props: Props) -> MemEncryption | None:
    """get_mem_encryption_constraint, with MemEncryptionConfig.check_constraints
    as the scheduler runs it (no machine type of its own)."""
    flavor_raw, image_raw = flavor_image("mem_encryption", specs, props)
    flavor_wants = _optional_flag(flavor_raw)
    image_wants = _optional_flag(image_raw)
    if not flavor_wants and not image_wants:
        return None
    if flavor_wants is not None and image_wants is not None and flavor_wants != image_wants:
        raise ConstraintError(
            "Flavor hw:mem_encryption conflicts with the image's hw_mem_encryption"
        )
    flavor_model, image_raw_model = flavor_image("mem_encryption_model", specs, props)
    image_model = _text(image_raw_model)
    if flavor_model is not None and image_model is not None and flavor_model != image_model:
        raise ConstraintError(
            "Flavor hw:mem_encryption_model conflicts with the image's hw_mem_encryption_model"
        )
    model = image_model or flavor_model or "amd-sev"
    config = MEM_ENCRYPTION_MODELS.get(model)
    if config is None:
        raise ConstraintError(
            f"Invalid memory encryption model {model!r}; "
            f"allowed: {', '.join(MEM_ENCRYPTION_MODELS)}"
        )
    if props.get("hw_firmware_type") != "uefi":
        raise ConstraintError(
            "Memory encryption is requested but the image metadata doesn't have "
            "the 'hw_firmware_type' property set to 'uefi'"
        )
    machine = _text(props.get("hw_machine_type"))
    if machine is not None and "q35" not in machine:
        raise ConstraintError(f"q35 type is required for {model} to work, not {machine}")
    if config.needs_stateless_firmware and not stateless_firmware(props):
        raise ConstraintError(
            f"The {model} memory encryption model requires stateless firmware but the "
            "image metadata doesn't have the 'hw_firmware_stateless' property set to True"
        )
    if config.needs_no_video and props.get("hw_video_model") != "none":
        raise ConstraintError(
            f"The {model} memory encryption model is incompatible with an attached video "
            "device. Set the 'hw_video_model' image property to 'none' to disable it"
        )
    return config


def vtpm(specs: Specs, props: Props) -> tuple[str, str] | None:
    """get_vtpm_constraint: (version, model), the model tpm-tis unless asked."""
    version = unique_flavor_image("tpm_version", specs, props)
    if version is None:
        return None
    if version not in TPM_VERSIONS:
        raise ConstraintError(
            f"Invalid TPM version {version!r}; allowed: {', '.join(TPM_VERSIONS)}"
        )
    model = unique_flavor_image("tpm_model", specs, props)
    if model is None:
        model = "tpm-tis"
    elif model not in TPM_MODELS:
        raise ConstraintError(f"Invalid TPM model {model!r}; allowed: {', '.join(TPM_MODELS)}")
    elif model == "tpm-crb" and version != "2.0":
        raise ConstraintError("TPM model CRB is only valid with TPM version 2.0.")
    return version, model


def tpm_secret_security(specs: Specs) -> str | None:
    """get_tpm_secret_security_constraint (a flavor extra spec only, as in Nova)."""
    return specs.get("hw:tpm_secret_security")


def secure_boot(specs: Specs, props: Props) -> str | None:
    """get_secure_boot_constraint: `os:secure_boot` / `os_secure_boot`."""
    policy = unique_flavor_image("secure_boot", specs, props, prefix="os")
    if policy is not None and policy not in SECURE_BOOT:
        raise ConstraintError(
            f"Invalid secure boot policy {policy!r}; allowed: {', '.join(SECURE_BOOT)}"
        )
    return policy


def stateless_firmware(props: Props) -> bool:
    """get_stateless_firmware_constraint: only with UEFI firmware (ignored otherwise)."""
    value = props.get("hw_firmware_stateless")
    if value is None or props.get("hw_firmware_type") != "uefi":
        return False
    return flag(value)


def maxphysaddr_mode(specs: Specs, props: Props) -> str | None:
    """get_maxphysaddr_mode."""
    mode = unique_flavor_image("maxphysaddr_mode", specs, props)
    if mode is not None and mode not in MAXPHYSADDR_MODES:
        raise ConstraintError(
            f"Invalid Maxphyaddr mode {mode!r}; allowed: {', '.join(MAXPHYSADDR_MODES)}"
        )
    return mode


def pci_numa_policy(specs: Specs, props: Props) -> str | None:
    """get_pci_numa_policy_constraint."""
    flavor_policy, image_raw = flavor_image("pci_numa_affinity_policy", specs, props)
    image_policy = _text(image_raw)
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise ConstraintError("Image PCI NUMA affinity policy conflicts with the flavor's")
    policy = flavor_policy or image_policy
    if policy and policy not in PCI_NUMA_POLICIES:
        raise ConstraintError(f"Invalid PCI NUMA affinity policy {policy!r}")
    return policy


def vpmem_resources(specs: Specs) -> dict[str, int]:
    """get_vpmems and _translate_vpmems_request: one CUSTOM_PMEM_NAMESPACE_<label>
    per label of `hw:pmem` (a label twice asks for two)."""
    out: dict[str, int] = {}
    for label in (specs.get("hw:pmem") or "").split(","):
        label = label.strip()
        if label:
            rc = os_resource_classes.normalize_name("PMEM_NAMESPACE_" + label)
            out[rc] = out.get(rc, 0) + 1
    return out


def _agreeing_flag(name: str, specs: Specs, props: Props) -> bool:
    """A boolean asked by the flavor (`hw:NAME`) or the image (`hw_NAME`); the
    two may not disagree (Nova's constraint getters raise then)."""
    flavor_raw, image_raw = flavor_image(name, specs, props)
    flavor_value = _optional_flag(flavor_raw)
    image_value = _optional_flag(image_raw)
    if flavor_value is not None and image_value is not None and flavor_value != image_value:
        raise ConstraintError(f"Flavor hw:{name} conflicts with the image's hw_{name}")
    return bool(flavor_value or image_value)


def packed_virtqueue(specs: Specs, props: Props) -> bool:
    """get_packed_virtqueue_constraint."""
    return _agreeing_flag("virtio_packed_ring", specs, props)


def sound_model(specs: Specs, props: Props) -> str | None:
    """get_sound_model."""
    return _one_of("sound_model", specs, props, SOUND_MODELS, "sound device model")


def ephemeral_encryption(specs: Specs, props: Props) -> bool:
    """get_ephemeral_encryption_constraint."""
    return _agreeing_flag("ephemeral_encryption", specs, props)


def ephemeral_encryption_format(specs: Specs, props: Props) -> str | None:
    """get_ephemeral_encryption_format."""
    return _one_of(
        "ephemeral_encryption_format",
        specs,
        props,
        EPHEMERAL_ENCRYPTION_FORMATS,
        "ephemeral encryption format",
    )


def _one_of(name: str, specs: Specs, props: Props, allowed: Sequence[str], what: str) -> str | None:
    """The flavor's or the image's value of `name`, refused unless in `allowed`."""
    value = unique_flavor_image(name, specs, props)
    if value and value not in allowed:
        raise ConstraintError(f"Invalid {what} {value!r}; allowed: {', '.join(allowed)}")
    return value or None
