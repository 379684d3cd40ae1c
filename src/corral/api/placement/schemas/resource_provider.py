"""Request schemas for /resource_providers, per microversion (upstream's, bounded)."""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

_NAME: dict[str, Any] = {"type": "string", "maxLength": common.MAX_NAME_LENGTH}

POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": _NAME, "uuid": common.UUID_FORMAT_SCHEMA},
    "required": ["name"],
    "additionalProperties": False,
}

# 1.14: an optional parent, null meaning none.
POST_SCHEMA_1_14: dict[str, Any] = copy.deepcopy(POST_SCHEMA)
POST_SCHEMA_1_14["properties"]["parent_provider_uuid"] = {
    "anyOf": [common.UUID_FORMAT_SCHEMA, {"type": "null"}]
}

PUT_SCHEMA: dict[str, Any] = copy.deepcopy(POST_SCHEMA)
del PUT_SCHEMA["properties"]["uuid"]

PUT_SCHEMA_1_14: dict[str, Any] = copy.deepcopy(POST_SCHEMA_1_14)
del PUT_SCHEMA_1_14["properties"]["uuid"]

# GET /resource_providers query strings. The values of member_of, resources
# and required are parsed by the shared query parameter parsers.
MAX_QUERY_VALUE = 8192

_QUERY_STRING: dict[str, Any] = {"type": "string", "maxLength": MAX_QUERY_VALUE}

LIST_SCHEMA_1_0: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": common.MAX_NAME_LENGTH},
        "uuid": {"type": "string", "format": "uuid", "maxLength": 36},
    },
    "additionalProperties": False,
}

LIST_SCHEMA_1_3: dict[str, Any] = copy.deepcopy(LIST_SCHEMA_1_0)
LIST_SCHEMA_1_3["properties"]["member_of"] = _QUERY_STRING

LIST_SCHEMA_1_4: dict[str, Any] = copy.deepcopy(LIST_SCHEMA_1_3)
LIST_SCHEMA_1_4["properties"]["resources"] = _QUERY_STRING

LIST_SCHEMA_1_14: dict[str, Any] = copy.deepcopy(LIST_SCHEMA_1_4)
LIST_SCHEMA_1_14["properties"]["in_tree"] = {"type": "string", "format": "uuid", "maxLength": 36}

LIST_SCHEMA_1_18: dict[str, Any] = copy.deepcopy(LIST_SCHEMA_1_14)
LIST_SCHEMA_1_18["properties"]["required"] = _QUERY_STRING


def list_schema(minor: int) -> dict[str, Any]:
    if minor >= 18:
        return LIST_SCHEMA_1_18
    if minor >= 14:
        return LIST_SCHEMA_1_14
    if minor >= 4:
        return LIST_SCHEMA_1_4
    if minor >= 3:
        return LIST_SCHEMA_1_3
    return LIST_SCHEMA_1_0


def post_schema(minor: int) -> dict[str, Any]:
    """The POST /resource_providers schema for microversion 1.minor."""
    return POST_SCHEMA_1_14 if minor >= 14 else POST_SCHEMA


def put_schema(minor: int) -> dict[str, Any]:
    """The PUT /resource_providers/{uuid} schema for microversion 1.minor."""
    return PUT_SCHEMA_1_14 if minor >= 14 else PUT_SCHEMA
