"""Writing the owners, consumers and allocations of the source into corral's
tables, inside the caller's one write transaction.

What Nova sends back is carried exactly: consumer generations, consumer
types, and the project and user of every consumer. Consumers without
allocations are left out, as upstream itself deletes them
(`delete_consumers_if_no_allocations`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Table, select

from corral.store import tables
from corral.store.import_placement import upstream_schema as up
from corral.store.import_placement.ids import Maps, target_provider, target_rc
from corral.store.import_placement.read import batches, count, stream
from corral.store.import_placement.report import ImportRefused, ProgressSink
from corral.store.import_placement.validate import check_int, check_str, refuse_row


def _map_by_name(
    src: Connection,
    dst: Connection,
    source: Table,
    target: Table,
    column: str,
    max_len: int,
) -> dict[int, int]:
    """Source id -> target id of rows keyed by `column` (projects and users by
    external id, consumer types by name), inserting those the target lacks."""
    rows = list(src.execute(select(source).order_by(source.c.id)))
    existing = {r[0]: r[1] for r in dst.execute(select(target.c[column], target.c.id))}
    new = []
    for r in rows:
        value = check_str(source.name, r.id, column, getattr(r, column), max_len)
        if value not in existing:
            new.append({column: value, "created_at": r.created_at, "updated_at": r.updated_at})
            existing[value] = -1
    for batch in batches(new):
        dst.execute(target.insert(), batch)
    ids = {r[0]: r[1] for r in dst.execute(select(target.c[column], target.c.id))}
    return {r.id: ids[getattr(r, column)] for r in rows}


def copy_owners(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    sink.begin("projects, users, consumer types", 3)
    maps.project = _map_by_name(src, dst, up.projects, tables.projects, "external_id", 255)
    sink.advance(1)
    maps.user = _map_by_name(src, dst, up.users, tables.users, "external_id", 255)
    sink.advance(1)
    maps.ctype = _map_by_name(src, dst, up.consumer_types, tables.consumer_types, "name", 255)
    sink.advance(1)
    written["projects"] = len(maps.project)
    written["users"] = len(maps.user)
    written["consumer types"] = len(maps.ctype)
    sink.end()


def copy_consumers(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> int:
    """Consumers that hold allocations, with their generation, owner and type.

    A consumer with no allocation is left out: in corral a consumer exists
    exactly as long as it has allocations, and upstream deletes such rows
    itself when their last allocation goes (`delete_consumers_if_no_allocations`).
    Returns how many were left out.
    """
    holding = set(
        r[0] for r in src.execute(select(up.allocations.c.consumer_id).distinct())
    )  # fmt: skip
    sink.begin("consumers", count(src, up.consumers))
    skipped = 0
    seen: set[str] = set()

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal skipped
        t = "consumers"
        for r in stream(src, select(up.consumers).order_by(up.consumers.c.id)):
            uuid = check_str(t, r.id, "uuid", r.uuid, 36)
            seen.add(uuid)
            if uuid not in holding:
                skipped += 1
                continue
            if r.project_id not in maps.project:
                raise refuse_row(t, r.id, f"project id={r.project_id} does not exist")
            if r.user_id not in maps.user:
                raise refuse_row(t, r.id, f"user id={r.user_id} does not exist")
            if r.consumer_type_id is not None and r.consumer_type_id not in maps.ctype:
                raise refuse_row(t, r.id, f"consumer type id={r.consumer_type_id} does not exist")
            yield {
                "uuid": uuid,
                "project_id": maps.project[r.project_id],
                "user_id": maps.user[r.user_id],
                "generation": check_int(t, r.id, "generation", r.generation, 0),
                "consumer_type_id": None
                if r.consumer_type_id is None
                else maps.ctype[r.consumer_type_id],
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in batches(rows()):
        dst.execute(tables.consumers.insert(), batch)
        written["consumers"] += len(batch)
        sink.advance(len(batch))
    sink.advance(skipped)
    orphans = sorted(holding - seen)
    if orphans:
        raise ImportRefused(
            f"source allocations name consumer {orphans[0]} (and {len(orphans) - 1} more) "
            "with no consumers row: run upstream's `placement-manage db "
            "online_data_migrations` on the source first (it creates them); nothing was imported"
        )
    sink.end()
    return skipped


def copy_allocations(
    src: Connection, dst: Connection, maps: Maps, written: Counter[str], sink: ProgressSink
) -> None:
    """Allocations, used >= 1 as upstream's allocation schema requires."""
    sink.begin("allocations", count(src, up.allocations))

    def rows() -> Iterator[dict[str, Any]]:
        t = "allocations"
        for r in stream(src, select(up.allocations).order_by(up.allocations.c.id)):
            yield {
                "resource_provider_id": target_provider(maps, t, r.id, r.resource_provider_id),
                "resource_class_id": target_rc(maps, t, r.id, r.resource_class_id),
                "consumer_id": check_str(t, r.id, "consumer_id", r.consumer_id, 36),
                "used": check_int(t, r.id, "used", r.used, 1),
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }

    for batch in batches(rows()):
        dst.execute(tables.allocations.insert(), batch)
        written["allocations"] += len(batch)
        sink.advance(len(batch))
    sink.end()
