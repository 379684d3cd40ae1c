"""Nova's host weighers, every one Nova 34 (2026.2) ships, by Nova's class names.

ALL_WEIGHERS is the explicit list the registry is built from; it is also what
`all` in [filter_scheduler] weight_classes means (Nova's import path
`nova.scheduler.weights.all_weighers` is refused at startup). Nothing is
discovered or imported by name.
"""

from __future__ import annotations

from corral.scheduler.weighers.affinity import (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)
from corral.scheduler.weighers.base import HostWeigher, WeigherError
from corral.scheduler.weighers.combine import BatchWeights, normalize
from corral.scheduler.weighers.cross_cell import CrossCellWeigher
from corral.scheduler.weighers.host_load import (
    BuildFailureWeigher,
    HypervisorVersionWeigher,
    IoOpsWeigher,
    NumInstancesWeigher,
)
from corral.scheduler.weighers.image_props import ImagePropertiesWeigher
from corral.scheduler.weighers.metrics import MetricNotFound, MetricsWeigher
from corral.scheduler.weighers.pci import PCIWeigher
from corral.scheduler.weighers.resources import CPUWeigher, DiskWeigher, RAMWeigher

ALL_WEIGHERS: tuple[type[HostWeigher], ...] = (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
    BuildFailureWeigher,
    CPUWeigher,
    CrossCellWeigher,
    DiskWeigher,
    HypervisorVersionWeigher,
    ImagePropertiesWeigher,
    IoOpsWeigher,
    MetricsWeigher,
    NumInstancesWeigher,
    PCIWeigher,
    RAMWeigher,
)

__all__ = [
    "ALL_WEIGHERS",
    "BatchWeights",
    "BuildFailureWeigher",
    "CPUWeigher",
    "CrossCellWeigher",
    "DiskWeigher",
    "HostWeigher",
    "HypervisorVersionWeigher",
    "ImagePropertiesWeigher",
    "IoOpsWeigher",
    "MetricNotFound",
    "MetricsWeigher",
    "NumInstancesWeigher",
    "PCIWeigher",
    "RAMWeigher",
    "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
    "WeigherError",
    "normalize",
]
