"""The scheduler API's paths (under /scheduler/v1) and the handler for each method."""

from __future__ import annotations

from corral.api.http import Handler
from corral.api.scheduler import aggregates, capacity, hosts, instances, select, server_groups

RouteTable = list[tuple[str, dict[str, Handler]]]

PREFIX = "/scheduler/v1"


def scheduler_routes() -> RouteTable:
    return [
        (f"{PREFIX}/hosts", {"GET": hosts.list_hosts}),
        (
            f"{PREFIX}/hosts/{{host}}",
            {"GET": hosts.show_host, "PUT": hosts.put_host, "DELETE": hosts.delete_host},
        ),
        (f"{PREFIX}/hosts/{{host}}/service", {"PUT": hosts.put_service}),
        (f"{PREFIX}/hosts/{{host}}/heartbeat", {"POST": hosts.heartbeat}),
        (
            f"{PREFIX}/aggregates",
            {"GET": aggregates.list_aggregates, "POST": aggregates.create_aggregate},
        ),
        (
            f"{PREFIX}/aggregates/{{aggregate}}",
            {
                "GET": aggregates.show_aggregate,
                "PUT": aggregates.update_aggregate,
                "DELETE": aggregates.delete_aggregate,
            },
        ),
        (f"{PREFIX}/aggregates/{{aggregate}}/action", {"POST": aggregates.action}),
        (f"{PREFIX}/aggregates/{{aggregate}}/metadata", {"PUT": aggregates.set_metadata}),
        (
            f"{PREFIX}/server_groups",
            {"GET": server_groups.list_groups, "POST": server_groups.create_group},
        ),
        (
            f"{PREFIX}/server_groups/{{uuid}}",
            {"GET": server_groups.show_group, "DELETE": server_groups.delete_group},
        ),
        (f"{PREFIX}/instances", {"GET": instances.list_instances}),
        (
            f"{PREFIX}/instances/{{uuid}}",
            {"GET": instances.show_instance, "DELETE": instances.delete_instance},
        ),
        (f"{PREFIX}/select_destinations", {"POST": select.select_destinations}),
        (f"{PREFIX}/explain", {"POST": select.explain}),
        (f"{PREFIX}/capacity", {"GET": capacity.get_capacity}),
    ]
