"""The UUID spelling rules, one copy for every layer.

`is_uuid_like` is oslo.utils' `uuidutils.is_uuid_like`, which upstream Placement
applies to consumer uuids in paths, to `member_of` and `in_tree` query values and
(through its jsonschema "uuid" format) to request bodies: any spelling
`uuid.UUID` reads whose hex digits are exactly the value's, so dashes, braces and
a `urn:uuid:` prefix are optional but nothing else is.

`is_canonical_uuid` is the stricter rule corral holds Nova's RPC messages to: the
dashed 8-4-4-4-12 form `str(uuid.UUID(...))` writes, which is all Nova sends
(oslo.versionedobjects' UUIDField only warns on anything else; corral refuses it).
"""

from __future__ import annotations

import re
import uuid

_CANONICAL = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def is_uuid_like(value: object) -> bool:
    """oslo.utils' `uuidutils.is_uuid_like`; False for anything but a str."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    bare = value.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "").lower()
    return parsed.hex == bare


def is_canonical_uuid(value: object) -> bool:
    """The dashed 8-4-4-4-12 hex form (either case) and nothing else."""
    return isinstance(value, str) and _CANONICAL.match(value) is not None
