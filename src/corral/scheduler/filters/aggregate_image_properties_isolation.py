"""AggregateImagePropertiesIsolation: aggregate metadata that image properties must match."""

from __future__ import annotations

import numpy as np

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import Aggregate, HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class AggregateImagePropertiesIsolation(HostFilter):
    """Nova: for every metadata key of the host's aggregates (only keys under
    `aggregate_image_properties_isolation_namespace` + separator, when that is
    set), an image that sets the property must have one of the key's values.
    Images that leave a property unset (or falsy) pass for it.
    """

    name = "AggregateImagePropertiesIsolation"
    run_filter_once_per_request = True
    run_on_rebuild = True

    def _failing_key(self, aggregates: list[Aggregate], spec: RequestSpec) -> str | None:
        fs = self.conf.filter_scheduler
        namespace = fs.aggregate_image_properties_isolation_namespace
        separator = fs.aggregate_image_properties_isolation_separator
        props = spec.image.properties
        for key, options in aggregate_metadata.metadata_by_host(aggregates).items():
            if namespace and not key.startswith(namespace + separator):
                continue
            prop = props.get(key)
            if prop and str(prop) not in options:
                return key
        return None

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        failing = aggregate_metadata.per_aggregate_set(
            batch, lambda aggs: self._failing_key(aggs, spec)
        )
        return np.fromiter((k is None for k in failing), dtype=np.bool_, count=len(batch))

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        failing = aggregate_metadata.per_aggregate_set(
            batch, lambda aggs: self._failing_key(aggs, spec)
        )
        return [
            f"image property {failing[i]} does not match its aggregate"
            for i in np.flatnonzero(~passed).tolist()
        ]
