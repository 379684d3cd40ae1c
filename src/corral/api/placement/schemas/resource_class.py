"""Request schemas for /resource_classes (upstream's)."""

from __future__ import annotations

from typing import Any

from corral.api.placement.schemas import common

CUSTOM_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": common.CUSTOM_RC_PATTERN,
    "maxLength": common.MAX_RC_TRAIT_LENGTH,
}

# POST /resource_classes and, before 1.7, PUT /resource_classes/{name}.
NAME_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"name": CUSTOM_NAME},
    "required": ["name"],
    "additionalProperties": False,
}
