"""Rules for /allocation_candidates."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

LIST = "placement:allocation_candidates:list"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(
            LIST,
            ADMIN_OR_SERVICE,
            "List allocation candidates.",
            [("GET", "/allocation_candidates")],
        ),
    ]
