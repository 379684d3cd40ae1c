"""The Placement API's paths and the handler for each method."""

from __future__ import annotations

from corral.api.http import Handler
from corral.api.placement import root

RouteTable = list[tuple[str, dict[str, Handler]]]


def placement_routes() -> RouteTable:
    return [
        ("/", {"GET": root.home}),
    ]
