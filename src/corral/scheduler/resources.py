"""What a request spec asks of Placement: Nova 34's ResourceRequest.from_request_spec
(nova/scheduler/utils.py), step by step in Nova's order:

1. `resources[S]:RC=N` and `trait[S]:T=required|forbidden` extra specs
   (`_process_extra_specs`; an amount that is not a non-negative integer, or
   a class neither standard nor CUSTOM_, is skipped as Nova skips it);
2. the image's required traits (`_process_image_meta`: ImageMetaProps
   `traits_required`) on the unsuffixed group;
3. the CPU policies (`_translate_pinning_policies`): `hw:cpu_policy=dedicated`
   asks PCPU for every vCPU, `mixed` PCPU for `hw:cpu_dedicated_mask` (or the
   realtime mask) and VCPU for the rest, `hw:emulator_threads_policy=isolate`
   one PCPU more, `hw:cpu_thread_policy` for or against HW_CPU_HYPERTHREADING;
4. the spec's requested_resources (ports, accelerators) as their own groups;
5. the flavor's VCPU, MEMORY_MB and DISK_GB (root_gb unless boot-from-volume
   + ephemeral_gb + swap rounded up to GB), each only when no group asks for
   that class already (PCPU anywhere keeps VCPU out);
6. memory encryption (MEM_ENCRYPTION_CONTEXT=1 and the model's CPU trait),
   vPMEM (`hw:pmem` labels as CUSTOM_PMEM_NAMESPACE_*), vTPM model and
   version traits, the `socket` PCI NUMA policy, secure boot, maxphysaddr and
   stateless firmware traits (corral.scheduler.constraints reads them as
   nova.virt.hardware does);
7. zero amounts stripped.

Where Nova raises (an invalid or conflicting `hw:` value), the draft carries
the reason in `refusal` and the request is refused with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import os_resource_classes

from corral.placement.request import GroupPolicy, RequestGroup
from corral.scheduler import constraints
from corral.scheduler.spec import RequestSpec

_RESOURCES = re.compile(r"^resources([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$")
_TRAIT = re.compile(r"^trait([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$")
_TRAIT_NAME = re.compile(r"^[A-Z0-9_]{1,255}$")
_STANDARD_CLASSES = frozenset(os_resource_classes.STANDARDS)

# Placement's largest amount (an SQL INTEGER); a bigger one is malformed.
MAX_AMOUNT = 2**31 - 1

HYPERTHREADING = "HW_CPU_HYPERTHREADING"
MEM_ENCRYPTION_CONTEXT = "MEM_ENCRYPTION_CONTEXT"
# _translate_vtpm_request, _translate_maxphysaddr_request
TPM_MODEL_TRAITS = {"tpm-tis": "COMPUTE_SECURITY_TPM_TIS", "tpm-crb": "COMPUTE_SECURITY_TPM_CRB"}
TPM_VERSION_TRAITS = {"1.2": "COMPUTE_SECURITY_TPM_1_2", "2.0": "COMPUTE_SECURITY_TPM_2_0"}
MAXPHYSADDR_TRAITS = {
    "passthrough": "COMPUTE_ADDRESS_SPACE_PASSTHROUGH",
    "emulate": "COMPUTE_ADDRESS_SPACE_EMULATED",
}


@dataclass
class GroupDraft:
    """A request group while it is being assembled."""

    suffix: str
    resources: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    # any-of trait sets (`in:A,B`) from requested resources
    required_any: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None

    def freeze(self) -> RequestGroup:
        return RequestGroup(
            suffix=self.suffix,
            resources=dict(self.resources),
            required_traits=(
                *(frozenset([t]) for t in sorted(self.required)),
                *self.required_any,
            ),
            forbidden_traits=frozenset(self.forbidden),
            member_of=tuple(self.member_of),
            forbidden_aggs=frozenset(self.forbidden_aggs),
            in_tree=self.in_tree,
        )


@dataclass
class ResourceDraft:
    """Every group of one request, the unsuffixed one under ""."""

    groups: dict[str, GroupDraft]
    group_policy: GroupPolicy | None = None
    # Nova's cpu_pinning_requested: hw:cpu_policy=dedicated was translated to
    # PCPU (what the VCPU fallback query of [workarounds] looks at)
    cpu_pinning_requested: bool = False
    # set when Nova would fail the request building its query: why
    refusal: str | None = None

    @property
    def root(self) -> GroupDraft:
        return self.groups[""]

    def group(self, suffix: str) -> GroupDraft:
        if suffix not in self.groups:
            self.groups[suffix] = GroupDraft(suffix)
        return self.groups[suffix]

    def frozen_groups(self) -> dict[str, RequestGroup]:
        """The groups Placement is asked for: an empty unsuffixed group is left out
        unless it is the only one (a request for nothing still needs a tree)."""
        out: dict[str, RequestGroup] = {}
        for suffix, draft in self.groups.items():
            empty = not (draft.resources or draft.required or draft.forbidden)
            if suffix == "" and empty and len(self.groups) > 1 and not draft.member_of:
                continue
            if suffix and not draft.resources:
                continue  # a granular group with no resources asks nothing of a provider
            out[suffix] = draft.freeze()
        return out


def _flavor_disk_gb(spec: RequestSpec) -> int:
    flavor = spec.flavor
    swap_gb = math.ceil(flavor.swap / 1024) if flavor.swap > 0 else 0
    return (0 if spec.is_bfv else flavor.root_gb) + flavor.ephemeral_gb + swap_gb


def _amount(text: str) -> int | None:
    """Nova's RequestGroup.add_resource: a non-negative integer, else skipped."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_AMOUNT else None


def _resource_class(name: str) -> bool:
    """Nova's RequestGroup.add_resource: a standard class or a CUSTOM_ one."""
    return name.startswith("CUSTOM_") or name in _STANDARD_CLASSES


def _image_traits(props: Mapping[str, object]) -> set[str]:
    """_process_image_meta: ImageMetaProps.traits_required (what Nova sends; it
    fills it from the Glance `trait:T=required` properties, which the HTTP door
    may pass as they are)."""
    out: set[str] = set()
    listed = props.get("traits_required")
    if isinstance(listed, (list, tuple)):
        out.update(t for t in listed if isinstance(t, str) and _TRAIT_NAME.match(t))
    for key, prop in props.items():
        if (match := _TRAIT.match(key)) and not match.group(1) and prop == "required":
            out.add(match.group(2))
    return out


def _pinning(draft: ResourceDraft, spec: RequestSpec) -> None:
    """_translate_pinning_policies: dedicated asks PCPU for every vCPU, mixed
    PCPU for the dedicated (or realtime) mask and VCPU for the rest, each with
    one more PCPU for isolated emulator threads; the thread policy asks for or
    against HW_CPU_HYPERTHREADING."""
    specs, props, vcpus = spec.flavor.extra_specs, spec.image.properties, spec.flavor.vcpus
    policy = constraints.cpu_policy(specs, props)
    thread = constraints.cpu_thread_policy(specs, props)
    emulator = constraints.emulator_threads_policy(specs)
    root = draft.root
    pcpus = 0
    if policy == "dedicated":
        draft.cpu_pinning_requested = True
        pcpus = vcpus
    if policy == "mixed":
        dedicated = constraints.dedicated_cpus(specs, vcpus)
        realtime = constraints.realtime_cpus(specs, props, vcpus)
        pcpus = len(dedicated or realtime or ())
        root.resources["VCPU"] = vcpus - pcpus
    if policy in ("dedicated", "mixed"):
        if emulator == "isolate":
            pcpus += 1
        root.resources["PCPU"] = pcpus
    if thread == "isolate":
        root.forbidden.add(HYPERTHREADING)
    elif thread == "require":
        root.required.add(HYPERTHREADING)


def _hardware(draft: ResourceDraft, spec: RequestSpec) -> None:
    """What from_request_spec adds after the flavor's amounts, in Nova's order:
    _translate_mem_encryption_request, _translate_vpmems_request,
    _translate_vtpm_request, _translate_pci_numa_affinity_policy,
    _translate_secure_boot_request, _translate_maxphysaddr_request and
    _translate_stateless_firmware_request, all on the unsuffixed group."""
    specs, props = spec.flavor.extra_specs, spec.image.properties
    root = draft.root
    encryption = constraints.mem_encryption(specs, props)
    if encryption is not None:
        root.resources[MEM_ENCRYPTION_CONTEXT] = 1
        root.required.add(encryption.required_trait)
    root.resources.update(constraints.vpmem_resources(specs))
    tpm = constraints.vtpm(specs, props)
    if tpm is not None:
        version, model = tpm
        root.required.add(TPM_MODEL_TRAITS[model])
        root.required.add(TPM_VERSION_TRAITS[version])
    if constraints.pci_numa_policy(specs, props) == "socket":
        root.required.add("COMPUTE_SOCKET_PCI_NUMA_AFFINITY")
    if constraints.secure_boot(specs, props) == "required":
        root.required.add("COMPUTE_SECURITY_UEFI_SECURE_BOOT")
    mode = constraints.maxphysaddr_mode(specs, props)
    if mode is not None:
        root.required.add(MAXPHYSADDR_TRAITS[mode])
    if constraints.stateless_firmware(props):
        root.required.add("COMPUTE_SECURITY_STATELESS_FIRMWARE")


def resource_draft(spec: RequestSpec, *, translate_pinning: bool = True) -> ResourceDraft:
    """The groups the spec asks Placement for, before request filters narrow them
    (`translate_pinning=False`: Nova's enable_pinning_translate=False, the
    VCPU query of the PCPU fallback). A request Nova would fail here (an
    invalid or conflicting hw: spec or image property) comes back with
    `refusal` set and the reason Nova gives."""
    try:
        return _draft(spec, translate_pinning)
    except constraints.ConstraintError as exc:
        draft = ResourceDraft({"": GroupDraft("")})
        draft.refusal = str(exc)
        return draft


def _draft(spec: RequestSpec, translate_pinning: bool) -> ResourceDraft:
    flavor = spec.flavor
    draft = ResourceDraft({"": GroupDraft("")})
    root = draft.root
    specs = flavor.extra_specs
    # _process_extra_specs; a zero amount is kept until strip_zeros, since it
    # still keeps the flavor's own amount of that class out.
    for key, text in specs.items():
        if key == "group_policy":
            if text in ("none", "isolate"):
                draft.group_policy = GroupPolicy(text)
            continue
        if match := _RESOURCES.match(key):
            count = _amount(text)
            if count is not None and _resource_class(match.group(2)):
                draft.group(match.group(1) or "").resources[match.group(2)] = count
        elif match := _TRAIT.match(key):
            target = draft.group(match.group(1) or "")
            if text == "required":
                target.required.add(match.group(2))
            elif text == "forbidden":
                target.forbidden.add(match.group(2))
    root.required.update(_image_traits(spec.image.properties))
    if translate_pinning:
        _pinning(draft, spec)
    # _process_requested_resources: ports' and device profiles' groups
    for index, requested in enumerate(spec.requested_resources):
        extra = draft.group(requested.suffix or f"_requested{index}")
        extra.resources.update(requested.resources)
        extra.required_any.extend(requested.required_traits)
        extra.forbidden.update(requested.forbidden_traits)
        extra.member_of.extend(requested.member_of)
        extra.forbidden_aggs.update(requested.forbidden_aggs)
        extra.in_tree = requested.in_tree
    # The flavor's own amounts, each only for a class no group asks for yet
    # (a PCPU anywhere keeps VCPU out: Nova's other way to ask for pinning).
    merged = {rc for g in draft.groups.values() for rc in g.resources}
    if not merged & {"VCPU", "PCPU"}:
        root.resources["VCPU"] = flavor.vcpus
    if "MEMORY_MB" not in merged:
        root.resources["MEMORY_MB"] = flavor.memory_mb
    if "DISK_GB" not in merged and (disk := _flavor_disk_gb(spec)):
        root.resources["DISK_GB"] = disk
    _hardware(draft, spec)
    # strip_zeros
    for group in draft.groups.values():
        for rc in [rc for rc, amount in group.resources.items() if amount == 0]:
            del group.resources[rc]
    granular = sum(1 for suffix in draft.groups if suffix)
    if granular > 1 and draft.group_policy is None:
        # Placement refuses several granular groups without a policy (Nova
        # sends none then and the request fails); corral lets them share.
        draft.group_policy = GroupPolicy.NONE
    return draft
