"""AggregateInstanceExtraSpecsFilter: flavor extra specs matched against aggregate metadata."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import Aggregate, HostBatch, Mask
from corral.scheduler.filters import extra_specs_ops
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter(HostFilter):
    """Nova: every flavor extra spec that is unscoped or scoped
    `aggregate_instance_extra_specs:` must be matched (extra_specs_ops) by one
    of the values of that key in the host's aggregates; a key no aggregate has
    fails. Specs of other scopes (`hw:`, `resources:`, ...) are ignored.
    """

    name = "AggregateInstanceExtraSpecsFilter"
    reads_consumption = False
    run_filter_once_per_request = True

    def _failing_key(self, aggregates: list[Aggregate], spec: RequestSpec) -> str | None:
        metadata = aggregate_metadata.metadata_by_host(aggregates)
        for full_key, req in spec.flavor.extra_specs.items():
            scope = full_key.split(":", 1)
            if len(scope) > 1:
                if scope[0] != SCOPE:
                    continue
                del scope[0]
            key = scope[0]
            values = metadata.get(key)
            if not values:
                return full_key
            if not any(extra_specs_ops.match(value, req) for value in values):
                return full_key
        return None

    def _failing(self, batch: HostBatch, spec: RequestSpec) -> list[str | None]:
        return aggregate_metadata.per_aggregate_set(
            batch, lambda aggs: self._failing_key(aggs, spec)
        )

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        if not spec.flavor.extra_specs:
            return np.ones(len(batch), dtype=np.bool_)
        failing = self._failing(batch, spec)
        return np.fromiter((k is None for k in failing), dtype=np.bool_, count=len(batch))

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        failing = self._failing(batch, spec)
        return [
            f"aggregate metadata does not match extra spec {failing[i]}"
            for i in np.flatnonzero(~passed).tolist()
        ]
