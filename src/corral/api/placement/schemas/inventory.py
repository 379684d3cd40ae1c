"""Request schemas for /resource_providers/{uuid}/inventories, upstream's with bounds.

The inventory record is shared with POST /reshaper, which takes inventories
in the same form.
"""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

MAX_CLASSES = 1_000  # resource classes in one provider's inventory
FLOAT_MAX = 3.40282e38  # upstream's db_const.SQL_SP_FLOAT_MAX

_COUNT: dict[str, Any] = {"type": "integer", "maximum": common.MAX_INT}

# PUT /resource_providers/{uuid}/inventories/{class}.
BASE_INVENTORY: dict[str, Any] = {
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
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}

# POST /resource_providers/{uuid}/inventories: one class, named in the body.
POST_INVENTORY = copy.deepcopy(BASE_INVENTORY)
POST_INVENTORY["properties"]["resource_class"] = common.RC_NAME_SCHEMA
POST_INVENTORY["required"] = ["total", "resource_class"]

# One class within a whole set (upstream accepts and ignores a generation there).
INVENTORY_RECORD = copy.deepcopy(BASE_INVENTORY)
INVENTORY_RECORD["required"] = ["total"]

# PUT /resource_providers/{uuid}/inventories, and each provider of POST /reshaper.
PUT_INVENTORIES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "inventories": {
            "type": "object",
            "maxProperties": MAX_CLASSES,
            "patternProperties": {common.RC_PATTERN: INVENTORY_RECORD},
            # Upstream leaves other names unchecked and then fails on them
            # (500 for a record that is not an object or lacks a total); a
            # record under any name must have the same form, and an unknown
            # name is then upstream's 400 for an unknown resource class.
            "additionalProperties": INVENTORY_RECORD,
        },
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}
