"""corral's selections out, as Nova's scheduler answers select_destinations.

`selection_primitive` is what Nova's objects.Selection(...).obj_to_primitive()
makes of a selection built by Selection.from_host_state: Selection 1.1 with
every field set, its limits a SchedulerLimits 1.0 with every field set
(SchedulerLimits.from_dict sets the unset ones to None): `numa_topology`
is the NUMATopologyLimits 1.1 NUMATopologyFilter put in host_state.limits
(the compute's NUMA claim reads it), the integer fields stay None. `legacy_dict` is the
pre-Queens answer, Selection.to_dict(), for callers that pass
return_objects=False.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from corral.scheduler.spec import AllocationRequest, LimitValue, NUMALimits, Selection

SELECTION_VERSION = "1.1"
LIMITS_VERSION = "1.0"
# NUMATopologyLimits 1.1 (network_metadata added), NetworkMetadata 1.0.
NUMA_LIMITS_VERSION = "1.1"
NETWORK_METADATA_VERSION = "1.0"
# SchedulerLimits' integer fields; Nova 34 sets none of them (they went with
# the Core/Ram/DiskFilter), but a caller's limits may still carry them.
LIMIT_FIELDS = ("vcpu", "memory_mb", "disk_gb")
NUMA_LIMIT = "numa_topology"


def _primitive(name: str, version: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "nova_object.name": name,
        "nova_object.namespace": "nova",
        "nova_object.version": version,
        "nova_object.data": data,
        # A new object's changed fields are every field it set; Nova lists them
        # from a set (in no order); corral sorts them.
        "nova_object.changes": sorted(data),
    }


def _ratio(name: str, value: float) -> float:
    # Nova's FloatField keeps float(value); an allocation ratio is positive.
    ratio = float(value)
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"NUMA limit {name} must be a positive number, got {value!r}")
    return ratio


def numa_limits_primitive(limits: NUMALimits) -> dict[str, Any]:
    """Nova's NUMATopologyLimits(...).obj_to_primitive() as NUMATopologyFilter
    builds it: both ratios, network_metadata only when the request had one."""
    data: dict[str, Any] = {
        "cpu_allocation_ratio": _ratio("cpu_allocation_ratio", limits.cpu_allocation_ratio),
        "ram_allocation_ratio": _ratio("ram_allocation_ratio", limits.ram_allocation_ratio),
    }
    network = limits.network_metadata
    if network is not None:
        data["network_metadata"] = _primitive(
            "NetworkMetadata",
            NETWORK_METADATA_VERSION,
            # a SetOfStringsField goes out as a sorted list
            {"physnets": sorted(network.physnets), "tunneled": bool(network.tunneled)},
        )
    return _primitive("NUMATopologyLimits", NUMA_LIMITS_VERSION, data)


def _limit_values(limits: Mapping[str, LimitValue]) -> dict[str, Any]:
    """Every SchedulerLimits field: the integers as Nova's IntegerField keeps
    them, numa_topology as a NUMATopologyLimits primitive, None where unset."""
    unknown = set(limits) - {*LIMIT_FIELDS, NUMA_LIMIT}
    if unknown:
        raise ValueError(f"limits Nova cannot carry: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        value = limits.get(name)
        if isinstance(value, NUMALimits):
            raise ValueError(f"limit {name} must be a number")
        # Nova's IntegerField keeps int(value): a RAM limit of 1.5 x 4096 MiB is 6144.
        out[name] = None if value is None else int(value)
    numa = limits.get(NUMA_LIMIT)
    if numa is not None and not isinstance(numa, NUMALimits):
        raise ValueError("limit numa_topology must be NUMA topology limits")
    out[NUMA_LIMIT] = None if numa is None else numa_limits_primitive(numa)
    return out


def limits_primitive(limits: Mapping[str, LimitValue]) -> dict[str, Any]:
    """Nova's SchedulerLimits.from_dict(host_state.limits).obj_to_primitive()."""
    return _primitive("SchedulerLimits", LIMITS_VERSION, _limit_values(limits))


def _allocation_text(request: AllocationRequest | None) -> str | None:
    return None if request is None else orjson.dumps(request.to_dict()).decode()


def selection_primitive(selection: Selection) -> dict[str, Any]:
    return _primitive(
        "Selection",
        SELECTION_VERSION,
        {
            "compute_node_uuid": selection.compute_node_uuid,
            "service_host": selection.service_host,
            "nodename": selection.nodename,
            "cell_uuid": selection.cell_uuid,
            "limits": limits_primitive(selection.limits),
            # Nova carries it as JSON text.
            "allocation_request": _allocation_text(selection.allocation_request),
            "allocation_request_version": selection.allocation_request_version,
            "availability_zone": selection.availability_zone,
        },
    )


def selections_primitive(selections: Sequence[Sequence[Selection]]) -> list[list[dict[str, Any]]]:
    """One list per instance: the chosen host first, then its alternates."""
    return [[selection_primitive(s) for s in per_instance] for per_instance in selections]


def legacy_dict(selection: Selection) -> dict[str, Any]:
    """Nova's Selection.to_dict(): host, nodename and the limits that are set
    (SchedulerLimits.to_dict(), numa_topology as its object primitive)."""
    limits = {k: v for k, v in _limit_values(selection.limits).items() if v is not None}
    return {"host": selection.service_host, "nodename": selection.nodename, "limits": limits}
