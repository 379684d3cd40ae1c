"""Rules for /allocations and /resource_providers/{uuid}/allocations."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

ALLOC_MANAGE = "placement:allocations:manage"
ALLOC_LIST = "placement:allocations:list"
ALLOC_UPDATE = "placement:allocations:update"
ALLOC_DELETE = "placement:allocations:delete"
RP_ALLOC_LIST = "placement:resource_providers:allocations:list"

_CONSUMER_PATH = "/allocations/{consumer_uuid}"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(ALLOC_MANAGE, ADMIN_OR_SERVICE, "Manage allocations.", [("POST", "/allocations")]),
        api_rule(ALLOC_LIST, ADMIN_OR_SERVICE, "List allocations.", [("GET", _CONSUMER_PATH)]),
        api_rule(ALLOC_UPDATE, ADMIN_OR_SERVICE, "Update allocations.", [("PUT", _CONSUMER_PATH)]),
        api_rule(
            ALLOC_DELETE, ADMIN_OR_SERVICE, "Delete allocations.", [("DELETE", _CONSUMER_PATH)]
        ),
        api_rule(
            RP_ALLOC_LIST,
            ADMIN_OR_SERVICE,
            "List resource provider allocations.",
            [("GET", "/resource_providers/{uuid}/allocations")],
        ),
    ]
