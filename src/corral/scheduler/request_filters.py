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
- transform_image_metadata ([scheduler] image_metadata_prefilter).

Each is a `RequestFilter` (the declared extension point: `name` and
`apply`), listed in ALL_REQUEST_FILTERS in Nova's order; the registry
(corral.scheduler.registry) hands the list to the search stage.

Nova's routed-networks, accelerator, remote-managed-port and
ephemeral-encryption filters need Neutron and Cyborg data that corral's
request spec does not carry; they are not applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import os_traits

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


# Nova's order (nova.scheduler.request_filter.ALL_REQUEST_FILTERS, less the
# ones that need Neutron or Cyborg data).
ALL_REQUEST_FILTERS: tuple[type[RequestFilter], ...] = (
    TenantAggregates,
    AvailabilityZone,
    ImageType,
    ComputeStatus,
    IsolatedAggregates,
    ImageMetadata,
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
    return narrowing
