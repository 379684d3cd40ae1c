"""Nova 34's request filters: narrowing the Placement query before any host is seen.

Each filter reads the spec and the host aggregates and adds constraints on
the unsuffixed group or the root provider, labelled with the phrase the
NoValidHost explanation uses for hosts it rules out ("disabled", "not in AZ
az2"). The set and the options are Nova's (nova.scheduler.request_filter):

- compute_status_filter: never a root with COMPUTE_STATUS_DISABLED (always on);
- map_az_to_placement_aggregate: an availability zone is the aggregates that
  carry it (always on in Nova 34; a zone no aggregate names is not narrowed);
- require_tenant_aggregate ([scheduler] limit_tenants_to_placement_aggregate,
  placement_aggregate_required_for_tenants);
- isolate_aggregates ([scheduler] enable_isolated_aggregate_filtering);
- require_image_type_support ([scheduler] query_placement_for_image_type_support);
- transform_image_metadata ([scheduler] image_metadata_prefilter);
- accelerators_filter: COMPUTE_ACCELERATORS for `accel:device_profile`;
- packed_virtqueue_filter: COMPUTE_NET_VIRTIO_PACKED for `hw:virtio_packed_ring`;
- remote_managed_ports_filter: COMPUTE_REMOTE_MANAGED_PORTS for a
  remote-managed port (see RemoteManagedPorts for what corral reads);
- ephemeral_encryption_filter: COMPUTE_EPHEMERAL_ENCRYPTION[_<format>];
- virtio_sound_filter: COMPUTE_SOUND_MODEL_VIRTIO for `hw:sound_model=virtio`;
- tpm_secret_security_filter: COMPUTE_SECURITY_TPM_SECRET_SECURITY_<policy> for
  a vTPM (an unknown policy refuses the request, Nova's RequestFilterFailed);
- owner_nova_filter: OWNER_NOVA on the root and on flavor PCI groups, gated by
  [scheduler] require_owner_nova_trait (see OwnerNova).

Each is a `RequestFilter` (the declared extension point: `name` and
`apply`), listed in ALL_REQUEST_FILTERS in Nova's order; the registry
(corral.scheduler.registry) hands the list to the search stage. The flavor
and image rules they read are nova.virt.hardware's
(corral.scheduler.constraints); where Nova raises reading them, the request
is refused with Nova's reason.

Nova's routed_networks_filter asks Neutron for the segments of the requested
networks; corral does not talk to Neutron, so it is not applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import os_traits

from corral.compute.hardware.primitives import unwrap
from corral.scheduler import constraints
from corral.scheduler.batch import Aggregate
from corral.scheduler.resources import ResourceDraft, resource_draft
from corral.scheduler.spec import RequestSpec

DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"
TENANT_KEY = "filter_tenant_id"

# transform_image_metadata: image property -> trait prefix.
IMAGE_TRAIT_PREFIXES = {
    "hw_cdrom_bus": "COMPUTE_STORAGE_BUS",
    "hw_disk_bus": "COMPUTE_STORAGE_BUS",
    "hw_video_model": "COMPUTE_GRAPHICS_MODEL",
    "hw_vif_model": "COMPUTE_NET_VIF_MODEL",
    "hw_architecture": "HW_ARCH",
    "hw_emulation_architecture": "COMPUTE_ARCH",
    "hw_viommu_model": "COMPUTE_VIOMMU",
}

_KNOWN_TRAITS = frozenset(os_traits.get_traits())


@dataclass(frozen=True, slots=True)
class RequestFilterSettings:
    limit_tenants_to_placement_aggregate: bool = False
    placement_aggregate_required_for_tenants: bool = False
    enable_isolated_aggregate_filtering: bool = False
    query_placement_for_image_type_support: bool = False
    image_metadata_prefilter: bool = False
    # owner_nova_filter's gate (Nova's: every nova-compute at service version 73)
    require_owner_nova_trait: bool = False


@dataclass
class Narrowing:
    """What the request filters add, each constraint with its explanation label.

    `member_of` entries are any-of sets of aggregate uuids (all entries must
    hold); `refusal` is set when a filter fails the request outright (Nova's
    RequestFilterFailed).
    """

    member_of: list[tuple[frozenset[str], str]] = field(default_factory=list)
    forbidden_aggs: dict[str, str] = field(default_factory=dict)
    root_required: dict[str, str] = field(default_factory=dict)
    root_forbidden: dict[str, str] = field(default_factory=dict)
    # suffix of a requested group -> traits it must have too (owner_nova_filter)
    group_required: dict[str, set[str]] = field(default_factory=dict)
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class FilterInput:
    """What a request filter reads: the spec, what it asks of Placement, the
    host aggregates and the options."""

    spec: RequestSpec
    draft: ResourceDraft
    aggregates: Mapping[int, Aggregate]
    settings: RequestFilterSettings


class RequestFilter:
    """One of Nova's request filters: adds to the Narrowing, or refuses."""

    name: ClassVar[str]

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        raise NotImplementedError


class ComputeStatus(RequestFilter):
    """compute_status_filter: never a root with COMPUTE_STATUS_DISABLED."""

    name = "compute_status_filter"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        narrowing.root_forbidden[DISABLED_TRAIT] = "disabled"


class AvailabilityZone(RequestFilter):
    """map_az_to_placement_aggregate: a zone is the aggregates that carry it."""

    name = "map_az_to_placement_aggregate"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        zone = request.spec.availability_zone
        if not zone:
            return
        uuids = frozenset(
            a.uuid for a in request.aggregates.values() if a.availability_zone == zone
        )
        if uuids:
            narrowing.member_of.append((uuids, f"not in AZ {zone}"))


class TenantAggregates(RequestFilter):
    """require_tenant_aggregate: a project's aggregates (filter_tenant_id*)."""

    name = "require_tenant_aggregate"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        settings = request.settings
        if not settings.limit_tenants_to_placement_aggregate:
            return
        project = request.spec.project_id
        uuids = frozenset(
            a.uuid
            for a in request.aggregates.values()
            if any(k.startswith(TENANT_KEY) and v == project for k, v in a.metadata.items())
        )
        if uuids:
            narrowing.member_of.append((uuids, "not in an aggregate of the project"))
        elif settings.placement_aggregate_required_for_tenants:
            narrowing.refusal = f"no aggregate is set aside for project {project}"


def _required_traits(draft: ResourceDraft) -> set[str]:
    """Nova's ResourceRequest.all_required_traits: every group's, translated ones included."""
    groups = draft.groups.values()
    return {t for g in groups for t in g.required} | {
        t for g in groups for s in g.required_any if len(s) == 1 for t in s
    }


class IsolatedAggregates(RequestFilter):
    """isolate_aggregates: an aggregate that requires a trait the request does
    not ask for is off limits."""

    name = "isolate_aggregates"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        if not request.settings.enable_isolated_aggregate_filtering:
            return
        wanted = _required_traits(request.draft)
        for agg in request.aggregates.values():
            required = {
                key.partition(":")[2]
                for key, value in agg.metadata.items()
                if key.startswith("trait:") and value == "required"
            }
            if required - wanted:
                narrowing.forbidden_aggs[agg.uuid] = "in an aggregate isolated for other traits"


class ImageType(RequestFilter):
    """require_image_type_support: COMPUTE_IMAGE_TYPE_<disk format> on the root."""

    name = "require_image_type_support"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        spec = request.spec
        if not request.settings.query_placement_for_image_type_support or spec.is_bfv:
            return
        disk_format = spec.image.disk_format
        if not disk_format:
            return
        trait = f"COMPUTE_IMAGE_TYPE_{disk_format.upper()}"
        if trait in _KNOWN_TRAITS:
            narrowing.root_required[trait] = f"does not support {disk_format} images"


class ImageMetadata(RequestFilter):
    """transform_image_metadata: image properties as required root traits."""

    name = "transform_image_metadata"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        if not request.settings.image_metadata_prefilter:
            return
        wanted: dict[str, str] = {}
        for prop, prefix in IMAGE_TRAIT_PREFIXES.items():
            value = request.spec.image.properties.get(prop)
            if not isinstance(value, str) or not value:
                continue
            trait = f"{prefix}_{value.replace('-', '_').upper()}"
            if trait not in _KNOWN_TRAITS:
                return  # Nova then adds none of the image's traits
            wanted[trait] = f"lacks {trait} for image {prop}"
        narrowing.root_required.update(wanted)


class Accelerators(RequestFilter):
    """accelerators_filter: a Cyborg device profile needs a compute that handles
    accelerator requests (COMPUTE_ACCELERATORS)."""

    name = "accelerators_filter"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        if request.spec.flavor.extra_specs.get("accel:device_profile"):
            narrowing.root_required["COMPUTE_ACCELERATORS"] = "does not support accelerators"


class _ConstraintFilter(RequestFilter):
    """A request filter reading nova.virt.hardware's rules: what Nova raises
    there refuses the request."""

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        try:
            self.narrow(request, narrowing)
        except constraints.ConstraintError as exc:
            narrowing.refusal = str(exc)

    def narrow(self, request: FilterInput, narrowing: Narrowing) -> None:
        raise NotImplementedError


class PackedVirtqueue(_ConstraintFilter):
    """packed_virtqueue_filter: COMPUTE_NET_VIRTIO_PACKED for hw:virtio_packed_ring."""

    name = "packed_virtqueue_filter"

    def narrow(self, request: FilterInput, narrowing: Narrowing) -> None:
        spec = request.spec
        if constraints.packed_virtqueue(spec.flavor.extra_specs, spec.image.properties):
            narrowing.root_required["COMPUTE_NET_VIRTIO_PACKED"] = (
                "does not support packed virtqueues"
            )


@dataclass(frozen=True, slots=True)
class _PciAsk:
    """What the request filters read of an InstancePCIRequest."""

    from_port: bool  # InstancePCIRequest.source == NEUTRON_PORT (no alias)
    request_id: str | None
    specs: tuple[Mapping[str, object], ...]


def _pci_asks(spec: RequestSpec) -> list[_PciAsk]:
    out = []
    for raw in spec.pci_requests:
        fields = unwrap(raw)
        if not isinstance(fields, Mapping):
            continue
        specs = unwrap(fields.get("spec")) or ()
        alias, request_id = fields.get("alias_name"), fields.get("request_id")
        out.append(
            _PciAsk(
                from_port=not alias,
                request_id=request_id if isinstance(request_id, str) else None,
                specs=tuple(unwrap(s) for s in specs if isinstance(unwrap(s), Mapping)),
            )
        )
    return out


class RemoteManagedPorts(RequestFilter):
    """remote_managed_ports_filter: COMPUTE_REMOTE_MANAGED_PORTS for a port of
    VNIC type remote-managed.

    Nova asks Neutron for each requested port's VNIC type. corral does not
    talk to Neutron; it reads what nova-api recorded from Neutron in the same
    spec: a port of an SR-IOV VNIC type has a PCI request (no alias) whose
    spec carries `remote_managed` = "True" exactly when the VNIC type is
    remote-managed (nova.network.neutron.API.create_resource_requests).
    """

    name = "remote_managed_ports_filter"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        for pci in _pci_asks(request.spec):
            if pci.from_port and any(constraints.flag(s.get("remote_managed")) for s in pci.specs):
                narrowing.root_required["COMPUTE_REMOTE_MANAGED_PORTS"] = (
                    "does not support remote-managed ports"
                )
                return


class EphemeralEncryption(_ConstraintFilter):
    """ephemeral_encryption_filter: COMPUTE_EPHEMERAL_ENCRYPTION, and the
    format's own trait when one is asked for."""

    name = "ephemeral_encryption_filter"

    def narrow(self, request: FilterInput, narrowing: Narrowing) -> None:
        specs, props = request.spec.flavor.extra_specs, request.spec.image.properties
        if not constraints.ephemeral_encryption(specs, props):
            return
        label = "does not encrypt ephemeral storage"
        narrowing.root_required["COMPUTE_EPHEMERAL_ENCRYPTION"] = label
        fmt = constraints.ephemeral_encryption_format(specs, props)
        if fmt:
            narrowing.root_required[f"COMPUTE_EPHEMERAL_ENCRYPTION_{fmt.upper()}"] = (
                f"does not encrypt ephemeral storage as {fmt}"
            )


class VirtioSound(_ConstraintFilter):
    """virtio_sound_filter: COMPUTE_SOUND_MODEL_VIRTIO for a virtio sound device."""

    name = "virtio_sound_filter"

    def narrow(self, request: FilterInput, narrowing: Narrowing) -> None:
        spec = request.spec
        if constraints.sound_model(spec.flavor.extra_specs, spec.image.properties) == "virtio":
            narrowing.root_required["COMPUTE_SOUND_MODEL_VIRTIO"] = "does not support virtio sound"


# tpm_secret_security_filter: hw:tpm_secret_security -> trait
TPM_SECRET_SECURITY_TRAITS = {
    "user": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER",
    "host": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST",
    "deployment": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT",
}


class TpmSecretSecurity(_ConstraintFilter):
    """tpm_secret_security_filter: a vTPM's secret security policy (user unless
    the flavor says) as a trait; an unknown policy refuses the request."""

    name = "tpm_secret_security_filter"

    def narrow(self, request: FilterInput, narrowing: Narrowing) -> None:
        specs = request.spec.flavor.extra_specs
        if constraints.vtpm(specs, request.spec.image.properties) is None:
            return
        security = constraints.tpm_secret_security(specs) or "user"
        trait = TPM_SECRET_SECURITY_TRAITS.get(security)
        if trait is None:
            narrowing.refusal = f"TPM secret security '{security}' is not supported."
            return
        narrowing.root_required[trait] = f"does not keep vTPM secrets as {security}"


OWNER_NOVA = "OWNER_NOVA"


class OwnerNova(RequestFilter):
    """owner_nova_filter: only Nova's own providers (OWNER_NOVA) on the root and
    in the groups of the flavor's PCI requests (pci_in_placement).

    Nova adds the trait once every nova-compute runs service version 73 (Nova
    34), which reports it; before that no provider has it. corral does not
    see service versions, so [scheduler] require_owner_nova_trait says when.
    As in Nova, a spec that already requires OWNER_NOVA (a reschedule) is
    left as it is.
    """

    name = "owner_nova_filter"

    def apply(self, request: FilterInput, narrowing: Narrowing) -> None:
        spec = request.spec
        if OWNER_NOVA in spec.request_level_params.root_required:
            return
        if not request.settings.require_owner_nova_trait:
            return
        narrowing.root_required[OWNER_NOVA] = "is not a Nova compute provider"
        # _get_pci_request_ids: the flavor's (alias) PCI requests; their groups'
        # requester_id is "<request_id>-<index>".
        pci_ids = {p.request_id for p in _pci_asks(spec) if not p.from_port and p.request_id}
        for group in spec.requested_resources:
            if group.suffix and group.suffix.rsplit("-", 1)[0] in pci_ids:
                narrowing.group_required.setdefault(group.suffix, set()).add(OWNER_NOVA)


# Nova's order (nova.scheduler.request_filter.ALL_REQUEST_FILTERS, less
# routed_networks_filter, which needs Neutron).
ALL_REQUEST_FILTERS: tuple[type[RequestFilter], ...] = (
    TenantAggregates,
    AvailabilityZone,
    ImageType,
    ComputeStatus,
    IsolatedAggregates,
    ImageMetadata,
    Accelerators,
    PackedVirtqueue,
    RemoteManagedPorts,
    EphemeralEncryption,
    VirtioSound,
    TpmSecretSecurity,
    OwnerNova,
)


def narrow(
    spec: RequestSpec,
    aggregates: Mapping[int, Aggregate],
    settings: RequestFilterSettings,
    *,
    draft: ResourceDraft | None = None,
    request_filters: Sequence[RequestFilter] | None = None,
) -> Narrowing:
    """Every request filter, in Nova's order (`draft`: the spec's resource
    draft, when the caller has it already)."""
    if draft is None:
        draft = resource_draft(spec)
    if request_filters is None:
        request_filters = [cls() for cls in ALL_REQUEST_FILTERS]
    request = FilterInput(spec, draft, aggregates, settings)
    narrowing = Narrowing()
    for request_filter in request_filters:
        request_filter.apply(request, narrowing)
        if narrowing.refusal is not None:
            break  # Nova's RequestFilterFailed ends process_reqspec
    return narrowing
