"""What a request spec asks of Placement: Nova's ResourceRequest.from_request_spec.

The unsuffixed group starts from the flavor (VCPU, MEMORY_MB and DISK_GB =
root_gb unless boot-from-volume + ephemeral_gb + swap rounded up to GB) and
is overridden by `resources:RC=N` extra specs (0 removes a class). Numbered
or named groups come from `resourcesX:`/`traitX:` extra specs and from the
spec's requested_resources (ports, accelerators). `trait:T=required|
forbidden` in extra specs and `trait:T=required` image properties add trait
requirements. `hw:cpu_policy=dedicated` asks for PCPU instead of VCPU and
`hw:cpu_thread_policy` for or against HW_CPU_HYPERTHREADING, as Nova
translates pinning policies. Malformed extra specs are skipped, as Nova
does (the API refuses them before they get here when it can).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.placement.request import GroupPolicy, RequestGroup
from corral.scheduler.spec import RequestSpec

_RESOURCES = re.compile(r"^resources([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$")
_TRAIT = re.compile(r"^trait([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$")

HYPERTHREADING = "HW_CPU_HYPERTHREADING"


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
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def _pinning(draft: ResourceDraft, specs: Mapping[str, str], image: Mapping[str, object]) -> None:
    """Nova's _translate_pinning_policies (dedicated and thread policies)."""
    policy = specs.get("hw:cpu_policy") or str(image.get("hw_cpu_policy") or "")
    thread = specs.get("hw:cpu_thread_policy") or str(image.get("hw_cpu_thread_policy") or "")
    explicit = any(_RESOURCES.match(k) and k.endswith((":VCPU", ":PCPU")) for k in specs)
    root = draft.root
    if policy == "dedicated" and not explicit and "VCPU" in root.resources:
        pcpus = root.resources.pop("VCPU")
        if specs.get("hw:emulator_threads_policy") == "isolate":
            pcpus += 1
        root.resources["PCPU"] = pcpus
    if thread == "isolate":
        root.forbidden.add(HYPERTHREADING)
    elif thread == "require":
        root.required.add(HYPERTHREADING)


def resource_draft(spec: RequestSpec) -> ResourceDraft:
    """The groups the spec asks Placement for, before request filters narrow them."""
    flavor = spec.flavor
    root = GroupDraft("")
    for rc, amount in (
        ("VCPU", flavor.vcpus),
        ("MEMORY_MB", flavor.memory_mb),
        ("DISK_GB", _flavor_disk_gb(spec)),
    ):
        if amount > 0:
            root.resources[rc] = amount
    draft = ResourceDraft({"": root})
    specs = flavor.extra_specs
    for key, text in specs.items():
        if key == "group_policy":
            if text in ("none", "isolate"):
                draft.group_policy = GroupPolicy(text)
            continue
        if match := _RESOURCES.match(key):
            count = _amount(text)
            if count is None:
                continue
            target = draft.group(match.group(1) or "")
            if count == 0:
                target.resources.pop(match.group(2), None)
            else:
                target.resources[match.group(2)] = count
        elif match := _TRAIT.match(key):
            target = draft.group(match.group(1) or "")
            if text == "required":
                target.required.add(match.group(2))
            elif text == "forbidden":
                target.forbidden.add(match.group(2))
    for key, prop in spec.image.properties.items():
        if (match := _TRAIT.match(key)) and not match.group(1) and prop == "required":
            root.required.add(match.group(2))
    _pinning(draft, specs, spec.image.properties)
    for index, requested in enumerate(spec.requested_resources):
        extra = draft.group(requested.suffix or f"_requested{index}")
        extra.resources.update(requested.resources)
        extra.required_any.extend(requested.required_traits)
        extra.forbidden.update(requested.forbidden_traits)
        extra.member_of.extend(requested.member_of)
        extra.forbidden_aggs.update(requested.forbidden_aggs)
        extra.in_tree = requested.in_tree
    # Nova adds a flavor amount only for a class no group asks for already; a
    # PCPU anywhere (`resources:PCPU=N` is Nova's other way to ask for pinning) replaces VCPU.
    own = {
        k.partition(":")[2]
        for k, v in specs.items()
        if k.startswith("resources:") and _amount(v) is not None
    }
    asked = {rc for suffix, g in draft.groups.items() if suffix for rc in g.resources}
    asked |= {"VCPU"} if "PCPU" in asked or "PCPU" in root.resources else set()
    for rc in (asked & {"VCPU", "MEMORY_MB", "DISK_GB"}) - own:
        root.resources.pop(rc, None)
    granular = sum(1 for suffix in draft.groups if suffix)
    if granular > 1 and draft.group_policy is None:
        # Placement refuses several granular groups without a policy (Nova
        # sends none then and the request fails); corral lets them share.
        draft.group_policy = GroupPolicy.NONE
    return draft
