"""Rules for /resource_providers."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

LIST = "placement:resource_providers:list"
CREATE = "placement:resource_providers:create"
SHOW = "placement:resource_providers:show"
UPDATE = "placement:resource_providers:update"
DELETE = "placement:resource_providers:delete"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(
            LIST, ADMIN_OR_SERVICE, "List resource providers.", [("GET", "/resource_providers")]
        ),
        api_rule(
            CREATE, ADMIN_OR_SERVICE, "Create resource provider.", [("POST", "/resource_providers")]
        ),
        api_rule(
            SHOW,
            ADMIN_OR_SERVICE,
            "Show resource provider.",
            [("GET", "/resource_providers/{uuid}")],
        ),
        api_rule(
            UPDATE,
            ADMIN_OR_SERVICE,
            "Update resource provider.",
            [("PUT", "/resource_providers/{uuid}")],
        ),
        api_rule(
            DELETE,
            ADMIN_OR_SERVICE,
            "Delete resource provider.",
            [("DELETE", "/resource_providers/{uuid}")],
        ),
    ]
