"""Rules for /resource_providers/{uuid}/aggregates."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

LIST = "placement:resource_providers:aggregates:list"
UPDATE = "placement:resource_providers:aggregates:update"

_PATH = "/resource_providers/{uuid}/aggregates"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(LIST, ADMIN_OR_SERVICE, "List resource provider aggregates.", [("GET", _PATH)]),
        api_rule(
            UPDATE, ADMIN_OR_SERVICE, "Update resource provider aggregates.", [("PUT", _PATH)]
        ),
    ]
