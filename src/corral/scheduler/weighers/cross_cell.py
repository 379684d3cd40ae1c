"""CrossCellWeigher: keep cross-cell moves in the source cell when possible."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher


class CrossCellWeigher(HostWeigher):
    """Nova: for a move allowed across cells with a preferred cell, hosts in that
    cell weigh 1 and the others -1; otherwise every host weighs 0."""

    name = "CrossCellWeigher"
    multiplier_option = ("filter_scheduler", "cross_cell_move_weight_multiplier")
    aggregate_key = "cross_cell_move_weight_multiplier"
    reads_consumption = False

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        dest = spec.requested_destination
        if dest is None or not dest.cell_uuid or not dest.allow_cross_cell_move:
            return np.zeros(len(batch), dtype=np.float64)
        return np.fromiter(
            (1.0 if cell == dest.cell_uuid else -1.0 for cell in batch.cell_uuid),
            dtype=np.float64,
            count=len(batch),
        )
