"""Building a HostBatch: Nova HostManager's HostState objects, as columns.

Nova's HostState takes the node's resources (vcpus, memory_mb, local_gb,
their usage and allocation ratios) from the ComputeNode record; corral
takes them from the placement index (corral.placement.index.IndexView),
which the caller holds caught up for its candidate search, so a decision
runs no SQL for them and sees the same capacity the search saw. Everything
else comes from the mirror (corral.scheduler.host_cache.mirror).
"""

from __future__ import annotations

from typing import Any

import os_resource_classes

from corral.placement.index import IndexView
from corral.scheduler.batch import HostBatch
from corral.scheduler.host_cache import liveness
from corral.scheduler.host_cache.mirror import HostMirror, Rows

VCPU = os_resource_classes.STANDARDS.index(os_resource_classes.VCPU)
MEMORY_MB = os_resource_classes.STANDARDS.index(os_resource_classes.MEMORY_MB)
DISK_GB = os_resource_classes.STANDARDS.index(os_resource_classes.DISK_GB)


class BatchBuilder:
    """Builds batches from one mirror, remembering each row's index slot
    until the index's topology or the mirror's rows change."""

    def __init__(self) -> None:
        self._slots: tuple[object, Rows] | None = None

    def _index_slots(self, mirror: HostMirror, view: IndexView) -> Rows:
        """The index slot of every row's provider (-1: not in the index)."""
        key = (view.topology, mirror, mirror.version)
        cached = self._slots
        if cached is not None and cached[0] == key:
            return cached[1]
        slots = view.slots_of(mirror.cols.obj["provider_uuid"][: mirror.cols.size].tolist())
        self._slots = (key, slots)
        return slots

    def build(
        self,
        mirror: HostMirror,
        rows: Rows,
        view: IndexView,
        now: float,
        service_down_time: float,
    ) -> HostBatch:
        cols = mirror.cols
        slots = self._index_slots(mirror, view)[rows]

        def objects(name: str) -> list[Any]:
            picked: list[Any] = cols.obj[name][rows].tolist()
            return picked

        vcpu = view.resources(VCPU, slots)
        memory = view.resources(MEMORY_MB, slots)
        disk = view.resources(DISK_GB, slots)
        has_service = cols.bools["has_service"][rows]
        up = liveness.up(
            has_service,
            cols.bools["forced_down"][rows],
            cols.floats["heartbeat"][rows],
            now,
            service_down_time,
        )
        return HostBatch(
            host=objects("host"),
            node=objects("node"),
            provider_uuid=objects("provider_uuid"),
            cell_uuid=objects("cell_uuid"),
            enabled=has_service & ~cols.bools["disabled"][rows],
            up=up,
            vcpus_total=vcpu.total,
            vcpus_used=vcpu.used,
            vcpus_reserved=vcpu.reserved,
            cpu_allocation_ratio=vcpu.ratio,
            memory_mb_total=memory.total,
            memory_mb_used=memory.used,
            memory_mb_reserved=memory.reserved,
            ram_allocation_ratio=memory.ratio,
            disk_gb_total=disk.total,
            disk_gb_used=disk.used,
            disk_gb_reserved=disk.reserved,
            disk_allocation_ratio=disk.ratio,
            free_ram_mb=memory.total - memory.reserved - memory.used,
            free_disk_mb=(disk.total - disk.reserved - disk.used) * 1024,
            num_instances=cols.ints["num_instances"][rows],
            num_io_ops=cols.ints["num_io_ops"][rows],
            failed_builds=cols.ints["failed_builds"][rows],
            hypervisor_version=cols.ints["hypervisor_version"][rows],
            hypervisor_type=objects("hypervisor_type"),
            hypervisor_hostname=objects("hypervisor_hostname"),
            cpu_info=objects("cpu_info"),
            capabilities=objects("capabilities"),
            metrics=objects("metrics"),
            supported_instances=objects("supported_instances"),
            host_ip=objects("host_ip"),
            numa_topology=objects("numa_topology"),
            pci_stats=objects("pci_stats"),
            traits=view.trait_names(slots),
            aggregate_ids=objects("aggregate_ids"),
            aggregates=mirror.aggregates,
            instances=objects("instances"),
            availability_zone=objects("availability_zone"),
            instance_image_properties=objects("instance_image_properties"),
        )
