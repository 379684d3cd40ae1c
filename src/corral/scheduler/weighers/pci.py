"""PCIWeigher: keep hosts with free PCI devices for the requests that need them."""

from __future__ import annotations

import numpy as np

from corral.compute.hardware.pci import free_devices
from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher

MAX_DEVS = 100


class PCIWeigher(HostWeigher):
    """Nova 34: MAX_DEVS - min(free PCI devices, MAX_DEVS - 1), so hosts with
    fewer free devices weigh more (stacking PCI users, keeping PCI hosts free)."""

    name = "PCIWeigher"
    multiplier_option = ("filter_scheduler", "pci_weight_multiplier")
    aggregate_key = "pci_weight_multiplier"
    reads_consumption = False

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        # Most hosts have no PCI pools: they all weigh MAX_DEVS, set at once.
        weights = np.full(len(batch), MAX_DEVS, dtype=np.float64)
        for row, pools in enumerate(batch.pci_stats):
            if pools:
                weights[row] = MAX_DEVS - min(free_devices(pools), MAX_DEVS - 1)
        return weights
