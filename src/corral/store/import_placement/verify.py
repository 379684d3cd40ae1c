"""The check before commit: the copy read back from the target, compared with
the source in the same snapshot.

Row counts per entity, and every provider's generation and usage per
resource class (the sum of `used`, read the same way on both sides), must
equal upstream's; any difference is a Mismatch and the import rolls back.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import os_resource_classes
from sqlalchemy import Connection, Table, func, select

from corral.store import tables
from corral.store.import_placement import upstream_schema as up
from corral.store.import_placement.read import count
from corral.store.import_placement.report import CountRow, ImportReport, Mismatch, ProgressSink


def _names(conn: Connection, column: Any) -> set[str]:
    return {r[0] for r in conn.execute(select(column))}


def _usage(conn: Connection, rp: Table, rc: Table, alloc: Table) -> dict[tuple[str, str], int]:
    """(provider uuid, class name) -> sum of used, read the same way on both sides."""
    query = (
        select(rp.c.uuid, rc.c.name, func.sum(alloc.c.used))
        .select_from(
            alloc.join(rp, rp.c.id == alloc.c.resource_provider_id).join(
                rc, rc.c.id == alloc.c.resource_class_id
            )
        )
        .group_by(rp.c.uuid, rc.c.name)
    )
    return {(r[0], r[1]): int(r[2] or 0) for r in conn.execute(query)}


def verify(
    src: Connection,
    dst: Connection,
    report: ImportReport,
    written: Counter[str],
    skipped_consumers: int,
    sink: ProgressSink,
) -> None:
    """Read the copy back from the target and compare it with the source."""
    sink.begin("verifying", 3)
    t = tables

    def row(entity: str, source: int, imported: int, skipped: int = 0, note: str = "") -> None:
        report.counts.append(CountRow(entity, source, imported, skipped, note))

    def present(source_names: set[str], target_column: Any) -> int:
        return len(source_names & _names(dst, target_column))

    row("providers", count(src, up.resource_providers), count(dst, t.resource_providers))
    row("inventories", count(src, up.inventories), count(dst, t.inventories))
    row("allocations", count(src, up.allocations), count(dst, t.allocations))
    row(
        "consumers",
        count(src, up.consumers),
        count(dst, t.consumers),
        skipped_consumers,
        f"{skipped_consumers} without allocations left out" if skipped_consumers else "",
    )
    src_custom = {
        n
        for n in _names(src, up.resource_classes.c.name)
        if n.startswith(os_resource_classes.CUSTOM_NAMESPACE)
    }
    row("custom resource classes", len(src_custom), present(src_custom, t.resource_classes.c.name))
    src_traits = _names(src, up.traits.c.name)
    row(
        "traits",
        len(src_traits),
        present(src_traits, t.traits.c.name),
        note=f"{written['traits created']} created" if written["traits created"] else "",
    )
    row(
        "provider traits",
        count(src, up.resource_provider_traits),
        count(dst, t.resource_provider_traits),
    )
    src_aggs = _names(src, up.placement_aggregates.c.uuid)
    row("aggregates", len(src_aggs), present(src_aggs, t.placement_aggregates.c.uuid))
    row(
        "provider aggregates",
        count(src, up.resource_provider_aggregates),
        count(dst, t.resource_provider_aggregates),
    )
    src_projects = _names(src, up.projects.c.external_id)
    row("projects", len(src_projects), present(src_projects, t.projects.c.external_id))
    src_users = _names(src, up.users.c.external_id)
    row("users", len(src_users), present(src_users, t.users.c.external_id))
    src_types = _names(src, up.consumer_types.c.name)
    row("consumer types", len(src_types), present(src_types, t.consumer_types.c.name))
    sink.advance(1)

    rp = t.resource_providers
    src_rp = up.resource_providers
    src_gen = {r[0]: r[1] for r in src.execute(select(src_rp.c.uuid, src_rp.c.generation))}
    dst_gen = {r[0]: r[1] for r in dst.execute(select(rp.c.uuid, rp.c.generation))}
    for uuid in sorted(src_gen.keys() | dst_gen.keys()):
        a, b = src_gen.get(uuid, -1), dst_gen.get(uuid, -1)
        if a != b:
            report.mismatches.append(Mismatch(uuid, "generation", a, b))
    sink.advance(1)
    src_use = _usage(src, src_rp, up.resource_classes, up.allocations)
    dst_use = _usage(dst, rp, t.resource_classes, t.allocations)
    for key in sorted(src_use.keys() | dst_use.keys()):
        a, b = src_use.get(key, 0), dst_use.get(key, 0)
        if a != b:
            report.mismatches.append(Mismatch(key[0], key[1], a, b))
    report.providers_compared = len(src_gen)
    sink.advance(1)
    sink.end()
