"""Source ids -> target ids.

Ids are not carried over (corral's standard class ids and trait ids need not
be upstream's): resource classes and traits are mapped by name, projects and
users by external id, consumer types by name, aggregates and providers by
uuid. A row naming an id the maps lack refuses the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.store import resource_classes as rc_store
from corral.store.import_placement.validate import refuse_row


@dataclass(slots=True)
class Maps:
    """Source id -> target id (or name) for everything rows refer to."""

    rc_name: dict[int, str] = field(default_factory=dict)  # source rc id -> name
    rc: dict[int, int] = field(default_factory=dict)  # source rc id -> target rc id
    unknown_rc: dict[int, str] = field(default_factory=dict)  # standard names corral lacks
    provider: dict[int, int] = field(default_factory=dict)
    provider_uuid: dict[int, str] = field(default_factory=dict)  # source id -> uuid
    trait: dict[int, int] = field(default_factory=dict)
    aggregate: dict[int, int] = field(default_factory=dict)
    project: dict[int, int] = field(default_factory=dict)
    user: dict[int, int] = field(default_factory=dict)
    ctype: dict[int, int] = field(default_factory=dict)


def target_rc(maps: Maps, table: str, row_id: object, rc_id: object) -> int:
    if isinstance(rc_id, int) and rc_id in maps.rc:
        return maps.rc[rc_id]
    if isinstance(rc_id, int) and rc_id in maps.unknown_rc:
        raise refuse_row(
            table,
            row_id,
            f"resource class {maps.unknown_rc[rc_id]} is not a standard class of this "
            f"corral's os-resource-classes ({len(rc_store.STANDARD_IDS)} classes): "
            "upgrade corral first",
        )
    raise refuse_row(table, row_id, f"resource class id={rc_id} does not exist")


def target_provider(maps: Maps, table: str, row_id: object, rp_id: object) -> int:
    if isinstance(rp_id, int) and rp_id in maps.provider:
        return maps.provider[rp_id]
    raise refuse_row(table, row_id, f"resource provider id={rp_id} does not exist")
