"""Request schemas of POST /scheduler/v1/select_destinations and /explain.

The request spec is Nova's RequestSpec in plain JSON, the fields scheduling
reads (corral.scheduler.spec). Every string, list and map is bounded; flavor
numbers follow Nova's flavor API (vcpus and memory_mb at least 1).
"""

from __future__ import annotations

from typing import Any

from corral.api.scheduler.schemas import (
    HOST,
    JSON_KEY_PATTERN,
    MAX_BIG_INT,
    MAX_INT,
    MAX_NAME,
    METADATA_KEY_PATTERN,
    NODE,
    PRINTABLE_PATTERN,
    PROJECT_OR_USER,
    UUID,
    UUID_PATTERN,
    ZONE,
    json_value,
)

MAX_INSTANCES = 1000
MAX_HINTS = 64
MAX_HINT_VALUES = 100
MAX_HOST_LIST = 100
MAX_EXTRA_SPECS = 200
MAX_IMAGE_PROPERTIES = 128
# The JsonFilter's `query` hint is a JSON document in a string: longer than a name.
MAX_QUERY_HINT = 4096


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (of one type) or null. A type list rather than anyOf keeps the
    failing field's path in the error message."""
    return {**schema, "type": [schema["type"], "null"]}


_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_NAME, "pattern": PRINTABLE_PATTERN}
_OPTIONAL_TEXT = _nullable(_TEXT)
_SIZE: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
_POSITIVE: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_INT}

FLAVOR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "vcpus": _POSITIVE,
        "memory_mb": _POSITIVE,
        "root_gb": _SIZE,
        "ephemeral_gb": _SIZE,
        "swap": _SIZE,
        "name": _TEXT,
        "flavorid": _TEXT,
        # resources:*, trait:*, hw:*, aggregate_instance_extra_specs:*, ...
        "extra_specs": {
            "type": "object",
            "maxProperties": MAX_EXTRA_SPECS,
            "patternProperties": {METADATA_KEY_PATTERN: _TEXT},
            "additionalProperties": False,
        },
    },
    "required": ["vcpus", "memory_mb"],
    "additionalProperties": False,
}

IMAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _OPTIONAL_TEXT,
        "name": _OPTIONAL_TEXT,
        "disk_format": _OPTIONAL_TEXT,
        "container_format": _OPTIONAL_TEXT,
        "min_ram": _SIZE,
        "min_disk": _SIZE,
        "size": {"type": "integer", "minimum": 0, "maximum": MAX_BIG_INT},
        # hw_*, img_*, os_*: strings, numbers, short lists.
        "properties": {
            "type": "object",
            "maxProperties": MAX_IMAGE_PROPERTIES,
            "patternProperties": {METADATA_KEY_PATTERN: json_value(1)},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def _hint(item: dict[str, Any], max_items: int = MAX_HINT_VALUES) -> dict[str, Any]:
    """A hint value: one string or a list of them, as Nova accepts both (string
    keywords apply to the string, array keywords to the list)."""
    return {
        **item,
        "type": ["string", "array"],
        "minItems": 1,
        "maxItems": max_items,
        "items": item,
    }


SCHEDULER_HINTS: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_HINTS,
    "properties": {
        # One server group: the group's uuid.
        "group": _hint(UUID, max_items=1),
        "same_host": _hint(UUID),
        "different_host": _hint(UUID),
        "query": _hint({"type": "string", "maxLength": MAX_QUERY_HINT}),
    },
    "patternProperties": {
        JSON_KEY_PATTERN: _hint({"type": "string", "maxLength": MAX_QUERY_HINT}),
    },
    "additionalProperties": False,
}

# Each item is a comma-separated list of aggregate uuids: the instance must be
# in one of them (Nova's Destination.aggregates).
_AGGREGATE_ANY_OF: dict[str, Any] = {
    "type": "string",
    "maxLength": 37 * 64,
    "pattern": f"^{UUID_PATTERN[1:-1]}(,{UUID_PATTERN[1:-1]})*$",
}

DESTINATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": _nullable(HOST),
        "node": _nullable(NODE),
        "aggregates": {"type": "array", "maxItems": MAX_HOST_LIST, "items": _AGGREGATE_ANY_OF},
        "forbidden_aggregates": {
            "type": "array",
            "maxItems": MAX_HOST_LIST,
            "uniqueItems": True,
            "items": UUID,
        },
    },
    "additionalProperties": False,
}


def _names(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "maxItems": MAX_HOST_LIST, "items": item}


REQUEST_SPEC: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor": FLAVOR,
        "image": IMAGE,
        "num_instances": {"type": "integer", "minimum": 1, "maximum": MAX_INSTANCES},
        "project_id": _nullable(PROJECT_OR_USER),
        "user_id": _nullable(PROJECT_OR_USER),
        "availability_zone": _nullable(ZONE),
        "scheduler_hints": SCHEDULER_HINTS,
        "instance_group_uuid": _nullable(UUID),
        "force_hosts": _names(HOST),
        "force_nodes": _names(NODE),
        "ignore_hosts": _names(HOST),
        "requested_destination": _nullable(DESTINATION),
        "is_bfv": {"type": "boolean"},
    },
    "required": ["flavor"],
    "additionalProperties": False,
}

SELECT_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "request_spec": REQUEST_SPEC,
        "instance_uuids": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_INSTANCES,
            "uniqueItems": True,
            "items": UUID,
        },
        "return_alternates": {"type": "boolean"},
    },
    "required": ["request_spec"],
    "additionalProperties": False,
}

EXPLAIN_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"request_spec": REQUEST_SPEC},
    "required": ["request_spec"],
    "additionalProperties": False,
}
