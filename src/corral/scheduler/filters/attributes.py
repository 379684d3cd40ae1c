"""Nova's HostState attributes, read from a HostBatch row by name.

JsonFilter (`$free_ram_mb`) and ComputeCapabilitiesFilter (`capabilities:
hypervisor_type`) name HostState attributes in user or operator input. Nova
answers with getattr on the HostState; corral answers only the names listed
here, each read from its batch column, so a request can never reach anything
else of the batch or of Python objects.

`stats` is the compute node's stats dict (HostBatch.capabilities).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from corral.scheduler.batch import HostBatch


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so str() and JSON comparisons read as Nova's."""
    if isinstance(value, np.generic):
        return value.item()
    return value


_READERS: dict[str, Callable[[HostBatch, int], object]] = {
    "host": lambda b, i: b.host[i],
    "nodename": lambda b, i: b.node[i],
    "uuid": lambda b, i: b.provider_uuid[i],
    "cell_uuid": lambda b, i: b.cell_uuid[i],
    "total_usable_ram_mb": lambda b, i: b.memory_mb_total[i],
    "total_usable_disk_gb": lambda b, i: b.disk_gb_total[i],
    "disk_mb_used": lambda b, i: b.disk_gb_used[i] * 1024,
    "free_ram_mb": lambda b, i: b.free_ram_mb[i],
    "free_disk_mb": lambda b, i: b.free_disk_mb[i],
    "vcpus_total": lambda b, i: b.vcpus_total[i],
    "vcpus_used": lambda b, i: b.vcpus_used[i],
    "num_instances": lambda b, i: b.num_instances[i],
    "num_io_ops": lambda b, i: b.num_io_ops[i],
    "failed_builds": lambda b, i: b.failed_builds[i],
    "host_ip": lambda b, i: b.host_ip[i],
    "hypervisor_type": lambda b, i: b.hypervisor_type[i],
    "hypervisor_version": lambda b, i: b.hypervisor_version[i],
    "hypervisor_hostname": lambda b, i: b.hypervisor_hostname[i],
    "cpu_info": lambda b, i: b.cpu_info[i],
    "supported_instances": lambda b, i: [list(s) for s in b.supported_instances[i]],
    "ram_allocation_ratio": lambda b, i: b.ram_allocation_ratio[i],
    "cpu_allocation_ratio": lambda b, i: b.cpu_allocation_ratio[i],
    "disk_allocation_ratio": lambda b, i: b.disk_allocation_ratio[i],
    "stats": lambda b, i: b.capabilities[i],
    # the service record, as far as the batch knows it ($service.disabled)
    "service": lambda b, i: {"host": b.host[i], "disabled": not bool(b.enabled[i])},
}

# HostState attributes that hold Nova objects (no plain value to compare):
# they exist, as for Nova's hasattr(), but read as None here.
_OBJECT_ATTRIBUTES = frozenset(
    {
        "aggregates",
        "allocation_candidates",
        "instances",
        "limits",
        "metrics",
        "numa_topology",
        "pci_stats",
        "updated",
    }
)

ATTRIBUTES = frozenset(_READERS) | _OBJECT_ATTRIBUTES


def has_attribute(name: str) -> bool:
    """Nova's hasattr(host_state, name) for the attributes scheduling reads."""
    return name in ATTRIBUTES


def attribute(batch: HostBatch, row: int, name: str) -> object:
    """The value of HostState attribute `name` for the host at `row`, or None."""
    reader = _READERS.get(name)
    return None if reader is None else _plain(reader(batch, row))
