"""The host cache's columnar store: one row of numpy columns per compute node.

Nova's HostManager keeps one HostState object per node and its filters loop
over them; corral keeps the same fields as columns, so a HostBatch for any
list of nodes is built by fancy indexing (corral.scheduler.host_cache.batches).
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson


def epoch(moment: datetime.datetime | None) -> float:
    """Seconds since the epoch of a naive UTC datetime (-inf for never)."""
    if moment is None:
        return -math.inf
    return moment.replace(tzinfo=datetime.UTC).timestamp()


class Columns:
    """Per compute node columns; a node keeps its row until the next full load."""

    OBJECTS = (
        "host",
        "node",
        "provider_uuid",
        "cell_uuid",
        "hypervisor_type",
        "hypervisor_hostname",
        "cpu_info",
        "capabilities",
        "metrics",
        "supported_instances",
        "host_ip",
        "numa_topology",
        "pci_stats",
        "aggregate_ids",
        "availability_zone",
        "instances",
        "instance_image_properties",
    )
    INTS = ("hypervisor_version", "num_io_ops", "failed_builds", "num_instances")
    BOOLS = ("alive", "has_service", "disabled", "forced_down")
    FLOATS = ("heartbeat",)

    def __init__(self, capacity: int) -> None:
        self.size = 0
        cap = max(capacity, 16)
        self.obj: dict[str, npt.NDArray[np.object_]] = {
            n: np.empty(cap, dtype=object) for n in self.OBJECTS
        }
        self.ints: dict[str, npt.NDArray[np.int64]] = {
            n: np.zeros(cap, dtype=np.int64) for n in self.INTS
        }
        self.bools: dict[str, npt.NDArray[np.bool_]] = {
            n: np.zeros(cap, dtype=np.bool_) for n in self.BOOLS
        }
        self.floats: dict[str, npt.NDArray[np.float64]] = {
            n: np.full(cap, -math.inf, dtype=np.float64) for n in self.FLOATS
        }

    def append(self) -> int:
        have = len(self.bools["alive"])
        if self.size == have:
            new = have * 2
            for group in (self.obj, self.ints, self.bools, self.floats):
                for name, old in list(group.items()):
                    grown = np.empty(new, dtype=old.dtype)
                    if old.dtype == np.float64:
                        grown.fill(-math.inf)
                    elif old.dtype != object:
                        grown.fill(0)
                    grown[:have] = old
                    group[name] = grown
        row = self.size
        self.size += 1
        return row


class SharedValues:
    """One object per distinct value of the columns hosts tend to share
    (racks of identical hardware report the same cpu_info, capabilities,
    supported instances). Building a batch touches every value it copies
    (reference counts); a few shared objects stay in the CPU's cache where
    10,000 copies would not."""

    LIMIT = 50_000  # distinct values kept; past this, sharing starts over

    def __init__(self) -> None:
        self._by_key: dict[bytes, Any] = {}

    def get(self, value: Any) -> Any:
        if value is None:
            return None
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        shared = self._by_key.get(key)
        if shared is None:
            if len(self._by_key) >= self.LIMIT:
                self._by_key.clear()
            self._by_key[key] = shared = value
        return shared
