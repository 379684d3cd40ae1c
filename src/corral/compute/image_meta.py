"""An instance's image properties from its system metadata, as Nova reads them.

Nova keeps the image an instance was built from in its system metadata, one
`image_<name>` key per property (nova.utils.get_image_from_system_metadata,
what ImageMeta.from_instance reads). Both the RPC casts' instances
(corral.rpc.reports) and Nova's instance_system_metadata rows
(corral.compute.nova_feed) go through `image_properties`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "image_"  # nova.utils.SM_IMAGE_PROP_PREFIX
# nova.utils.SM_INHERITABLE_KEYS (the image's own attributes, not properties)
# and the size Nova's ImageMeta keeps as an attribute too.
IMAGE_ATTRIBUTES = frozenset({"min_ram", "min_disk", "disk_format", "container_format", "size"})
# nova.utils.SM_SKIP_KEYS: structured data Nova never stores there.
SKIP_KEYS = frozenset(
    {"mappings", "block_device_mapping", "img_mappings", "img_block_device_mapping"}
)


def image_properties(system_metadata: Mapping[str, str | None]) -> dict[str, Any]:
    """The image properties among an instance's system metadata keys."""
    out: dict[str, Any] = {}
    for key, value in system_metadata.items():
        if key.startswith(PREFIX) and value is not None:
            name = key.removeprefix(PREFIX)
            if name not in IMAGE_ATTRIBUTES and name not in SKIP_KEYS:
                out[name] = value
    return out
