"""AggregateTypeAffinityFilter: aggregates that admit only some flavors."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import Aggregate, HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class AggregateTypeAffinityFilter(HostFilter):
    """Nova: a host whose aggregates set `instance_type` takes only the flavors named
    there (comma-separated); a host with no such metadata takes any flavor."""

    name = "AggregateTypeAffinityFilter"
    run_filter_once_per_request = True

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        flavor = spec.flavor.name

        def admits(aggregates: list[Aggregate]) -> bool:
            values = aggregate_metadata.values_from_key(aggregates, "instance_type")
            for value in values:
                if flavor in [x.strip() for x in value.split(",")]:
                    return True
            return not values

        return np.asarray(aggregate_metadata.per_aggregate_set(batch, admits), dtype=np.bool_)

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        reason = f"aggregate instance_type does not admit flavor {spec.flavor.name}"
        return [reason] * int(np.count_nonzero(~passed))
