"""Patterns and bounds shared by every Placement schema.

The patterns are upstream's; the length bounds are corral's (upstream has
none), so no request can make a handler work on unbounded input.
"""

from __future__ import annotations

from typing import Any

UUID_CHARS = "[0-9a-fA-F-]"
UUID_PATTERN = f"^{UUID_CHARS}{{36}}$"
RC_TRAIT_CHARS = "[A-Z0-9_]"
RC_PATTERN = f"^{RC_TRAIT_CHARS}+$"
CUSTOM_RC_PATTERN = f"^CUSTOM_{RC_TRAIT_CHARS}+$"
CUSTOM_TRAIT_PATTERN = CUSTOM_RC_PATTERN
CONSUMER_TYPE_PATTERN = RC_PATTERN
CONSUMER_TYPE_GET_PATTERN = f"{CONSUMER_TYPE_PATTERN}|^all|^unknown$"
GROUP_SUFFIX_PATTERN = r"[1-9][0-9]*"
GROUP_SUFFIX_PATTERN_1_33 = r"[a-zA-Z0-9_-]{1,64}"

# Bounds (corral's own).
MAX_NAME_LENGTH = 200  # resource provider names, as the column
MAX_RC_TRAIT_LENGTH = 255  # resource class and trait names, as the column
MAX_PROJECT_USER_LENGTH = 255
MAX_ITEMS = 10_000  # traits, aggregates, inventories, allocations in one body
MAX_INT = 2_147_483_647  # the column type; upstream's db_const.MAX_INT

UUID_SCHEMA: dict[str, Any] = {"type": "string", "pattern": UUID_PATTERN, "maxLength": 36}
UUID_FORMAT_SCHEMA: dict[str, Any] = {"type": "string", "format": "uuid", "maxLength": 36}
RC_NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": RC_PATTERN,
    "maxLength": MAX_RC_TRAIT_LENGTH,
}
