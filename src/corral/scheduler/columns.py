"""Per-host list columns of a HostBatch, read strictly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.scheduler.batch import HostBatch


class IncompleteBatch(ValueError):
    """A filter or weigher needs a per-host column the batch was built without."""


def column(batch: HostBatch, name: str) -> Sequence[Any]:
    """A per-host list column, refusing one the loader left empty.

    A missing column must not read as "no instances anywhere": that would let
    an anti-affinity filter pass every host.
    """
    values: Sequence[Any] = getattr(batch, name)
    if len(values) != len(batch):
        raise IncompleteBatch(
            f"HostBatch.{name} has {len(values)} rows for {len(batch)} hosts; "
            f"the batch loader must fill it"
        )
    return values
