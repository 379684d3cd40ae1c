"""Request schemas of corral's scheduler API, every string, list and map bounded.

Names and metadata follow Nova's parameter types (os-aggregates,
os-server-groups); the compute host body carries what Nova's ComputeNode
record holds for scheduling.
"""

from __future__ import annotations

from typing import Any

MAX_NAME = 255
MAX_METADATA_KEYS = 128
MAX_LIMIT = 1000
MAX_INT = 2_147_483_647
MAX_BIG_INT = 2**53 - 1

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Nova's parameter_types.fqdn (host names in os-aggregates, os-services).
HOST_PATTERN = "^[a-zA-Z0-9-._]*$"
# Printable, no leading or trailing white space (Nova's parameter_types.name).
NAME_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
# ... and no colon, which Nova reserves for zone:host:node (parameter_types.az_name).
ZONE_PATTERN = r"^[^\s\x00-\x1f\x7f:]([^\x00-\x1f\x7f:]*[^\s\x00-\x1f\x7f:])?$"
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Nova's parameter_types.metadata keys.
METADATA_KEY_PATTERN = "^[a-zA-Z0-9-_:. ]{1,255}$"
JSON_KEY_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"

UUID: dict[str, Any] = {"type": "string", "pattern": UUID_PATTERN, "maxLength": 36}
HOST: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": HOST_PATTERN,
}
NAME: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": NAME_PATTERN,
}
ZONE: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": ZONE_PATTERN,
}
NODE: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": PRINTABLE_PATTERN,
}
PROJECT_OR_USER: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": PRINTABLE_PATTERN,
}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_INT}


def json_value(depth: int) -> dict[str, Any]:
    """Any JSON value nested at most `depth` arrays/objects deep, every size bounded."""
    schema: dict[str, Any] = {
        "type": ["string", "number", "boolean", "null"],
        "maxLength": 4096,
    }
    if depth > 0:
        inner = json_value(depth - 1)
        schema["type"] = [*schema["type"], "array", "object"]
        schema["maxItems"] = 1024
        schema["items"] = inner
        schema["maxProperties"] = 256
        schema["patternProperties"] = {JSON_KEY_PATTERN: inner}
        schema["additionalProperties"] = False
    return schema


def json_object(depth: int, max_properties: int = 256) -> dict[str, Any]:
    return {
        "type": "object",
        "maxProperties": max_properties,
        "patternProperties": {JSON_KEY_PATTERN: json_value(depth)},
        "additionalProperties": False,
    }


# --- hosts ---------------------------------------------------------------------

NODE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "nodename": NODE,
        "provider_uuid": UUID,
        "hypervisor_type": {"type": "string", "maxLength": MAX_NAME, "pattern": PRINTABLE_PATTERN},
        "hypervisor_version": {"type": "integer", "minimum": 0, "maximum": MAX_BIG_INT},
        "hypervisor_hostname": NODE,
        # Nova's cpu_info: arch, model, vendor, topology, features.
        "cpu_info": json_object(3, max_properties=64),
        # The compute node's stats (ComputeCapabilitiesFilter, JsonFilter).
        "capabilities": json_object(3),
        "metrics": {
            "type": "object",
            "maxProperties": 256,
            "patternProperties": {JSON_KEY_PATTERN: {"type": "number"}},
            "additionalProperties": False,
        },
        "supported_instances": {
            "type": "array",
            "maxItems": 256,
            "items": {
                "type": "array",
                "minItems": 3,
                "maxItems": 3,
                "items": {"type": "string", "maxLength": 64},
            },
        },
        "host_ip": {
            "anyOf": [
                {"type": "string", "format": "ipv4", "maxLength": 64},
                {"type": "string", "format": "ipv6", "maxLength": 64},
                {"type": "null"},
            ]
        },
        # Nova's NUMATopology, plain or as object primitives (deeper).
        "numa_topology": {"anyOf": [json_object(8, max_properties=16), {"type": "null"}]},
        # Nova's PciDevicePool list.
        "pci_stats": {"type": "array", "maxItems": 1024, "items": json_object(4, 64)},
        "num_io_ops": COUNT,
        "failed_builds": COUNT,
        "cell_uuid": {"anyOf": [UUID, {"type": "null"}]},
    },
    "required": ["nodename", "provider_uuid"],
    "additionalProperties": False,
}

SERVICE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "disabled": {"type": "boolean"},
        "disabled_reason": {
            "type": ["string", "null"],
            "maxLength": MAX_NAME,
            "pattern": PRINTABLE_PATTERN,
        },
        "forced_down": {"type": "boolean"},
    },
    "minProperties": 1,
    "additionalProperties": False,
}

EMPTY_BODY: dict[str, Any] = {"type": "object", "maxProperties": 0}

HOSTS_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,3}$"},
        "marker": HOST,
        "provider_uuid": UUID,
    },
    "additionalProperties": False,
}

# --- aggregates (Nova's os-aggregates) ------------------------------------------

_OPTIONAL_ZONE: dict[str, Any] = {"oneOf": [ZONE, {"type": "null"}]}

METADATA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_METADATA_KEYS,
    "patternProperties": {
        METADATA_KEY_PATTERN: {"type": ["string", "null"], "maxLength": MAX_NAME},
    },
    "additionalProperties": False,
}

AGGREGATE_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "aggregate": {
            "type": "object",
            "properties": {"name": NAME, "availability_zone": _OPTIONAL_ZONE},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
    "required": ["aggregate"],
    "additionalProperties": False,
}

AGGREGATE_UPDATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "aggregate": {
            "type": "object",
            "properties": {"name": NAME, "availability_zone": _OPTIONAL_ZONE},
            "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}],
            "additionalProperties": False,
        }
    },
    "required": ["aggregate"],
    "additionalProperties": False,
}


def _action(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        },
        "required": [name],
        "additionalProperties": False,
    }


ADD_HOST = _action("add_host", {"host": HOST}, ["host"])
REMOVE_HOST = _action("remove_host", {"host": HOST}, ["host"])
SET_METADATA = _action("set_metadata", {"metadata": METADATA}, ["metadata"])
ACTIONS = {"add_host": ADD_HOST, "remove_host": REMOVE_HOST, "set_metadata": SET_METADATA}

# One action per body; its own schema is checked once its name is known.
ACTION: dict[str, Any] = {"type": "object", "minProperties": 1, "maxProperties": 1}

METADATA_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"metadata": METADATA},
    "required": ["metadata"],
    "additionalProperties": False,
}

# --- server groups (Nova's os-server-groups, 2.64 form) --------------------------

POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]

SERVER_GROUP_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server_group": {
            "type": "object",
            "properties": {
                "name": NAME,
                "policy": {"type": "string", "enum": POLICIES},
                "rules": {
                    "type": "object",
                    "properties": {
                        # Nova's parameter_types.positive_integer: a number or its digits.
                        "max_server_per_host": {
                            "anyOf": [
                                {"type": "integer", "minimum": 1, "maximum": MAX_INT},
                                {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"},
                            ]
                        }
                    },
                    "additionalProperties": False,
                },
                "project_id": PROJECT_OR_USER,
                "user_id": PROJECT_OR_USER,
            },
            "required": ["name", "policy"],
            "additionalProperties": False,
        }
    },
    "required": ["server_group"],
    "additionalProperties": False,
}

SERVER_GROUPS_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "project_id": PROJECT_OR_USER,
        "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,3}$"},
        "offset": {"type": "string", "pattern": "^[0-9]{1,9}$"},
    },
    "additionalProperties": False,
}

# --- instances -------------------------------------------------------------------

INSTANCES_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": HOST,
        "project_id": PROJECT_OR_USER,
        "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,3}$"},
        "marker": UUID,
    },
    "additionalProperties": False,
}

# --- capacity headroom -------------------------------------------------------------

# A shape's keys as GET /allocation_candidates takes them (any suffix, as from
# microversion 1.33); their values are checked by Placement's own parsers.
_SHAPE_VALUE: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 8192}
_SHAPE_KEY = "^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$"

CAPACITY_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "group_policy": {"type": "string", "enum": ["none", "isolate"]},
        "root_required": _SHAPE_VALUE,
        "same_subtree": _SHAPE_VALUE,
        "smallest": _SHAPE_VALUE,
        "availability_zone": ZONE,
        "aggregate": NAME,
        "project": PROJECT_OR_USER,
    },
    "patternProperties": {_SHAPE_KEY: _SHAPE_VALUE},
    "additionalProperties": False,
}
