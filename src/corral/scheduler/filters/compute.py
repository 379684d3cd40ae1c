"""ComputeFilter: only enabled compute services that are up."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class ComputeFilter(HostFilter):
    """Nova: a disabled service fails, then one not heard from (servicegroup down)."""

    name = "ComputeFilter"
    reads_consumption = False
    run_filter_once_per_request = True

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return np.asarray(batch.enabled & batch.up, dtype=np.bool_)

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        rejected = np.flatnonzero(~passed)
        return ["disabled" if not batch.enabled[i] else "down" for i in rejected.tolist()]
