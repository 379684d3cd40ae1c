"""Nova's BaseWeightHandler.get_weighed_objects, as one score per host.

For each weigher: raw weights, clamped to its minval/maxval, normalised to
0..1 (nova.weights.normalize: by the weigher's minval/maxval where set, else
the batch's min/max; all equal reads as 0), times each host's multiplier,
summed over weighers. A batch of one host (or none) is not weighed: every
score is 0, as in Nova. The engine sorts by score, highest first, and picks
among the best host_subset_size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corral.scheduler.batch import Floats, HostBatch, Ints
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher


def normalize(weights: Floats, minval: float | None = None, maxval: float | None = None) -> Floats:
    """nova.weights.normalize over an array."""
    if weights.size == 0:
        return weights.astype(np.float64)
    low, high = _span(weights, minval, maxval)
    if low == high:
        return np.zeros(weights.shape, dtype=np.float64)
    return (weights - low) / (high - low)


def _span(weights: Floats, minval: float | None, maxval: float | None) -> tuple[float, float]:
    """The range normalisation maps to 0..1: the weigher's bounds, or the weights' own."""
    high = float(weights.max()) if maxval is None else float(maxval)
    low = float(weights.min()) if minval is None else float(minval)
    return low, high


def _raw(weigher: HostWeigher, batch: HostBatch, spec: RequestSpec) -> Floats:
    """Raw weights clamped to the weigher's minval/maxval."""
    raw = np.asarray(weigher.weigh(batch, spec), dtype=np.float64).reshape(len(batch))
    if weigher.minval is not None:
        raw = np.maximum(raw, weigher.minval)
    if weigher.maxval is not None:
        raw = np.minimum(raw, weigher.maxval)
    return raw


class BatchWeights:
    """Weighing one batch again and again (one instance after another), with
    what cannot change between the instances worked out once.

    A weigher's multipliers depend only on the hosts' aggregates and the
    options; the raw weights of a weigher that reads nothing an instance's
    consumption changes (`HostWeigher.reads_consumption` False) stay too. A
    weigher whose multiplier is 0 on every host adds nothing and is skipped,
    unless it can refuse the request (MetricsWeigher), as Nova weighs it then.
    `scores` takes the batch (or a sub-batch of it, `rows`) as it is now.
    """

    def __init__(
        self, weighers: Sequence[HostWeigher], batch: HostBatch, spec: RequestSpec
    ) -> None:
        self.weighers = weighers
        self.batch = batch
        self._multipliers = [w.multipliers(batch) for w in weighers]
        self._active = [
            i for i, w in enumerate(weighers) if w.can_refuse or self._multipliers[i].any()
        ]
        self._static_raw = {
            i: _raw(weighers[i], batch, spec)
            for i in self._active
            if not weighers[i].reads_consumption and len(batch) > 1
        }
        # The static weighers' share of the scores of the whole batch.
        self._static_total = np.zeros(len(batch), dtype=np.float64)
        for i, raw in self._static_raw.items():
            weigher = weighers[i]
            self._static_total += self._multipliers[i] * normalize(
                raw, weigher.minval, weigher.maxval
            )
        self._dynamic = [i for i in self._active if i not in self._static_raw]

    def scores(self, batch: HostBatch, spec: RequestSpec, rows: Ints | None = None) -> Floats:
        """The total weight of every host of `batch`: `self.batch` itself, or its
        `rows` (a sub-batch the filters left)."""
        if len(batch) <= 1:
            return np.zeros(len(batch), dtype=np.float64)
        if rows is None:
            total = self._static_total.copy()
            weighing = self._dynamic
        else:
            total = np.zeros(len(batch), dtype=np.float64)
            weighing = self._active
        for i in weighing:
            weigher = self.weighers[i]
            raw = self._static_raw.get(i)
            if raw is None:
                raw = _raw(weigher, batch, spec)
            elif rows is not None:
                raw = raw[rows]
            # normalize(), without the zeros of a weigher whose weights are all equal.
            low, high = _span(raw, weigher.minval, weigher.maxval)
            if low == high:
                continue
            multipliers = self._multipliers[i] if rows is None else self._multipliers[i][rows]
            total += multipliers * ((raw - low) / (high - low))
        return total
