"""RAMWeigher, CPUWeigher, DiskWeigher: free capacity, spreading by default."""

from __future__ import annotations

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher, floats


class RAMWeigher(HostWeigher):
    """Nova: free_ram_mb (negative free reads as 0); a negative multiplier stacks."""

    name = "RAMWeigher"
    multiplier_option = ("filter_scheduler", "ram_weight_multiplier")
    aggregate_key = "ram_weight_multiplier"
    minval = 0

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.free_ram_mb, len(batch))


class CPUWeigher(HostWeigher):
    """Nova: vcpus_total x cpu_allocation_ratio - vcpus_used."""

    name = "CPUWeigher"
    multiplier_option = ("filter_scheduler", "cpu_weight_multiplier")
    aggregate_key = "cpu_weight_multiplier"
    minval = 0

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.vcpus_total * batch.cpu_allocation_ratio - batch.vcpus_used, len(batch))


class DiskWeigher(HostWeigher):
    """Nova: free_disk_mb."""

    name = "DiskWeigher"
    multiplier_option = ("filter_scheduler", "disk_weight_multiplier")
    aggregate_key = "disk_weight_multiplier"
    minval = 0

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.free_disk_mb, len(batch))
