"""The whole fleet as the scheduler sees it now: every host's state and usage, for the dashboard.

What Nova's HostManager would build for every compute node (its HostState:
service up and enabled, the root provider's VCPU, MEMORY_MB and DISK_GB as
Placement counts them), read from the host cache and the placement index
caught up to one read transaction, exactly as a request's search reads
them. Utilisation is usage over Placement's capacity rule,
(total - reserved) x allocation_ratio (corral.store.capacity), per class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corral.placement.index import PlacementIndex
from corral.scheduler.batch import Aggregate, HostBatch
from corral.scheduler.host_cache import HostCache

# The classes a HostState carries (the root provider's), in Nova's order.
CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Fleet:
    """Every compute node, sorted by zone then host then node; row i of each column is one node."""

    batch: HostBatch
    forced_down: list[bool]
    # class -> used and capacity per row
    used: Mapping[str, Ints]
    capacity: Mapping[str, Floats]

    def __len__(self) -> int:
        return len(self.batch)

    def utilisation(self) -> Floats:
        """Per row, the fullest class's usage over its capacity (0 where none)."""
        if not len(self):
            return np.zeros(0)
        shares = [_share(self.used[rc], self.capacity[rc]) for rc in CLASSES]
        return np.maximum.reduce(shares)

    def state(self, row: int) -> str:
        """ "forced down", "down", "disabled" or "up" (the first that holds)."""
        if self.forced_down[row]:
            return "forced down"
        if not self.batch.up[row]:
            return "down"
        if not self.batch.enabled[row]:
            return "disabled"
        return "up"

    def totals(self, rows: Iterable[int] | None = None) -> dict[str, tuple[int, float]]:
        """class -> (used, capacity) summed over `rows` (every row when None)."""
        picked = np.arange(len(self)) if rows is None else np.fromiter(rows, dtype=np.intp)
        return {
            rc: (int(self.used[rc][picked].sum()), float(self.capacity[rc][picked].sum()))
            for rc in CLASSES
        }

    def aggregates(self) -> Mapping[int, Aggregate]:
        return self.batch.aggregates


def _share(used: Ints, capacity: Floats) -> Floats:
    out = np.zeros(len(used))
    np.divide(used, capacity, out=out, where=capacity > 0)
    return out


def snapshot(index: PlacementIndex, hosts: HostCache) -> Fleet:
    """Every node now, with the index and the host cache caught up to one read."""
    with index.session() as (conn, view):
        hosts.catch_up(conn)
        batch = hosts.batch_for(hosts.all_provider_uuids(), view)
    order = sorted(
        range(len(batch)),
        key=lambda i: (batch.availability_zone[i], batch.host[i], batch.node[i]),
    )
    batch = batch.take(np.asarray(order, dtype=np.intp)) if order else batch
    used = {
        "VCPU": batch.vcpus_used,
        "MEMORY_MB": batch.memory_mb_used,
        "DISK_GB": batch.disk_gb_used,
    }
    capacity = {
        "VCPU": (batch.vcpus_total - batch.vcpus_reserved) * batch.cpu_allocation_ratio,
        "MEMORY_MB": (batch.memory_mb_total - batch.memory_mb_reserved)
        * batch.ram_allocation_ratio,
        "DISK_GB": (batch.disk_gb_total - batch.disk_gb_reserved) * batch.disk_allocation_ratio,
    }
    return Fleet(batch, hosts.forced_down(batch.provider_uuid), used, capacity)
