"""GET /resource_providers/{uuid}/usages and GET /usages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from corral.placement.providers import require as require_provider
from corral.store import resource_classes
from corral.store import usages as store
from corral.store.database import Database

# GET /usages?consumer_type= values that are not type names (lower case only:
# `ALL` is a type name like any other, as upstream).
ALL_TYPES = "all"
UNKNOWN_TYPE = "unknown"


@dataclass(frozen=True, slots=True)
class ProviderUsages:
    generation: int
    usages: dict[str, int]


def provider_usages(db: Database, uuid: str) -> ProviderUsages:
    with db.read() as conn:
        provider = require_provider(conn, uuid)
        used = store.provider_usages(conn, provider.id)
        names = resource_classes.names_for_ids(conn, used)
    return ProviderUsages(provider.generation, {names[rc]: n for rc, n in used.items()})


def total_usages(db: Database, project_id: str, user_id: str | None) -> dict[str, int]:
    """Before 1.38: class -> amount over every consumer type."""
    with db.read() as conn:
        result = store.project_usages(conn, project_id, user_id)
        names = resource_classes.names_for_ids(conn, {u.resource_class_id for u in result.usages})
    totals: dict[str, int] = defaultdict(int)
    for usage in result.usages:
        totals[names[usage.resource_class_id]] += usage.used
    return dict(totals)


def usages_by_consumer_type(
    db: Database, project_id: str, user_id: str | None, consumer_type: str | None
) -> dict[str, dict[str, int]]:
    """From 1.38: type -> {class: amount, "consumer_count": n}.

    Consumers without a type are grouped under "unknown"; `consumer_type`
    keeps one type, or "all" folds every type into one group, or "unknown"
    keeps only the untyped ones.
    """
    with db.read() as conn:
        result = store.project_usages(conn, project_id, user_id)
        names = resource_classes.names_for_ids(conn, {u.resource_class_id for u in result.usages})

    def group_of(type_name: str | None) -> str | None:
        """The output group of a consumer type, or None to leave it out."""
        if consumer_type == ALL_TYPES:
            return ALL_TYPES
        label = UNKNOWN_TYPE if type_name is None else type_name
        if consumer_type == UNKNOWN_TYPE:
            return label if type_name is None else None
        if consumer_type is not None and type_name != consumer_type:
            return None
        return label

    out: dict[str, dict[str, int]] = {}
    for usage in result.usages:
        group = group_of(usage.consumer_type)
        if group is None:
            continue
        entry = out.setdefault(group, {"consumer_count": 0})
        rc = names[usage.resource_class_id]
        entry[rc] = entry.get(rc, 0) + usage.used
    for type_name, count in result.consumer_counts.items():
        group = group_of(type_name)
        if group is not None and group in out:
            out[group]["consumer_count"] += count
    return out
