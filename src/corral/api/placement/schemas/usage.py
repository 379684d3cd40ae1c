"""Query schemas for GET /usages (upstream's)."""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

_ID: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": common.MAX_PROJECT_USER_LENGTH,
}

QUERY_1_9: dict[str, Any] = {
    "type": "object",
    "properties": {"project_id": _ID, "user_id": _ID},
    "required": ["project_id"],
    "additionalProperties": False,
}

QUERY_1_38 = copy.deepcopy(QUERY_1_9)
QUERY_1_38["properties"]["consumer_type"] = {
    "type": "string",
    "pattern": common.CONSUMER_TYPE_GET_PATTERN,
    "minLength": 1,
    "maxLength": 255,
}


def query_schema(minor: int) -> dict[str, Any]:
    """The GET /usages query schema for microversion 1.minor (consumer_type from 1.38)."""
    return QUERY_1_38 if minor >= 38 else QUERY_1_9
