"""MetricsWeigher: a weighted sum of host metrics."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.columns import column
from corral.scheduler.option_lists import parse_options
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher, WeigherError


class MetricNotFound(WeigherError):
    """Nova's ComputeHostMetricNotFound ([metrics] required = true)."""


class MetricsWeigher(HostWeigher):
    """Nova: sum of metric value x ratio over [metrics] weight_setting.

    A host missing a metric: with [metrics] required, MetricNotFound (use
    MetricsFilter first); without it, the host weighs
    [metrics] weight_of_unavailable, unless that metric's ratio or the host's
    multiplier is 0, when the metric is skipped.
    """

    name = "MetricsWeigher"
    multiplier_option = ("metrics", "weight_multiplier")
    aggregate_key = "metrics_weight_multiplier"
    reads_consumption = False
    can_refuse = True

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        setting = parse_options(self.conf.metrics.weight_setting, float)
        if not setting:
            return np.zeros(len(batch), dtype=np.float64)
        required = bool(self.conf.metrics.required)
        unavailable = float(self.conf.metrics.weight_of_unavailable)
        metrics = column(batch, "metrics")
        multipliers = self.multipliers(batch)
        out = np.zeros(len(batch), dtype=np.float64)
        for row, on_host in enumerate(metrics):
            value = 0.0
            for name, ratio in setting:
                if name in on_host:
                    value += float(on_host[name]) * ratio
                elif required:
                    raise MetricNotFound(
                        f"metric {name} not found on host {batch.host[row]} "
                        f"(node {batch.node[row]}); enable MetricsFilter or set "
                        "[metrics] required = false"
                    )
                elif ratio * multipliers[row] != 0:
                    value = unavailable
                    break
            out[row] = value
        return out
