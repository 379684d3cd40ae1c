"""IoOpsFilter and AggregateIoOpsFilter: cap concurrent I/O-heavy tasks per host."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import HostBatch, Ints, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class IoOpsFilter(HostFilter):
    """Nova: a host passes while num_io_ops < [filter_scheduler] max_io_ops_per_host."""

    name = "IoOpsFilter"
    reason = "too many I/O operations"

    def max_io_ops(self, batch: HostBatch) -> Ints | int:
        return int(self.conf.filter_scheduler.max_io_ops_per_host)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return np.asarray(batch.num_io_ops < self.max_io_ops(batch), dtype=np.bool_)


class AggregateIoOpsFilter(IoOpsFilter):
    """Nova: the limit is the smallest `max_io_ops_per_host` of the host's aggregates."""

    name = "AggregateIoOpsFilter"

    def max_io_ops(self, batch: HostBatch) -> Ints | int:
        default = int(self.conf.filter_scheduler.max_io_ops_per_host)
        limits = aggregate_metadata.number_per_host(batch, "max_io_ops_per_host", default, int)
        return np.asarray(limits, dtype=np.int64)
