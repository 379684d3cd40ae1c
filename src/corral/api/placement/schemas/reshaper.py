"""Request schemas for POST /reshaper (microversion 1.30+).

Upstream's: the inventories of each provider in the form PUT
/resource_providers/{uuid}/inventories takes, and the allocations in the
form POST /allocations takes (possibly none), per microversion.
"""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import allocation, common

MAX_PROVIDERS = 1_000  # providers whose inventory one reshape replaces
MAX_CLASSES = 1_000  # resource classes in one provider's inventory
FLOAT_MAX = 3.40282e38  # upstream's db_const.SQL_SP_FLOAT_MAX

_COUNT: dict[str, Any] = {"type": "integer", "maximum": common.MAX_INT}

# One class of inventory, as PUT /resource_providers/{uuid}/inventories takes
# it (upstream accepts and ignores a generation there too).
INVENTORY_RECORD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "total": {**_COUNT, "minimum": 1},
        "reserved": {**_COUNT, "minimum": 0},
        "min_unit": {**_COUNT, "minimum": 1},
        "max_unit": {**_COUNT, "minimum": 1},
        "step_size": {**_COUNT, "minimum": 1},
        "allocation_ratio": {"type": "number", "maximum": FLOAT_MAX},
    },
    "required": ["total"],
    "additionalProperties": False,
}

PROVIDER_INVENTORIES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "inventories": {
            "type": "object",
            "maxProperties": MAX_CLASSES,
            "patternProperties": {common.RC_PATTERN: INVENTORY_RECORD},
        },
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}


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
