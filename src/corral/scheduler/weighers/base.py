"""What every weigher is: Nova's weigher over a whole HostBatch.

`weigh(batch, spec)` gives the raw weight of every host (Nova's
_weigh_object, higher wins); `multipliers(batch)` the multiplier of every
host: the option named by `multiplier_option`, overridden per host by the
smallest numeric value of aggregate metadata `aggregate_key` of its
aggregates (Nova's scheduler.utils.get_weight_multiplier). `minval` and
`maxval` bound the raw weights and the normalisation, as in Nova's
BaseWeigher. corral.scheduler.weighers.combine.BatchWeights turns them into one score.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from oslo_config import cfg

from corral.scheduler import aggregate_metadata
from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec


class WeigherError(Exception):
    """A weigher cannot weigh a host (Nova raises, failing the request)."""


class HostWeigher:
    name: ClassVar[str]
    # (group, option) of the configured multiplier
    multiplier_option: ClassVar[tuple[str, str]]
    # aggregate metadata key that overrides it per host
    aggregate_key: ClassVar[str]
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None
    # whether the raw weights read what choosing a host changes in the batch
    # (usage, instance counts, instances, the server group's hosts); False lets
    # them be reused for the next instance weighed over the same batch
    reads_consumption: ClassVar[bool] = True
    # whether weigh() may raise WeigherError (then it runs even with multiplier 0)
    can_refuse: ClassVar[bool] = False

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def configured_multiplier(self) -> float:
        group, option = self.multiplier_option
        return float(self.conf[group][option])

    def multipliers(self, batch: HostBatch) -> Floats:
        """Nova's weight_multiplier(host_state), for every host."""
        values = aggregate_metadata.number_per_host(
            batch, self.aggregate_key, self.configured_multiplier(), float
        )
        return np.asarray(values, dtype=np.float64).reshape(len(batch))

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        """Raw weights, higher wins, before minval/maxval and normalisation."""
        raise NotImplementedError


def floats(values: object, n: int) -> Floats:
    return np.asarray(values, dtype=np.float64).reshape(n)
