"""Validation of source rows against the bounds corral can serve faithfully.

The bounds are upstream's own: its API's integer bound
(placement/db/constants.py MAX_INT), its inventory schema
(placement/schemas/inventory.py) and the provider tree invariants it enforces
since its 611cd6dffd7b migration ("block on null root provider id"). A row
outside them refuses the whole import, naming the row.
"""

from __future__ import annotations

import math
from typing import Any

from corral.store.import_placement.report import ImportRefused

# Upstream's API bounds on integer fields (placement/db/constants.py MAX_INT).
MAX_INT = 2_147_483_647


def refuse_row(table: str, row_id: object, why: str) -> ImportRefused:
    return ImportRefused(f"source {table} row id={row_id}: {why}; nothing was imported")


def check_int(table: str, row_id: object, name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise refuse_row(table, row_id, f"{name} is {value!r}, not a whole number")
    if not low <= value <= MAX_INT:
        raise refuse_row(table, row_id, f"{name} = {value} is outside {low}..{MAX_INT}")
    return value


def check_str(table: str, row_id: object, name: str, value: object, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise refuse_row(table, row_id, f"{name} is {value!r}, not a non-empty string")
    if len(value) > max_len:
        raise refuse_row(table, row_id, f"{name} is longer than {max_len} characters")
    return value


def check_ratio(table: str, row_id: object, ratio: object) -> float:
    """An inventory's allocation_ratio: a finite number >= 0."""
    if not isinstance(ratio, int | float) or not math.isfinite(ratio) or ratio < 0:
        raise refuse_row(table, row_id, f"allocation_ratio {ratio!r} is not a number >= 0")
    return float(ratio)


def check_providers(rows: list[Any]) -> dict[int, Any]:
    """Every source provider row, by id, once its fields and tree links hold.

    Upstream's invariants (enforced since its 611cd6dffd7b migration, "block
    on null root provider id"): every provider has a root; a provider without
    a parent is its own root; a child shares its parent's root.
    """
    by_id = {r.id: r for r in rows}
    seen_uuid: set[str] = set()
    for r in rows:
        uuid = check_str("resource_providers", r.id, "uuid", r.uuid, 36)
        if uuid in seen_uuid:
            raise refuse_row("resource_providers", r.id, f"uuid {uuid} is not unique")
        seen_uuid.add(uuid)
        check_str("resource_providers", r.id, "name", r.name, 200)
        check_int("resource_providers", r.id, "generation", r.generation, 0)
        if r.root_provider_id is None:
            raise refuse_row(
                "resource_providers",
                r.id,
                "root_provider_id is NULL (upstream's `placement-manage db "
                "online_data_migrations` fills it)",
            )
        if r.root_provider_id not in by_id:
            raise refuse_row(
                "resource_providers", r.id, f"root provider id={r.root_provider_id} does not exist"
            )
        if r.parent_provider_id is None:
            if r.root_provider_id != r.id:
                raise refuse_row(
                    "resource_providers", r.id, "has no parent but is not its own root"
                )
        else:
            parent = by_id.get(r.parent_provider_id)
            if parent is None:
                raise refuse_row(
                    "resource_providers",
                    r.id,
                    f"parent provider id={r.parent_provider_id} does not exist",
                )
            if parent.root_provider_id != r.root_provider_id:
                raise refuse_row(
                    "resource_providers", r.id, "its root differs from its parent's root"
                )
    _check_acyclic(by_id)
    return by_id


def _check_acyclic(by_id: dict[int, Any]) -> None:
    done: set[int] = set()
    for start in by_id:
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in done:
            if node in on_path:
                raise refuse_row("resource_providers", node, "its parents form a cycle")
            on_path.add(node)
            path.append(node)
            node = by_id[node].parent_provider_id
        done.update(path)
