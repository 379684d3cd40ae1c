"""Writing the validated source into corral's tables, inside the caller's one
write transaction, and telling every running index what changed.

Resource classes, traits, providers (with their exact generations and tree
links), inventories, aggregates and provider traits are written here; owners,
consumers and allocations by `write_consumers`. What upstream derives the
same way is named at each step (its `_resource_classes_sync`, its tree
invariants).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import os_resource_classes
from sqlalchemy import Connection, bindparam, func, select, update

from corral.store import resource_classes as rc_store
from corral.store import tables
from corral.store.database import record_changes
from corral.store.import_placement import upstream_schema as up
from corral.store.import_placement.ids import Maps, target_provider, target_rc
from corral.store.import_placement.read import batches, count, stream
from corral.store.import_placement.report import ImportRefused, ProgressSink
from corral.store.import_placement.validate import (
    check_int,
    check_providers,
    check_ratio,
    check_str,
    refuse_row,
)
from corral.store.import_placement.write_consumers import (
    copy_allocations,
    copy_consumers,
    copy_owners,
)


def check_target_empty(dst: Connection) -> None:
    providers = dst.execute(select(func.count()).select_from(tables.resource_providers))
    n_providers = int(providers.scalar_one())
    n_consumers = int(dst.execute(select(func.count()).select_from(tables.consumers)).scalar_one())
    if n_providers or n_consumers:
        raise ImportRefused(
            f"the target database already holds {n_providers} resource providers and "
            f"{n_consumers} consumers: import-placement only fills an empty corral "
            "database (create a new one, or point [placement_database] connection "
            "elsewhere)"
        )


def copy(src: Connection, dst: Connection, sink: ProgressSink) -> tuple[Counter[str], int]:
    """Validate and write every source row; the rows written per entity, and how
    many consumers without allocations were left out."""
    maps = Maps()
    written: Counter[str] = Counter()
    _copy_resource_classes(src, dst, maps, written, sink)
    _copy_traits(src, dst, maps, written, sink)
    _copy_providers(src, dst, maps, written, sink)
    _copy_inventories(src, dst, maps, written, sink)
    _copy_aggregates(src, dst, maps, written, sink)
    _copy_provider_traits(src, dst, maps, written, sink)
    copy_owners(src, dst, maps, written, sink)
    skipped = copy_consumers(src, dst, maps, written, sink)
    copy_allocations(src, dst, maps, written, sink)
    # Tell every running index what changed, as any other provider write does:
    # a provider it does not know is loaded whole (all aspects).
    record_changes(dst, sorted(maps.provider.values()), "provider")
    return written, skipped


def _copy_resource_classes(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Upstream keeps standard classes in `resource_classes` too (its
    `_resource_classes_sync` inserts os-resource-classes' STANDARDS with their
    positions as ids) and numbers custom classes from 10000."""
    rows = list(src.execute(select(up.resource_classes).order_by(up.resource_classes.c.id)))
    sink.begin("resource classes", len(rows))
    existing = {r.name: r.id for r in dst.execute(select(tables.resource_classes))}
    top = max(existing.values(), default=0)
    next_id = max(rc_store.FIRST_CUSTOM_ID, top + 1)
    new: list[dict[str, Any]] = []
    for r in rows:
        name = check_str("resource_classes", r.id, "name", r.name, 255)
        maps.rc_name[r.id] = name
        if name in existing:
            maps.rc[r.id] = existing[name]
        elif name.startswith(os_resource_classes.CUSTOM_NAMESPACE):
            maps.rc[r.id] = next_id
            new.append({"id": next_id, "name": name, "created_at": r.created_at,
                        "updated_at": r.updated_at})  # fmt: skip
            next_id += 1
        else:
            # A standard class of a newer os-resource-classes than corral's:
            # refused below only if an inventory or allocation uses it.
            maps.unknown_rc[r.id] = name
    if new:
        dst.execute(tables.resource_classes.insert(), new)
    written["custom resource classes"] = len(new)
    sink.advance(len(rows))
    sink.end()


def _copy_traits(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Every source trait by name; those the target lacks (custom ones, or
    standard ones of a newer os-traits) are created."""
    rows = list(src.execute(select(up.traits).order_by(up.traits.c.id)))
    sink.begin("traits", len(rows))
    existing = {r.name: r.id for r in dst.execute(select(tables.traits.c.name, tables.traits.c.id))}
    missing = []
    for r in rows:
        name = check_str("traits", r.id, "name", r.name, 255)
        if name not in existing:
            missing.append({"name": name, "created_at": r.created_at, "updated_at": r.updated_at})
    for batch in batches(missing):
        dst.execute(tables.traits.insert(), batch)
    by_name = {r.name: r.id for r in dst.execute(select(tables.traits.c.name, tables.traits.c.id))}
    maps.trait = {r.id: by_name[r.name] for r in rows}
    written["traits created"] = len(missing)
    sink.advance(len(rows))
    sink.end()


def _copy_providers(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Providers with their exact generations, then their tree links (checked
    first against upstream's tree invariants: `validate.check_providers`)."""
    rows = list(src.execute(select(up.resource_providers).order_by(up.resource_providers.c.id)))
    sink.begin("providers", len(rows) * 2)
    check_providers(rows)
    for batch in batches(
        {
            "uuid": r.uuid,
            "name": r.name,
            "generation": r.generation,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        }
        for r in rows
    ):
        dst.execute(tables.resource_providers.insert(), batch)
        sink.advance(len(batch))
    rp = tables.resource_providers
    ids = {r.uuid: r.id for r in dst.execute(select(rp.c.uuid, rp.c.id))}
    maps.provider = {r.id: ids[r.uuid] for r in rows}
    maps.provider_uuid = {r.id: r.uuid for r in rows}
    link = (
        update(rp)
        .where(rp.c.id == bindparam("b_id"))
        .values(root_provider_id=bindparam("b_root"), parent_provider_id=bindparam("b_parent"))
    )
    # Roots first, then children by depth: every parent exists when its child
    # names it (corral declares the foreign keys upstream only half-declares).
    for batch in batches(
        {
            "b_id": maps.provider[r.id],
            "b_root": maps.provider[r.root_provider_id],
            "b_parent": None
            if r.parent_provider_id is None
            else maps.provider[r.parent_provider_id],
        }
        for r in rows
    ):
        dst.execute(link, batch)
        sink.advance(len(batch))
    written["providers"] = len(rows)
    sink.end()


def _copy_inventories(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Inventories within the bounds of upstream's inventory schema
    (placement/schemas/inventory.py: total >= 1, reserved >= 0, min_unit,
    max_unit, step_size >= 1, allocation_ratio a finite number)."""
    sink.begin("inventories", count(src, up.inventories))

    def rows() -> Iterator[dict[str, Any]]:
        for r in stream(src, select(up.inventories).order_by(up.inventories.c.id)):
            t = "inventories"
            ratio = check_ratio(t, r.id, r.allocation_ratio)
            yield {
                "resource_provider_id": target_provider(maps, t, r.id, r.resource_provider_id),
                "resource_class_id": target_rc(maps, t, r.id, r.resource_class_id),
                "total": check_int(t, r.id, "total", r.total, 1),
                "reserved": check_int(t, r.id, "reserved", r.reserved, 0),
                "min_unit": check_int(t, r.id, "min_unit", r.min_unit, 1),
                "max_unit": check_int(t, r.id, "max_unit", r.max_unit, 1),
                "step_size": check_int(t, r.id, "step_size", r.step_size, 1),
                "allocation_ratio": ratio,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in batches(rows()):
        dst.execute(tables.inventories.insert(), batch)
        written["inventories"] += len(batch)
        sink.advance(len(batch))
    sink.end()


def _copy_aggregates(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    agg = tables.placement_aggregates
    rows = list(src.execute(select(up.placement_aggregates).order_by(up.placement_aggregates.c.id)))
    links = list(src.execute(select(up.resource_provider_aggregates)))
    sink.begin("aggregates", len(rows) + len(links))
    existing = {r.uuid: r.id for r in dst.execute(select(agg.c.uuid, agg.c.id))}
    new = []
    for r in rows:
        uuid = check_str("placement_aggregates", r.id, "uuid", r.uuid, 36)
        if uuid not in existing:
            new.append({"uuid": uuid, "created_at": r.created_at, "updated_at": r.updated_at})
    for batch in batches(new):
        dst.execute(agg.insert(), batch)
    ids = {r.uuid: r.id for r in dst.execute(select(agg.c.uuid, agg.c.id))}
    maps.aggregate = {r.id: ids[r.uuid] for r in rows}
    sink.advance(len(rows))
    out = []
    for r in links:
        key = f"(resource_provider_id={r.resource_provider_id}, aggregate_id={r.aggregate_id})"
        if r.aggregate_id not in maps.aggregate:
            raise refuse_row(
                "resource_provider_aggregates", key, f"aggregate id={r.aggregate_id} does not exist"
            )
        out.append(
            {
                "resource_provider_id": target_provider(
                    maps, "resource_provider_aggregates", key, r.resource_provider_id
                ),
                "aggregate_id": maps.aggregate[r.aggregate_id],
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
        )
    for batch in batches(out):
        dst.execute(tables.resource_provider_aggregates.insert(), batch)
        sink.advance(len(batch))
    written["aggregates"] = len(rows)
    written["provider aggregates"] = len(out)
    sink.end()


def _copy_provider_traits(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    links = list(src.execute(select(up.resource_provider_traits)))
    sink.begin("provider traits", len(links))
    out = []
    for r in links:
        key = f"(trait_id={r.trait_id}, resource_provider_id={r.resource_provider_id})"
        if r.trait_id not in maps.trait:
            raise refuse_row(
                "resource_provider_traits", key, f"trait id={r.trait_id} does not exist"
            )
        out.append(
            {
                "trait_id": maps.trait[r.trait_id],
                "resource_provider_id": target_provider(
                    maps, "resource_provider_traits", key, r.resource_provider_id
                ),
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
        )
    for batch in batches(out):
        dst.execute(tables.resource_provider_traits.insert(), batch)
        sink.advance(len(batch))
    written["provider traits"] = len(out)
    sink.end()
