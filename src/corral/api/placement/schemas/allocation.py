"""Request schemas for PUT /allocations/{consumer_uuid} and POST /allocations.

Upstream's schemas, one per microversion that changed the body, with
corral's bounds added: `used` fits the column, and every object and list
has a maximum size (the total number of allocations in one request is
checked again after validation, see `MAX_ALLOCATIONS`).
"""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

MAX_CONSUMERS = 1_000  # consumers in one POST /allocations or reshape
MAX_PROVIDERS = 1_000  # providers one consumer allocates from
MAX_CLASSES = 1_000  # resource classes allocated from one provider
MAX_ALLOCATIONS = common.MAX_ITEMS  # (consumer, provider, class) triples in one request
MAX_MAPPINGS = 1_000  # request groups in `mappings`

_PROJECT_USER: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": common.MAX_PROJECT_USER_LENGTH,
}

_RESOURCES: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_CLASSES,
    "patternProperties": {
        common.RC_PATTERN: {"type": "integer", "minimum": 1, "maximum": common.MAX_INT},
    },
    "additionalProperties": False,
}

# 1.0-1.7: a list of {resource_provider: {uuid}, resources}.
PUT_SCHEMA_1_0: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allocations": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_PROVIDERS,
            "items": {
                "type": "object",
                "properties": {
                    "resource_provider": {
                        "type": "object",
                        "properties": {"uuid": common.UUID_FORMAT_SCHEMA},
                        "additionalProperties": False,
                        "required": ["uuid"],
                    },
                    "resources": copy.deepcopy(_RESOURCES),
                },
                "required": ["resource_provider", "resources"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["allocations"],
    "additionalProperties": False,
}

# 1.8-1.11: project_id and user_id become required.
PUT_SCHEMA_1_8: dict[str, Any] = copy.deepcopy(PUT_SCHEMA_1_0)
PUT_SCHEMA_1_8["properties"]["project_id"] = copy.deepcopy(_PROJECT_USER)
PUT_SCHEMA_1_8["properties"]["user_id"] = copy.deepcopy(_PROJECT_USER)
PUT_SCHEMA_1_8["required"].extend(["project_id", "user_id"])

# 1.12-1.27: allocations keyed by provider uuid, as GET shows them.
PUT_SCHEMA_1_12: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allocations": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": MAX_PROVIDERS,
            "patternProperties": {
                common.UUID_PATTERN: {
                    "type": "object",
                    "properties": {
                        # Shown by GET; accepted and ignored.
                        "generation": {"type": "integer"},
                        "resources": copy.deepcopy(_RESOURCES),
                    },
                    "required": ["resources"],
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
        "project_id": copy.deepcopy(_PROJECT_USER),
        "user_id": copy.deepcopy(_PROJECT_USER),
    },
    "additionalProperties": False,
    "required": ["allocations", "project_id", "user_id"],
}

# One consumer's part of POST /allocations: empty allocations remove them.
_DELETABLE: dict[str, Any] = copy.deepcopy(PUT_SCHEMA_1_12)
_DELETABLE["properties"]["allocations"]["minProperties"] = 0

_GENERATION: dict[str, Any] = {"type": ["integer", "null"], "additionalProperties": False}


def _post(consumer_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": MAX_CONSUMERS,
        "additionalProperties": False,
        "patternProperties": {common.UUID_PATTERN: consumer_schema},
    }


POST_SCHEMA_1_13: dict[str, Any] = _post(_DELETABLE)

# 1.28: the consumer generation (null for a new consumer) is required, and
# PUT may send empty allocations.
PUT_SCHEMA_1_28: dict[str, Any] = copy.deepcopy(_DELETABLE)
PUT_SCHEMA_1_28["properties"]["consumer_generation"] = copy.deepcopy(_GENERATION)
PUT_SCHEMA_1_28["required"].append("consumer_generation")
POST_SCHEMA_1_28: dict[str, Any] = _post(copy.deepcopy(PUT_SCHEMA_1_28))

# 1.34: `mappings` (request group suffix -> provider uuids) is accepted and
# not stored. Upstream leaves keys outside the pattern allowed; so does corral.
_MAPPINGS: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_MAPPINGS,
    "patternProperties": {
        common.GROUP_SUFFIX_PATTERN_1_33: {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_PROVIDERS,
            "items": common.UUID_FORMAT_SCHEMA,
        },
    },
}
PUT_SCHEMA_1_34: dict[str, Any] = copy.deepcopy(PUT_SCHEMA_1_28)
PUT_SCHEMA_1_34["properties"]["mappings"] = copy.deepcopy(_MAPPINGS)
POST_SCHEMA_1_34: dict[str, Any] = _post(copy.deepcopy(PUT_SCHEMA_1_34))

# 1.38: the consumer type is required.
PUT_SCHEMA_1_38: dict[str, Any] = copy.deepcopy(PUT_SCHEMA_1_34)
PUT_SCHEMA_1_38["properties"]["consumer_type"] = {
    "type": "string",
    "pattern": common.CONSUMER_TYPE_PATTERN,
    "minLength": 1,
    "maxLength": 255,
}
PUT_SCHEMA_1_38["required"].append("consumer_type")
POST_SCHEMA_1_38: dict[str, Any] = _post(copy.deepcopy(PUT_SCHEMA_1_38))


def put_schema(minor: int) -> dict[str, Any]:
    """The PUT /allocations/{consumer_uuid} schema for microversion 1.minor."""
    if minor >= 38:
        return PUT_SCHEMA_1_38
    if minor >= 34:
        return PUT_SCHEMA_1_34
    if minor >= 28:
        return PUT_SCHEMA_1_28
    if minor >= 12:
        return PUT_SCHEMA_1_12
    if minor >= 8:
        return PUT_SCHEMA_1_8
    return PUT_SCHEMA_1_0


def post_schema(minor: int) -> dict[str, Any]:
    """The POST /allocations schema for microversion 1.minor (1.13+)."""
    if minor >= 38:
        return POST_SCHEMA_1_38
    if minor >= 34:
        return POST_SCHEMA_1_34
    if minor >= 28:
        return POST_SCHEMA_1_28
    return POST_SCHEMA_1_13
