"""The capacity page: how many more instances of a flavor fit, per zone.

The count is corral.scheduler.capacity's (the same as GET
/scheduler/v1/capacity): each instance a request of its own through the
request filters, the candidate search and the host filters. The flavor is
given by its size (VCPU, MEMORY_MB, DISK_GB of the root provider).
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.api.dashboard import forms, render
from corral.api.dashboard.forms import Shape
from corral.api.http import Request, Response
from corral.api.policies import scheduler as policy
from corral.api.scheduler.select import scheduler_of
from corral.placement.request import CandidateRequest, RequestGroup
from corral.scheduler.capacity import CapacityQuery, Headroom


@dataclass(frozen=True)
class Column:
    """One flavor's headroom."""

    label: str
    headroom: Headroom


def shape_query(shape: Shape, zone: str | None = None) -> CapacityQuery:
    resources = {"VCPU": shape.vcpus, "MEMORY_MB": shape.memory_mb}
    if shape.disk_gb:
        resources["DISK_GB"] = shape.disk_gb
    return CapacityQuery(
        shape=CandidateRequest({"": RequestGroup(resources=resources)}), availability_zone=zone
    )


def table(columns: list[Column]) -> tuple[list[str], list[list[int]], list[int]]:
    """Zones, one row of counts per zone (a column per flavor), and the totals."""
    zones = sorted({zone for column in columns for zone in column.headroom.zones})
    rows = [[column.headroom.zones.get(zone, 0) for column in columns] for zone in zones]
    return zones, rows, [column.headroom.total for column in columns]


def capacity_page(req: Request) -> Response:
    """Headroom per zone for the flavor in the query (none asked: the form only)."""
    req.authorize(policy.DASHBOARD_VIEW)
    query = dict(req.query)
    shape = forms.shape(query, required=False)
    zone = forms.name(query, "availability_zone")
    columns = []
    if shape is not None:
        headroom = scheduler_of(req).capacity(shape_query(shape, zone))
        columns.append(Column(shape.label(), headroom))
    zones, rows, totals = table(columns)
    return render.page(
        req,
        "capacity.html",
        title="Capacity",
        values=query,
        columns=columns,
        zones=zones,
        rows=rows,
        totals=totals,
    )
