"""NumInstancesFilter and AggregateNumInstancesFilter: cap instances per host."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import HostBatch, Ints, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class NumInstancesFilter(HostFilter):
    """Nova: a host passes while num_instances < [filter_scheduler] max_instances_per_host."""

    name = "NumInstancesFilter"
    reason = "too many instances"

    def max_instances(self, batch: HostBatch) -> Ints | int:
        return int(self.conf.filter_scheduler.max_instances_per_host)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return np.asarray(batch.num_instances < self.max_instances(batch), dtype=np.bool_)


class AggregateNumInstancesFilter(NumInstancesFilter):
    """Nova: the limit is the smallest `max_instances_per_host` of the host's aggregates.

    A host in no such aggregate, or whose value is not an integer, gets the
    configured limit.
    """

    name = "AggregateNumInstancesFilter"

    def max_instances(self, batch: HostBatch) -> Ints | int:
        default = int(self.conf.filter_scheduler.max_instances_per_host)
        limits = aggregate_metadata.number_per_host(batch, "max_instances_per_host", default, int)
        return np.asarray(limits, dtype=np.int64)
