"""Rules for /traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies.base import ADMIN_OR_SERVICE, api_rule

TRAITS_LIST = "placement:traits:list"
TRAITS_SHOW = "placement:traits:show"
TRAITS_UPDATE = "placement:traits:update"
TRAITS_DELETE = "placement:traits:delete"
RP_TRAIT_LIST = "placement:resource_providers:traits:list"
RP_TRAIT_UPDATE = "placement:resource_providers:traits:update"
RP_TRAIT_DELETE = "placement:resource_providers:traits:delete"

_RP_PATH = "/resource_providers/{uuid}/traits"


def list_rules() -> list[policy.RuleDefault]:
    return [
        api_rule(TRAITS_LIST, ADMIN_OR_SERVICE, "List traits.", [("GET", "/traits")]),
        api_rule(TRAITS_SHOW, ADMIN_OR_SERVICE, "Show trait.", [("GET", "/traits/{name}")]),
        api_rule(TRAITS_UPDATE, ADMIN_OR_SERVICE, "Update trait.", [("PUT", "/traits/{name}")]),
        api_rule(TRAITS_DELETE, ADMIN_OR_SERVICE, "Delete trait.", [("DELETE", "/traits/{name}")]),
        api_rule(
            RP_TRAIT_LIST, ADMIN_OR_SERVICE, "List resource provider traits.", [("GET", _RP_PATH)]
        ),
        api_rule(
            RP_TRAIT_UPDATE,
            ADMIN_OR_SERVICE,
            "Update resource provider traits.",
            [("PUT", _RP_PATH)],
        ),
        api_rule(
            RP_TRAIT_DELETE,
            ADMIN_OR_SERVICE,
            "Delete resource provider traits.",
            [("DELETE", _RP_PATH)],
        ),
    ]
