"""Rules for provider usages and per-project total usages."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import (
    ADMIN_OR_PROJECT_READER_OR_SERVICE,
    ADMIN_OR_SERVICE,
    api_rule,
)

PROVIDER_USAGES = "placement:resource_providers:usages"
TOTAL_USAGES = "placement:usages"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(
            PROVIDER_USAGES,
            ADMIN_OR_SERVICE,
            "List resource provider usages.",
            [("GET", "/resource_providers/{uuid}/usages")],
        ),
        # An admin (in any project) sees every project's usage; readers and
        # members only their own, so the handler passes the queried project
        # as the target.
        api_rule(
            TOTAL_USAGES,
            ADMIN_OR_PROJECT_READER_OR_SERVICE,
            "List total resource usages for a given project.",
            [("GET", "/usages")],
        ),
    ]
