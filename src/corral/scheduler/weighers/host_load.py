"""IoOpsWeigher, NumInstancesWeigher, BuildFailureWeigher, HypervisorVersionWeigher."""

from __future__ import annotations

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher, floats


class IoOpsWeigher(HostWeigher):
    """Nova: num_io_ops; the default multiplier (-1.0) prefers quiet hosts."""

    name = "IoOpsWeigher"
    multiplier_option = ("filter_scheduler", "io_ops_weight_multiplier")
    aggregate_key = "io_ops_weight_multiplier"
    minval = 0

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.num_io_ops, len(batch))


class NumInstancesWeigher(HostWeigher):
    """Nova: num_instances; positive multiplier packs, negative spreads, 0 (default) off."""

    name = "NumInstancesWeigher"
    multiplier_option = ("filter_scheduler", "num_instances_weight_multiplier")
    aggregate_key = "num_instances_weight_multiplier"

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.num_instances, len(batch))


class BuildFailureWeigher(HostWeigher):
    """Nova: failed_builds, with the multiplier negated (recent failures sink a host)."""

    name = "BuildFailureWeigher"
    multiplier_option = ("filter_scheduler", "build_failure_weight_multiplier")
    aggregate_key = "build_failure_weight_multiplier"
    reads_consumption = False

    def multipliers(self, batch: HostBatch) -> Floats:
        return -1 * super().multipliers(batch)

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.failed_builds, len(batch))


class HypervisorVersionWeigher(HostWeigher):
    """Nova: hypervisor_version (unknown reads as 0); positive prefers newer hosts."""

    name = "HypervisorVersionWeigher"
    multiplier_option = ("filter_scheduler", "hypervisor_version_weight_multiplier")
    aggregate_key = "hypervisor_version_weight_multiplier"
    reads_consumption = False

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return floats(batch.hypervisor_version, len(batch))
