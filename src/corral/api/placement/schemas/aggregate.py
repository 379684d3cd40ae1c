"""Request schemas for /resource_providers/{uuid}/aggregates."""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

_AGGREGATES: dict[str, Any] = {
    "type": "array",
    "items": common.UUID_FORMAT_SCHEMA,
    "uniqueItems": True,
    "maxItems": common.MAX_ITEMS,
}

# 1.1-1.18: the body is the bare list.
PUT_SCHEMA_1_1: dict[str, Any] = copy.deepcopy(_AGGREGATES)

# 1.19+: the list with the generation the caller saw.
PUT_SCHEMA_1_19: dict[str, Any] = {
    "type": "object",
    "properties": {
        "aggregates": copy.deepcopy(_AGGREGATES),
        "resource_provider_generation": {
            "type": "integer",
            "minimum": 0,
            "maximum": common.MAX_INT,
        },
    },
    "required": ["aggregates", "resource_provider_generation"],
    "additionalProperties": False,
}


def put_schema(minor: int) -> dict[str, Any]:
    """The PUT /resource_providers/{uuid}/aggregates schema for microversion 1.minor."""
    return PUT_SCHEMA_1_19 if minor >= 19 else PUT_SCHEMA_1_1
