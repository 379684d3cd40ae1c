"""Request schemas for POST /reshaper (microversion 1.30+).

Upstream's: the inventories of each provider in the form PUT
/resource_providers/{uuid}/inventories takes, and the allocations in the
form POST /allocations takes (possibly none), per microversion.
"""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import allocation, common, inventory

MAX_PROVIDERS = 1_000  # providers whose inventory one reshape replaces
PROVIDER_INVENTORIES = inventory.PUT_INVENTORIES


def _schema(allocations: dict[str, Any]) -> dict[str, Any]:
    allocs = copy.deepcopy(allocations)
    allocs["minProperties"] = 0
    return {
        "type": "object",
        "properties": {
            "inventories": {
                "type": "object",
                "patternProperties": {common.UUID_PATTERN: PROVIDER_INVENTORIES},
                # A reshape with no inventory to change has no reason to be.
                "minProperties": 1,
                "maxProperties": MAX_PROVIDERS,
                "additionalProperties": False,
            },
            "allocations": allocs,
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }


POST_SCHEMA_1_30: dict[str, Any] = _schema(allocation.POST_SCHEMA_1_28)
POST_SCHEMA_1_34: dict[str, Any] = _schema(allocation.POST_SCHEMA_1_34)
POST_SCHEMA_1_38: dict[str, Any] = _schema(allocation.POST_SCHEMA_1_38)


def post_schema(minor: int) -> dict[str, Any]:
    """The POST /reshaper schema for microversion 1.minor (1.30+)."""
    if minor >= 38:
        return POST_SCHEMA_1_38
    if minor >= 34:
        return POST_SCHEMA_1_34
    return POST_SCHEMA_1_30
