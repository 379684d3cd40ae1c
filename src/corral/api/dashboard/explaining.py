"""One explain run for the dashboard's explain and host pages (corral.scheduler.explain).

The request is what `corral explain` sends for the same flavor: an anonymous
flavor of that size, the zone and project asked for; the answer is rendered
as `corral explain` prints it (corral.cli_output.render_explanation) and as
a table per stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.api.dashboard.forms import Shape
from corral.api.http import Request
from corral.api.scheduler.select import scheduler_of
from corral.cli_output import render_explanation
from corral.scheduler.spec import Destination, Flavor, RequestSpec


@dataclass(frozen=True)
class Explained:
    """An explanation as the pages show it."""

    answer: dict[str, Any]
    text: str

    @property
    def would_fit(self) -> bool:
        return self.answer["refusal"] is None and self.answer["hosts_available"] > 0


def explained(answer: dict[str, Any]) -> Explained:
    """An Explanation's dict (the API's, the decision log's) ready for a page."""
    return Explained(answer, render_explanation(answer))


def explain(
    req: Request,
    shape: Shape,
    *,
    zone: str | None = None,
    project_id: str | None = None,
    host: str | None = None,
    flavor_name: str = "",
) -> Explained:
    """What a decision for one instance of `shape` would see; claims nothing.

    With `host`, the request is bound to that host (Nova's requested
    destination), so the stages say which filters refuse it and why.
    """
    spec = RequestSpec(
        flavor=Flavor(
            vcpus=shape.vcpus, memory_mb=shape.memory_mb, root_gb=shape.disk_gb, name=flavor_name
        ),
        project_id=project_id,
        availability_zone=zone,
        requested_destination=Destination(host=host) if host is not None else None,
    )
    explanation = scheduler_of(req).explain(spec, check_zone=True)
    return explained(explanation.to_dict())
