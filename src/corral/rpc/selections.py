"""corral's selections out, as Nova's scheduler answers select_destinations.

`selection_primitive` is what Nova's objects.Selection(...).obj_to_primitive()
makes of a selection built by Selection.from_host_state: Selection 1.1 with
every field set, its limits a SchedulerLimits 1.0 with every field set
(SchedulerLimits.from_dict sets the unset ones to None). `legacy_dict` is the
pre-Queens answer, Selection.to_dict(), for callers that pass
return_objects=False.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from corral.scheduler.spec import AllocationRequest, Selection

SELECTION_VERSION = "1.1"
LIMITS_VERSION = "1.0"
# SchedulerLimits' integer fields; its numa_topology (a NUMATopologyLimits
# object) is never set by corral.
LIMIT_FIELDS = ("vcpu", "memory_mb", "disk_gb")


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


def _limit_values(limits: Mapping[str, int | float | None]) -> dict[str, int | None]:
    unknown = set(limits) - {*LIMIT_FIELDS, "numa_topology"}
    if unknown or limits.get("numa_topology") is not None:
        raise ValueError(f"limits Nova cannot carry: {sorted(unknown) or ['numa_topology']}")
    # Nova's IntegerField keeps int(value): a RAM limit of 1.5 x 4096 MiB is 6144.
    out: dict[str, int | None] = {}
    for name in LIMIT_FIELDS:
        value = limits.get(name)
        out[name] = None if value is None else int(value)
    return out


def limits_primitive(limits: Mapping[str, int | float | None]) -> dict[str, Any]:
    values: dict[str, Any] = dict(_limit_values(limits))
    values["numa_topology"] = None
    return _primitive("SchedulerLimits", LIMITS_VERSION, values)


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
    """Nova's Selection.to_dict(): host, nodename and the limits that are set."""
    limits = {k: v for k, v in _limit_values(selection.limits).items() if v is not None}
    return {"host": selection.service_host, "nodename": selection.nodename, "limits": limits}
