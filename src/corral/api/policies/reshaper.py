"""Rules for /reshaper: only services (and, under the legacy defaults, admins) reshape."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import SERVICE, api_rule

RESHAPE = "placement:reshaper:reshape"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(RESHAPE, SERVICE, "Reshape Inventory and Allocations.", [("POST", "/reshaper")]),
    ]
