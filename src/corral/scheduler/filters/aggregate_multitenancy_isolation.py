"""AggregateMultiTenancyIsolation: aggregates reserved for some projects."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import Aggregate, HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class AggregateMultiTenancyIsolation(HostFilter):
    """Nova: a host in an aggregate with metadata keys starting `filter_tenant_id`
    takes only the projects listed in them (comma-separated values, all such
    keys of all its aggregates together); other hosts take anyone."""

    name = "AggregateMultiTenancyIsolation"
    reads_consumption = False
    run_filter_once_per_request = True
    reason = "aggregate reserved for other projects"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        project = spec.project_id

        def admits(aggregates: list[Aggregate]) -> bool:
            metadata = aggregate_metadata.metadata_by_host(aggregates)
            allowed: set[str] = set()
            for key, values in metadata.items():
                if key.startswith("filter_tenant_id"):
                    allowed |= values
            return not allowed or project in allowed

        return np.asarray(aggregate_metadata.per_aggregate_set(batch, admits), dtype=np.bool_)
