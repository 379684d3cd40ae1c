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

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher


def normalize(weights: Floats, minval: float | None = None, maxval: float | None = None) -> Floats:
    """nova.weights.normalize over an array."""
    if weights.size == 0:
        return weights.astype(np.float64)
    high = float(weights.max()) if maxval is None else float(maxval)
    low = float(weights.min()) if minval is None else float(minval)
    if low == high:
        return np.zeros(weights.shape, dtype=np.float64)
    return (weights - low) / (high - low)


def weighed(weigher: HostWeigher, batch: HostBatch, spec: RequestSpec) -> Floats:
    """One weigher's contribution: multiplier x normalised weight, per host."""
    raw = np.asarray(weigher.weigh(batch, spec), dtype=np.float64).reshape(len(batch))
    if weigher.minval is not None:
        raw = np.maximum(raw, weigher.minval)
    if weigher.maxval is not None:
        raw = np.minimum(raw, weigher.maxval)
    return weigher.multipliers(batch) * normalize(raw, weigher.minval, weigher.maxval)


def combine(weighers: Sequence[HostWeigher], batch: HostBatch, spec: RequestSpec) -> Floats:
    """The total weight of every host (higher is better)."""
    total = np.zeros(len(batch), dtype=np.float64)
    if len(batch) <= 1:
        return total
    for weigher in weighers:
        total += weighed(weigher, batch, spec)
    return total
