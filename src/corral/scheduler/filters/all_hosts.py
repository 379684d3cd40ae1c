"""AllHostsFilter: Nova's no-op filter."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class AllHostsFilter(HostFilter):
    """Every host passes."""

    name = "AllHostsFilter"
    reads_consumption = False
    run_filter_once_per_request = True

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return np.ones(len(batch), dtype=np.bool_)
