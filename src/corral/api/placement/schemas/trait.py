"""Request schemas for /traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

TRAIT: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": common.MAX_RC_TRAIT_LENGTH,
}

CUSTOM_TRAIT: dict[str, Any] = copy.deepcopy(TRAIT)
CUSTOM_TRAIT["pattern"] = common.CUSTOM_TRAIT_PATTERN

SET_TRAITS_FOR_RP: dict[str, Any] = {
    "type": "object",
    "properties": {
        "traits": {"type": "array", "items": TRAIT, "maxItems": common.MAX_ITEMS},
        "resource_provider_generation": {
            "type": "integer",
            "minimum": 0,
            "maximum": common.MAX_INT,
        },
    },
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}

# `name` is `in:A,B` or `startswith:PREFIX`; its longest sensible value is
# every trait name, so it is bounded by the query string limit instead.
LIST_TRAITS_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 8192},
        "associated": {"type": "string", "maxLength": 5},
    },
    "additionalProperties": False,
}
