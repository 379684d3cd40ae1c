"""HostBatch: every candidate host of one decision, as columns.

Filters take a batch and return a boolean mask over its hosts; weighers
return one float per host. Cheap checks work on the numpy columns; the few
that need per-host structure (NUMA, PCI, JSON queries, capabilities) read
the per-host lists, after the cheap ones have narrowed the batch.

Units are Nova's HostState units: memory in MB, disk in GB (free_disk_mb in
MB, as Nova keeps it), the usage figures come from Placement (allocations
against each compute node provider's inventory), so they include every claim
committed so far, including earlier instances of the same request.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from corral.store.capacity import capacity

Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# The root provider's classes a batch carries: class -> its (total, reserved,
# allocation ratio, used) columns.
_RESOURCE_COLUMNS = {
    "VCPU": ("vcpus_total", "vcpus_reserved", "cpu_allocation_ratio", "vcpus_used"),
    "MEMORY_MB": (
        "memory_mb_total",
        "memory_mb_reserved",
        "ram_allocation_ratio",
        "memory_mb_used",
    ),
    "DISK_GB": ("disk_gb_total", "disk_gb_reserved", "disk_allocation_ratio", "disk_gb_used"),
}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A Nova host aggregate (mirrored to a placement aggregate of the same uuid)."""

    id: int
    uuid: str
    name: str
    metadata: Mapping[str, str]
    hosts: frozenset[str]

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get("availability_zone")


@dataclass(slots=True)
class HostBatch:
    """Columns over `len(self)` hosts; row i of every column is the same host.

    `take(mask_or_index)` gives the sub-batch of the selected rows, keeping the
    order, so a filter chain can shrink the batch as it goes.
    """

    # identity
    host: list[str]  # Nova service host name
    node: list[str]  # hypervisor node name
    provider_uuid: list[str]  # the compute node's root resource provider
    cell_uuid: list[str]
    # service state (ComputeFilter)
    enabled: Mask
    up: Mask
    # resources from Placement, per host (VCPU, MEMORY_MB, DISK_GB of the root provider)
    vcpus_total: Ints
    vcpus_used: Ints
    vcpus_reserved: Ints
    cpu_allocation_ratio: Floats
    memory_mb_total: Ints
    memory_mb_used: Ints
    memory_mb_reserved: Ints
    ram_allocation_ratio: Floats
    disk_gb_total: Ints
    disk_gb_used: Ints
    disk_gb_reserved: Ints
    disk_allocation_ratio: Floats
    # free_ram_mb / free_disk_mb as Nova's HostState: total - reserved - used (may be negative)
    free_ram_mb: Ints
    free_disk_mb: Ints
    # instance counts and the host's reported load
    num_instances: Ints
    num_io_ops: Ints
    failed_builds: Ints
    hypervisor_version: Ints
    # per-host structure
    hypervisor_type: list[str]
    hypervisor_hostname: list[str]
    cpu_info: list[Mapping[str, object]]  # Nova's cpu_info JSON, decoded
    # the compute node's `stats`; ComputeCapabilitiesFilter and JsonFilter read it
    # after the HostState attributes (corral.scheduler.filters.attributes)
    capabilities: list[Mapping[str, object]]
    metrics: list[Mapping[str, float]]  # name -> value (MetricsFilter/Weigher)
    supported_instances: list[tuple[tuple[str, str, str], ...]]  # (arch, hv_type, vm_mode)
    host_ip: list[str | None]
    numa_topology: list[Mapping[str, object] | None]
    pci_stats: list[Sequence[Mapping[str, object]]]
    traits: list[frozenset[str]]  # root provider traits
    # aggregates this host belongs to (indexes into `aggregates`)
    aggregate_ids: list[frozenset[int]]
    # every aggregate, by id, shared by all rows
    aggregates: Mapping[int, Aggregate] = field(default_factory=dict)
    # instance uuid -> project id for the instances on each host
    instances: list[Mapping[str, str]] = field(default_factory=list)
    # the availability zone of each host (aggregate metadata or [DEFAULT] default_availability_zone)
    availability_zone: list[str] = field(default_factory=list)
    # instance uuid -> that instance's image properties (ImagePropertiesWeigher)
    instance_image_properties: list[Mapping[str, Mapping[str, object]]] = field(
        default_factory=list
    )
    # per host, the "mappings" of each allocation candidate Placement returned for it
    # (request group suffix -> provider uuids); NUMA/PCI filters keep the hosts where
    # one candidate fits. Left empty: one candidate without mappings per host.
    candidate_mappings: list[tuple[Mapping[str, tuple[str, ...]], ...]] = field(
        default_factory=list
    )

    def __len__(self) -> int:
        return len(self.host)

    def take(self, which: Mask | Ints) -> HostBatch:
        """The rows picked by a boolean mask or an index array, in order."""
        index = np.flatnonzero(which) if which.dtype == np.bool_ else which
        rows = index.tolist()
        # itemgetter picks many list items in C; with one index it returns the item.
        pick = operator.itemgetter(*rows) if len(rows) > 1 else None
        picked: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "aggregates":
                picked[name] = value
            elif isinstance(value, np.ndarray):
                picked[name] = value[index]
            elif not value:
                picked[name] = []  # a per-host column the loader left unfilled
            elif pick is not None:
                picked[name] = list(pick(value))
            else:
                picked[name] = [value[i] for i in rows]
        return HostBatch(**picked)  # type: ignore[arg-type]

    def fits(self, row: int, amounts: Mapping[str, int] | None) -> bool:
        """Whether host `row`'s root provider still has room for `amounts` (class ->
        amount) by the batch's figures and the one capacity rule. Only the classes
        the batch carries are checked: it is a shortcut, the claim decides."""
        if not amounts:
            return True
        for resource_class, amount in amounts.items():
            names = _RESOURCE_COLUMNS.get(resource_class)
            if not amount or names is None:
                continue
            total, reserved, ratio, used = (getattr(self, n)[row] for n in names)
            if used + amount > capacity(int(total), int(reserved), float(ratio)):
                return False
        return True

    def consume(self, row: int, taken: Mapping[str, int], instance: tuple[str, str] | None) -> None:
        """Nova's HostState.consume_from_request: the host's figures after one
        more instance took `taken` from its root provider (`instance`: its uuid
        and project, when it has one)."""
        # vcpus_used is the root provider's VCPU usage, as loaded from Placement:
        # a pinned instance's PCPU is not in it (else `fits` would count it
        # against the VCPU inventory the next instance asks for).
        vcpu = int(taken.get("VCPU", 0))
        memory = int(taken.get("MEMORY_MB", 0))
        disk = int(taken.get("DISK_GB", 0))
        self.vcpus_used[row] += vcpu
        self.memory_mb_used[row] += memory
        self.free_ram_mb[row] -= memory
        self.disk_gb_used[row] += disk
        self.free_disk_mb[row] -= disk * 1024
        self.num_instances[row] += 1
        self.num_io_ops[row] += 1
        if instance is not None and self.instances:
            uuid, project = instance
            self.instances[row] = {**self.instances[row], uuid: project}

    def consumed(self, taken: Mapping[str, int], times: Ints) -> HostBatch:
        """A copy of the batch once row i has taken `taken` from its root
        provider `times[i]` more times, each a new instance recorded on it, as
        the host cache shows a host after that many separate decisions
        (`consume` for many instances at once; the io_ops a host reports are
        left as reported, as between two requests)."""
        times = times.astype(np.int64, copy=False)
        vcpu = int(taken.get("VCPU", 0))
        memory = int(taken.get("MEMORY_MB", 0))
        disk = int(taken.get("DISK_GB", 0))
        # New arrays for what moves; every other column is shared, read-only.
        return dataclasses.replace(
            self,
            vcpus_used=self.vcpus_used + times * vcpu,
            memory_mb_used=self.memory_mb_used + times * memory,
            free_ram_mb=self.free_ram_mb - times * memory,
            disk_gb_used=self.disk_gb_used + times * disk,
            free_disk_mb=self.free_disk_mb - times * disk * 1024,
            num_instances=self.num_instances + times,
        )

    def host_aggregates(self, row: int) -> list[Aggregate]:
        return [self.aggregates[i] for i in sorted(self.aggregate_ids[row])]

    def aggregate_metadata(self, row: int, key: str) -> set[str]:
        """Nova's utils.aggregate_metadata_get_by_host(...)[key]: the values across aggregates."""
        return {agg.metadata[key] for agg in self.host_aggregates(row) if key in agg.metadata}
