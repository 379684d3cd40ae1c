"""Nova's host filters, every one Nova 34 (2026.2) ships, by Nova's class names.

ALL_FILTERS is the explicit list the registry (corral.scheduler.registry) is
built from, in Nova's module order; nothing is discovered or imported by name.
Nova 34 has no AvailabilityZoneFilter (removed in 2024.1: availability zones
are a Placement request filter) and no Ram/Core/DiskFilter (removed earlier:
Placement checks capacity).
"""

from __future__ import annotations

from corral.scheduler.filters.affinity import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
    SimpleCIDRAffinityFilter,
)
from corral.scheduler.filters.aggregate_image_properties_isolation import (
    AggregateImagePropertiesIsolation,
)
from corral.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from corral.scheduler.filters.aggregate_multitenancy_isolation import (
    AggregateMultiTenancyIsolation,
)
from corral.scheduler.filters.all_hosts import AllHostsFilter
from corral.scheduler.filters.base import (
    CandidateFilter,
    HostByHostFilter,
    HostFilter,
    IncompleteBatch,
    PreFilter,
)
from corral.scheduler.filters.compute import ComputeFilter
from corral.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from corral.scheduler.filters.image_properties import ImagePropertiesFilter
from corral.scheduler.filters.io_ops import AggregateIoOpsFilter, IoOpsFilter
from corral.scheduler.filters.isolated_hosts import IsolatedHostsFilter
from corral.scheduler.filters.json_filter import JsonFilter
from corral.scheduler.filters.metrics import MetricsFilter
from corral.scheduler.filters.num_instances import (
    AggregateNumInstancesFilter,
    NumInstancesFilter,
)
from corral.scheduler.filters.numa_topology import NUMATopologyFilter
from corral.scheduler.filters.pci_passthrough import PciPassthroughFilter
from corral.scheduler.filters.type_affinity import AggregateTypeAffinityFilter

ALL_FILTERS: tuple[type[HostFilter], ...] = (
    DifferentHostFilter,
    SameHostFilter,
    SimpleCIDRAffinityFilter,
    ServerGroupAntiAffinityFilter,
    ServerGroupAffinityFilter,
    AggregateImagePropertiesIsolation,
    AggregateInstanceExtraSpecsFilter,
    AggregateMultiTenancyIsolation,
    AllHostsFilter,
    ComputeCapabilitiesFilter,
    ComputeFilter,
    ImagePropertiesFilter,
    IoOpsFilter,
    AggregateIoOpsFilter,
    IsolatedHostsFilter,
    JsonFilter,
    MetricsFilter,
    NumInstancesFilter,
    AggregateNumInstancesFilter,
    NUMATopologyFilter,
    PciPassthroughFilter,
    AggregateTypeAffinityFilter,
)

__all__ = [
    "ALL_FILTERS",
    "AggregateImagePropertiesIsolation",
    "AggregateInstanceExtraSpecsFilter",
    "AggregateIoOpsFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateNumInstancesFilter",
    "AggregateTypeAffinityFilter",
    "AllHostsFilter",
    "CandidateFilter",
    "ComputeCapabilitiesFilter",
    "ComputeFilter",
    "DifferentHostFilter",
    "HostByHostFilter",
    "HostFilter",
    "ImagePropertiesFilter",
    "IncompleteBatch",
    "IoOpsFilter",
    "IsolatedHostsFilter",
    "JsonFilter",
    "MetricsFilter",
    "NUMATopologyFilter",
    "NumInstancesFilter",
    "PciPassthroughFilter",
    "PreFilter",
    "SameHostFilter",
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "SimpleCIDRAffinityFilter",
]
