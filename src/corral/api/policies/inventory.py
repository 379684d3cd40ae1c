"""Rules for /resource_providers/{uuid}/inventories."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

LIST = "placement:resource_providers:inventories:list"
CREATE = "placement:resource_providers:inventories:create"
SHOW = "placement:resource_providers:inventories:show"
UPDATE = "placement:resource_providers:inventories:update"
DELETE = "placement:resource_providers:inventories:delete"

_PATH = "/resource_providers/{uuid}/inventories"
_ONE = _PATH + "/{resource_class}"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(LIST, ADMIN_OR_SERVICE, "List resource provider inventories.", [("GET", _PATH)]),
        api_rule(
            CREATE, ADMIN_OR_SERVICE, "Create one resource provider inventory.", [("POST", _PATH)]
        ),
        api_rule(SHOW, ADMIN_OR_SERVICE, "Show resource provider inventory.", [("GET", _ONE)]),
        api_rule(
            UPDATE,
            ADMIN_OR_SERVICE,
            "Update resource provider inventory.",
            [("PUT", _PATH), ("PUT", _ONE)],
        ),
        api_rule(
            DELETE,
            ADMIN_OR_SERVICE,
            "Delete resource provider inventory.",
            [("DELETE", _PATH), ("DELETE", _ONE)],
        ),
    ]
