"""The Placement API's paths and the handler for each method."""

from __future__ import annotations

from corral.api.http import Handler
from corral.api.placement import (
    aggregates,
    allocation_candidates,
    allocations,
    reshaper,
    resource_providers,
    root,
    traits,
)

RouteTable = list[tuple[str, dict[str, Handler]]]


def placement_routes() -> RouteTable:
    return [
        ("/", {"GET": root.home}),
        ("/allocation_candidates", {"GET": allocation_candidates.list_allocation_candidates}),
        ("/allocations", {"POST": allocations.set_allocations}),
        ("/reshaper", {"POST": reshaper.reshape}),
        (
            "/allocations/{consumer_uuid}",
            {
                "GET": allocations.list_for_consumer,
                "PUT": allocations.set_for_consumer,
                "DELETE": allocations.delete_for_consumer,
            },
        ),
        ("/resource_providers/{uuid}/allocations", {"GET": allocations.list_for_provider}),
        (
            "/resource_providers",
            {
                "GET": resource_providers.list_resource_providers,
                "POST": resource_providers.create_resource_provider,
            },
        ),
        (
            "/resource_providers/{uuid}",
            {
                "GET": resource_providers.show_resource_provider,
                "PUT": resource_providers.update_resource_provider,
                "DELETE": resource_providers.delete_resource_provider,
            },
        ),
        (
            "/resource_providers/{uuid}/aggregates",
            {"GET": aggregates.list_aggregates, "PUT": aggregates.set_aggregates},
        ),
        ("/traits", {"GET": traits.list_traits}),
        (
            "/traits/{name}",
            {"GET": traits.show_trait, "PUT": traits.put_trait, "DELETE": traits.delete_trait},
        ),
        (
            "/resource_providers/{uuid}/traits",
            {
                "GET": traits.list_provider_traits,
                "PUT": traits.update_provider_traits,
                "DELETE": traits.delete_provider_traits,
            },
        ),
    ]
