"""Query string schemas for GET /allocation_candidates, per microversion.

Upstream's, with corral's length bound on every value. The values' inner
syntax (resources, required, member_of, ...) is checked by the shared
parsers in `corral.api.placement.query_params`.
"""

from __future__ import annotations

import copy
from typing import Any

from corral.api.placement.schemas import common

MAX_QUERY_VALUE = 8192

_STRING: dict[str, Any] = {"type": "string", "maxLength": MAX_QUERY_VALUE}

GET_SCHEMA_1_10: dict[str, Any] = {
    "type": "object",
    "properties": {"resources": _STRING},
    "required": ["resources"],
    "additionalProperties": False,
}

# 1.16: limit.
GET_SCHEMA_1_16: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_10)
GET_SCHEMA_1_16["properties"]["limit"] = {
    "type": ["integer", "string"],
    "pattern": "^[1-9][0-9]*$",
    "minimum": 1,
    "minLength": 1,
    "maxLength": 18,
}

# 1.17: required.
GET_SCHEMA_1_17: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_16)
GET_SCHEMA_1_17["properties"]["required"] = _STRING

# 1.21: member_of.
GET_SCHEMA_1_21: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_17)
GET_SCHEMA_1_21["properties"]["member_of"] = _STRING

# 1.25: numbered request groups and group_policy replace the plain keys.
_GROUP_KEY = "^%s(" + common.GROUP_SUFFIX_PATTERN + ")?$"
GET_SCHEMA_1_25: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_21)
for _key in ("resources", "required", "member_of"):
    del GET_SCHEMA_1_25["properties"][_key]
del GET_SCHEMA_1_25["required"]
GET_SCHEMA_1_25["patternProperties"] = {
    _GROUP_KEY % key: _STRING for key in ("resources", "required", "member_of")
}
GET_SCHEMA_1_25["properties"]["group_policy"] = {"type": "string", "enum": ["none", "isolate"]}

# 1.31: in_tree.
GET_SCHEMA_1_31: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_25)
GET_SCHEMA_1_31["patternProperties"][_GROUP_KEY % "in_tree"] = _STRING

# 1.33: any suffix of [a-zA-Z0-9_-]{1,64}.
_GROUP_KEY_1_33 = "^%s(" + common.GROUP_SUFFIX_PATTERN_1_33 + ")?$"
GET_SCHEMA_1_33: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_31)
GET_SCHEMA_1_33["patternProperties"] = {
    _GROUP_KEY_1_33 % key: _STRING for key in ("resources", "required", "member_of", "in_tree")
}

# 1.35: root_required.
GET_SCHEMA_1_35: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_33)
GET_SCHEMA_1_35["properties"]["root_required"] = _STRING

# 1.36: same_subtree.
GET_SCHEMA_1_36: dict[str, Any] = copy.deepcopy(GET_SCHEMA_1_35)
GET_SCHEMA_1_36["properties"]["same_subtree"] = _STRING

_BY_MINOR: list[tuple[int, dict[str, Any]]] = [
    (36, GET_SCHEMA_1_36),
    (35, GET_SCHEMA_1_35),
    (33, GET_SCHEMA_1_33),
    (31, GET_SCHEMA_1_31),
    (25, GET_SCHEMA_1_25),
    (21, GET_SCHEMA_1_21),
    (17, GET_SCHEMA_1_17),
    (16, GET_SCHEMA_1_16),
]


def get_schema(minor: int) -> dict[str, Any]:
    for since, schema in _BY_MINOR:
        if minor >= since:
            return schema
    return GET_SCHEMA_1_10
