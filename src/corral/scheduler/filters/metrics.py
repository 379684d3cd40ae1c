"""MetricsFilter: hosts must report every metric MetricsWeigher weighs."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostFilter, column
from corral.scheduler.option_lists import parse_options
from corral.scheduler.spec import RequestSpec


class MetricsFilter(HostFilter):
    """Nova: a host passes when it has every metric named in [metrics] weight_setting."""

    name = "MetricsFilter"
    reads_consumption = False

    def keys(self) -> set[str]:
        return {key for key, _ in parse_options(self.conf.metrics.weight_setting, float)}

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        keys = self.keys()
        if not keys:
            return np.ones(len(batch), dtype=np.bool_)
        metrics = column(batch, "metrics")
        return np.fromiter(
            (keys.issubset(m.keys()) for m in metrics), dtype=np.bool_, count=len(batch)
        )

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        keys = self.keys()
        return [
            "missing metric(s) " + ", ".join(sorted(keys - set(batch.metrics[i])))
            for i in np.flatnonzero(~passed).tolist()
        ]
