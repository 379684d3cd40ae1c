"""Rules for /resource_classes."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

LIST = "placement:resource_classes:list"
CREATE = "placement:resource_classes:create"
SHOW = "placement:resource_classes:show"
UPDATE = "placement:resource_classes:update"
DELETE = "placement:resource_classes:delete"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(LIST, ADMIN_OR_SERVICE, "List resource classes.", [("GET", "/resource_classes")]),
        api_rule(
            CREATE, ADMIN_OR_SERVICE, "Create resource class.", [("POST", "/resource_classes")]
        ),
        api_rule(
            SHOW, ADMIN_OR_SERVICE, "Show resource class.", [("GET", "/resource_classes/{name}")]
        ),
        api_rule(
            UPDATE,
            ADMIN_OR_SERVICE,
            "Update resource class.",
            [("PUT", "/resource_classes/{name}")],
        ),
        api_rule(
            DELETE,
            ADMIN_OR_SERVICE,
            "Delete resource class.",
            [("DELETE", "/resource_classes/{name}")],
        ),
    ]
