"""Rules for corral's own scheduler API (/scheduler/v1): hosts, aggregates,
server groups, instances and scheduling decisions. Admin or service only, as Placement's rules;
capacity headroom and the dashboard admin only."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN, ADMIN_OR_SERVICE, api_rule

_ROOT = "/scheduler/v1"

HOSTS_LIST = "scheduler:hosts:list"
HOSTS_SHOW = "scheduler:hosts:show"
HOSTS_UPDATE = "scheduler:hosts:update"
HOSTS_DELETE = "scheduler:hosts:delete"
SERVICE_UPDATE = "scheduler:hosts:service:update"
HEARTBEAT = "scheduler:hosts:heartbeat"

AGGREGATES_LIST = "scheduler:aggregates:list"
AGGREGATES_SHOW = "scheduler:aggregates:show"
AGGREGATES_CREATE = "scheduler:aggregates:create"
AGGREGATES_UPDATE = "scheduler:aggregates:update"
AGGREGATES_DELETE = "scheduler:aggregates:delete"
AGGREGATES_ADD_HOST = "scheduler:aggregates:add_host"
AGGREGATES_REMOVE_HOST = "scheduler:aggregates:remove_host"
AGGREGATES_SET_METADATA = "scheduler:aggregates:set_metadata"

GROUPS_LIST = "scheduler:server_groups:list"
GROUPS_SHOW = "scheduler:server_groups:show"
GROUPS_CREATE = "scheduler:server_groups:create"
GROUPS_DELETE = "scheduler:server_groups:delete"

INSTANCES_LIST = "scheduler:instances:list"
INSTANCES_SHOW = "scheduler:instances:show"
INSTANCES_DELETE = "scheduler:instances:delete"

SELECT_DESTINATIONS = "scheduler:select_destinations"
EXPLAIN = "scheduler:explain"
CAPACITY = "scheduler:capacity:get"
DASHBOARD_VIEW = "scheduler:dashboard:view"

_HOST = f"{_ROOT}/hosts/{{host}}"
_AGGREGATE = f"{_ROOT}/aggregates/{{aggregate}}"
_GROUP = f"{_ROOT}/server_groups/{{uuid}}"
_INSTANCE = f"{_ROOT}/instances/{{uuid}}"

_RULES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (HOSTS_LIST, "List compute hosts.", [("GET", f"{_ROOT}/hosts")]),
    (HOSTS_SHOW, "Show a compute host.", [("GET", _HOST)]),
    (HOSTS_UPDATE, "Register or update a compute host's node.", [("PUT", _HOST)]),
    (HOSTS_DELETE, "Delete a compute host.", [("DELETE", _HOST)]),
    (
        SERVICE_UPDATE,
        "Enable, disable or force down a host's service.",
        [("PUT", f"{_HOST}/service")],
    ),
    (HEARTBEAT, "Report a host's service alive.", [("POST", f"{_HOST}/heartbeat")]),
    (AGGREGATES_LIST, "List host aggregates.", [("GET", f"{_ROOT}/aggregates")]),
    (AGGREGATES_SHOW, "Show a host aggregate.", [("GET", _AGGREGATE)]),
    (AGGREGATES_CREATE, "Create a host aggregate.", [("POST", f"{_ROOT}/aggregates")]),
    (AGGREGATES_UPDATE, "Rename a host aggregate or change its zone.", [("PUT", _AGGREGATE)]),
    (AGGREGATES_DELETE, "Delete a host aggregate.", [("DELETE", _AGGREGATE)]),
    (AGGREGATES_ADD_HOST, "Add a host to an aggregate.", [("POST", f"{_AGGREGATE}/action")]),
    (
        AGGREGATES_REMOVE_HOST,
        "Remove a host from an aggregate.",
        [("POST", f"{_AGGREGATE}/action")],
    ),
    (
        AGGREGATES_SET_METADATA,
        "Set host aggregate metadata.",
        [("POST", f"{_AGGREGATE}/action"), ("PUT", f"{_AGGREGATE}/metadata")],
    ),
    (GROUPS_LIST, "List server groups.", [("GET", f"{_ROOT}/server_groups")]),
    (GROUPS_SHOW, "Show a server group.", [("GET", _GROUP)]),
    (GROUPS_CREATE, "Create a server group.", [("POST", f"{_ROOT}/server_groups")]),
    (GROUPS_DELETE, "Delete a server group.", [("DELETE", _GROUP)]),
    (INSTANCES_LIST, "List placed instances.", [("GET", f"{_ROOT}/instances")]),
    (INSTANCES_SHOW, "Show a placed instance.", [("GET", _INSTANCE)]),
    (
        INSTANCES_DELETE,
        "Forget an instance and delete its Placement allocations.",
        [("DELETE", _INSTANCE)],
    ),
    (
        SELECT_DESTINATIONS,
        "Choose and claim hosts for instances.",
        [("POST", f"{_ROOT}/select_destinations")],
    ),
    (
        EXPLAIN,
        "Explain a scheduling decision without claiming anything.",
        [("POST", f"{_ROOT}/explain")],
    ),
]


# Capacity headroom tells how full the whole cloud is: admins only, not
# services (a service asks for hosts, it has no need to survey them).
_ADMIN_RULES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        CAPACITY,
        "Count how many more instances of a shape fit, per zone, aggregate and host.",
        [("GET", f"{_ROOT}/capacity")],
    ),
    # The dashboard shows all of the above at once (every host, every
    # decision): admins only, as capacity.
    (
        DASHBOARD_VIEW,
        "View the operator dashboard (every page under /dashboard).",
        [("GET", "/dashboard"), ("POST", "/dashboard/explain")],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return [
        *(
            api_rule(name, ADMIN_OR_SERVICE, description, operations)
            for name, description, operations in _RULES
        ),
        *(
            api_rule(name, ADMIN, description, operations)
            for name, description, operations in _ADMIN_RULES
        ),
    ]
