"""The index's data: providers as slots, with tree, trait, aggregate and inventory arrays.

A provider gets a slot (a row number) when first seen and keeps it until the
next full reload; a deleted provider's slot is marked dead. Every array is
indexed by slot, so one numpy mask over slots is one question about the cloud.

Nothing here talks to the database: `apply_*` take rows read by
`corral.store.snapshot` and fold them in. The owner (`PlacementIndex`) holds
the write lock while applying and the read lock while searching.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from corral.placement.index.bitsets import BitMatrix
from corral.placement.index.columns import ResourceColumn
from corral.store.snapshot import InventoryRow, ProviderTuple, UsageRow

BoolArray = npt.NDArray[np.bool_]
SlotArray = npt.NDArray[np.intp]

NO_PARENT = -1


class ProviderSummary:
    """What a provider summary shows about one provider at one moment.

    The index hands out the same object until the provider changes, so a
    renderer may keep one encoding of it in `encoded` (with a key of its
    choosing saying which shape it is). Treat the rest as read-only.
    """

    __slots__ = ("encoded", "parent_uuid", "resources", "root_uuid", "traits", "uuid")

    def __init__(
        self,
        uuid: str,
        parent_uuid: str | None,
        root_uuid: str,
        traits: tuple[str, ...],
        resources: tuple[tuple[str, int, int], ...],
    ) -> None:
        self.uuid = uuid
        self.parent_uuid = parent_uuid
        self.root_uuid = root_uuid
        self.traits = traits
        # (resource class name, capacity, used) per inventory, by class id
        self.resources = resources
        self.encoded: tuple[object, object] | None = None


# Summaries kept at most; past this the older half is dropped (a cache of
# what recent searches showed, not a copy of the cloud).
SUMMARY_CACHE = 50_000


class IndexState:
    def __init__(self, expected_providers: int = 0) -> None:
        cap = max(expected_providers, 16)
        self.size = 0  # slots handed out
        self.uuid: list[str] = []
        self.provider_id: list[int] = []
        self.slot_of_id: dict[int, int] = {}
        self.slot_of_uuid: dict[str, int] = {}
        self.parent: npt.NDArray[np.int32] = np.full(cap, NO_PARENT, dtype=np.int32)
        self.root: npt.NDArray[np.int32] = np.zeros(cap, dtype=np.int32)
        self.alive: BoolArray = np.zeros(cap, dtype=np.bool_)
        self.traits = BitMatrix(cap)
        self.aggregates = BitMatrix(cap)
        self.columns: dict[int, ResourceColumn] = {}
        self.trait_name: dict[int, str] = {}
        self.rc_name: dict[int, str] = {}
        self.aggregate_id_of_uuid: dict[str, int] = {}
        self.sharing_trait_id: int | None = None
        # Bumped by any change to trees, traits or aggregates (not usage or
        # inventory): derived data keyed on it (sharing anchors) stays valid
        # while only capacity moves.
        self.topology_version = 0
        self._tree_children = 0
        # Summaries by slot, dropped whenever anything they show may change.
        self._summaries: dict[int, ProviderSummary] = {}
        self._trait_tuples: dict[frozenset[int], tuple[str, ...]] = {}
        self._anchors: dict[int, npt.NDArray[np.intp]] = {}
        self._anchors_version = -1

    # --- shape and lookups ---------------------------------------------------------

    def _ensure(self, slots: int) -> None:
        have = len(self.alive)
        if slots <= have:
            return
        new = max(slots, have * 2)
        self.parent = _grown(self.parent, new, NO_PARENT)
        self.root = _grown(self.root, new, 0)
        self.alive = _grown(self.alive, new, False)
        self.traits.ensure_rows(new)
        self.aggregates.ensure_rows(new)
        for column in self.columns.values():
            column.ensure_providers(new)

    def column(self, rc_id: int) -> ResourceColumn | None:
        return self.columns.get(rc_id)

    def _column_for_write(self, rc_id: int) -> ResourceColumn:
        column = self.columns.get(rc_id)
        if column is None:
            column = ResourceColumn(rc_id, len(self.alive))
            self.columns[rc_id] = column
        return column

    def slots_of_ids(self, ids: Iterable[int]) -> list[int]:
        return [self.slot_of_id[i] for i in ids if i in self.slot_of_id]

    @property
    def has_trees(self) -> bool:
        """Whether any live provider has a parent (upstream switches code paths on it)."""
        return self._tree_children > 0

    def live_slots(self) -> SlotArray:
        return np.flatnonzero(self.alive[: self.size])

    def sharing_mask(self) -> BoolArray:
        if self.sharing_trait_id is None:
            return np.zeros(self.size, dtype=np.bool_)
        return self.traits.any_of([self.sharing_trait_id], self.size) & self.alive[: self.size]

    def is_sharing(self, slot: int) -> bool:
        return self.sharing_trait_id is not None and self.sharing_trait_id in self.traits.ids(slot)

    def sharing_anchors(self, slot: int) -> npt.NDArray[np.intp]:
        """Roots of every tree with a provider in one of `slot`'s aggregates (the trees
        a sharing provider can serve), ascending. Includes its own root when it is in
        any aggregate."""
        if self._anchors_version != self.topology_version:
            self._anchors.clear()
            self._anchors_version = self.topology_version
        cached = self._anchors.get(slot)
        if cached is None:
            aggs = self.aggregates.ids(slot)
            if aggs:
                members = self.aggregates.any_of(aggs, self.size) & self.alive[: self.size]
                cached = np.unique(self.root[: self.size][members]).astype(np.intp)
            else:
                cached = np.zeros(0, dtype=np.intp)
            self._anchors[slot] = cached
        return cached

    def ancestors_or_self(self, slot: int) -> list[int]:
        out = [slot]
        seen = {slot}
        parent = int(self.parent[slot])
        while parent != NO_PARENT and parent not in seen:
            out.append(parent)
            seen.add(parent)
            parent = int(self.parent[parent])
        return out

    def max_depth(self) -> int:
        """Longest parent chain among live providers (0 when there are no trees)."""
        if not self.has_trees:
            return 0
        depth = 0
        current = np.flatnonzero(self.alive[: self.size]).astype(np.intp)
        parents = self.parent[current]
        while True:
            current = parents[parents != NO_PARENT].astype(np.intp)
            if len(current) == 0 or depth > self.size:
                return depth
            depth += 1
            parents = self.parent[current]

    def unique_slots(self, slots: SlotArray) -> SlotArray:
        """The distinct slots, ascending (a scatter over the slot range, which
        beats sorting for the few thousand slots a search handles)."""
        seen = np.zeros(self.size, dtype=np.bool_)
        seen[slots] = True
        return np.flatnonzero(seen)

    def tree_members(self, roots: SlotArray) -> SlotArray:
        """Every live provider of the trees rooted at `roots`, ascending."""
        wanted = np.zeros(self.size, dtype=np.bool_)
        wanted[roots] = True
        if not self.has_trees:
            return np.flatnonzero(wanted & self.alive[: self.size])
        return np.flatnonzero(wanted[self.root[: self.size]] & self.alive[: self.size])

    def summary(self, slot: int) -> ProviderSummary:
        """The provider's summary, rebuilt only after the provider changed."""
        cached = self._summaries.get(slot)
        if cached is not None:
            return cached
        parent = int(self.parent[slot])
        resources = []
        for rc_id in sorted(self.columns):
            shown = self.columns[rc_id].capacity_used(slot)
            if shown is not None:
                resources.append((self.rc_name.get(rc_id, str(rc_id)), shown[0], shown[1]))
        trait_ids = self.traits.ids(slot)
        traits = self._trait_tuples.get(trait_ids)
        if traits is None:
            # Providers share trait sets: one tuple of names per set. In id
            # order, the order upstream's query returns them in (clients and
            # the upstream tests compare the list as it comes).
            traits = tuple(self.trait_name.get(t, str(t)) for t in sorted(trait_ids))
            self._trait_tuples[trait_ids] = traits
        summary = ProviderSummary(
            uuid=self.uuid[slot],
            parent_uuid=self.uuid[parent] if parent != NO_PARENT else None,
            root_uuid=self.uuid[int(self.root[slot])],
            traits=traits,
            resources=tuple(resources),
        )
        if len(self._summaries) >= SUMMARY_CACHE:
            # Searches share this cache under the read lock: pop, not del, in
            # case another one evicts the same entry.
            for old in list(self._summaries)[: SUMMARY_CACHE // 2]:
                self._summaries.pop(old, None)
        self._summaries[slot] = summary
        return summary

    # --- writes --------------------------------------------------------------------

    def set_names(
        self, rc_names: dict[int, str] | None = None, trait_names: dict[int, str] | None = None
    ) -> None:
        """Record class and trait names. Ids of deleted custom classes and traits
        can be handed out again, so a changed name drops what showed the old one."""
        changed = False
        for known, new in ((self.rc_name, rc_names), (self.trait_name, trait_names)):
            for ident, name in (new or {}).items():
                if known.get(ident) != name:
                    changed = changed or ident in known
                    known[ident] = name
        if changed:
            self._trait_tuples.clear()
            self._summaries.clear()

    def _touch(self, slots: Iterable[int]) -> None:
        for slot in slots:
            self._summaries.pop(slot, None)

    def apply_providers(self, asked: Collection[int] | None, rows: list[ProviderTuple]) -> None:
        """Fold in provider rows. `asked` are the ids that were read (None: all of
        them); an asked id with no row was deleted."""
        self._ensure(self.size + len(rows))
        for row in rows:
            slot = self.slot_of_id.get(row.id)
            if slot is None:
                slot = self.size
                self.size += 1
                self.uuid.append(row.uuid)
                self.provider_id.append(row.id)
                self.slot_of_id[row.id] = slot
                self.slot_of_uuid[row.uuid] = slot
        for row in rows:
            slot = self.slot_of_id[row.id]
            parent = self.slot_of_id.get(row.parent_id, NO_PARENT) if row.parent_id else NO_PARENT
            root = self.slot_of_id.get(row.root_id, slot)
            old_child = self.alive[slot] and self.parent[slot] != NO_PARENT
            self.parent[slot] = parent
            self.root[slot] = root
            self.alive[slot] = True
            self._tree_children += int(parent != NO_PARENT) - int(old_child)
        present = {row.id for row in rows}
        gone = [] if asked is None else [i for i in asked if i not in present]
        for provider_id in gone:
            self._remove(provider_id)
        self._touch(self.slot_of_id[r.id] for r in rows)
        # A parent's or root's uuid shows in its descendants' summaries, but
        # uuids never change, so only the moved providers need new summaries.
        self.topology_version += 1

    def _remove(self, provider_id: int) -> None:
        slot = self.slot_of_id.pop(provider_id, None)
        if slot is None:
            return
        if self.alive[slot] and self.parent[slot] != NO_PARENT:
            self._tree_children -= 1
        self.alive[slot] = False
        self.slot_of_uuid.pop(self.uuid[slot], None)
        self.traits.clear_row(slot)
        self.aggregates.clear_row(slot)
        for column in self.columns.values():
            column.drop_inventory(slot)
            column.set_used(slot, 0)
        self._summaries.pop(slot, None)

    def _slots_for_ids(self, provider_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Slot of each provider id (-1 for unknown ids), vectorised."""
        if len(provider_ids) == 0 or not self.slot_of_id:
            return np.full(len(provider_ids), -1, dtype=np.intp)
        top = max(int(provider_ids.max()), max(self.slot_of_id)) + 1
        lookup = np.full(top, -1, dtype=np.intp)
        lookup[np.fromiter(self.slot_of_id.keys(), dtype=np.int64)] = np.fromiter(
            self.slot_of_id.values(), dtype=np.intp
        )
        return lookup[provider_ids]

    def apply_inventories(
        self, asked: Collection[int] | None, rows: Sequence[InventoryRow]
    ) -> None:
        if asked is None and not self.columns:
            self._load_inventories(rows)
            self._touch(range(self.size))
            return
        slots = self._asked_slots(asked)
        for column in self.columns.values():
            if asked is None:
                column.clear_inventory()
            else:
                for slot in slots:
                    column.drop_inventory(slot)
        for provider_id, rc_id, total, reserved, min_unit, max_unit, step, ratio in rows:
            target = self.slot_of_id.get(provider_id)
            if target is None:
                continue
            self._column_for_write(rc_id).set_inventory(
                target, total, reserved, min_unit, max_unit, step, float(ratio)
            )
        self._touch(slots if asked is not None else range(self.size))

    def _load_inventories(self, rows: Sequence[InventoryRow]) -> None:
        """A whole cloud's inventory into empty columns, a class at a time."""
        if not rows:
            return
        table = np.array([r[:7] for r in rows], dtype=np.int64)
        ratio = np.array([r[7] for r in rows], dtype=np.float64)
        slots = self._slots_for_ids(table[:, 0])
        known = slots >= 0
        table, ratio, slots = table[known], ratio[known], slots[known]
        for rc_id in np.unique(table[:, 1]).tolist():
            pick = table[:, 1] == rc_id
            self._column_for_write(int(rc_id)).load(
                slots[pick],
                {
                    "total": table[pick, 2],
                    "reserved": table[pick, 3],
                    "min_unit": table[pick, 4],
                    "max_unit": table[pick, 5],
                    "step_size": table[pick, 6],
                    "ratio": ratio[pick],
                },
            )

    def apply_usages(self, asked: Collection[int] | None, rows: Sequence[UsageRow]) -> None:
        slots = self._asked_slots(asked)
        for column in self.columns.values():
            if asked is None:
                column.clear_usage()
            else:
                for slot in slots:
                    column.set_used(slot, 0)
        if asked is None and rows:
            self._load_usages(rows)
        else:
            for provider_id, rc_id, used in rows:
                target = self.slot_of_id.get(provider_id)
                if target is not None:
                    self._column_for_write(rc_id).set_used(target, int(used))
        self._touch(slots if asked is not None else range(self.size))

    def _load_usages(self, rows: Sequence[UsageRow]) -> None:
        table = np.array(rows, dtype=np.int64)
        slots = self._slots_for_ids(table[:, 0])
        for rc_id in np.unique(table[:, 1]).tolist():
            pick = (table[:, 1] == rc_id) & (slots >= 0)
            column = self._column_for_write(int(rc_id))
            targets, used = slots[pick], table[pick, 2]
            entries = column.slot_of[targets]
            have = entries >= 0
            column.used[entries[have]] = used[have]
            # Usage without inventory (rare): entries one by one.
            for slot, amount in zip(targets[~have].tolist(), used[~have].tolist(), strict=True):
                column.set_used(slot, amount)

    def apply_traits(self, asked: Collection[int] | None, rows: list[tuple[int, int]]) -> None:
        if asked is None and self._bulk_load(self.traits, rows):
            return
        by_slot = self._group(asked, rows)
        for slot, ids in by_slot.items():
            self.traits.set_row(slot, ids)
        self._touch(by_slot)
        self.topology_version += 1

    def apply_aggregates(
        self, asked: Collection[int] | None, rows: list[tuple[int, int, str]]
    ) -> None:
        for _pid, agg_id, agg_uuid in rows:
            self.aggregate_id_of_uuid[agg_uuid] = agg_id
        pairs = [(pid, agg_id) for pid, agg_id, _ in rows]
        if asked is None and self._bulk_load(self.aggregates, pairs):
            return
        by_slot = self._group(asked, pairs)
        for slot, ids in by_slot.items():
            self.aggregates.set_row(slot, ids)
        self.topology_version += 1

    def _bulk_load(self, matrix: BitMatrix, rows: list[tuple[int, int]]) -> bool:
        """A whole cloud's (provider id, id) pairs into a matrix no row was
        written to yet; False (nothing done) when the matrix holds rows."""
        if matrix.holders_any():
            return False
        table = np.array(rows, dtype=np.int64).reshape(-1, 2)
        slots = self._slots_for_ids(table[:, 0])
        known = slots >= 0
        matrix.load(slots[known], table[known, 1])
        self._touch(range(self.size))
        self.topology_version += 1
        return True

    def _asked_slots(self, asked: Collection[int] | None) -> list[int]:
        if asked is None:
            return list(range(self.size))
        return self.slots_of_ids(asked)

    def _group(
        self, asked: Collection[int] | None, rows: list[tuple[int, int]]
    ) -> dict[int, set[int]]:
        by_slot: dict[int, set[int]] = {slot: set() for slot in self._asked_slots(asked)}
        for provider_id, ident in rows:
            slot = self.slot_of_id.get(provider_id)
            if slot is not None:
                by_slot.setdefault(slot, set()).add(ident)
        return by_slot

    @property
    def nbytes(self) -> int:
        arrays = (self.parent, self.root, self.alive)
        total = sum(a.nbytes for a in arrays) + self.traits.nbytes + self.aggregates.nbytes
        return int(total + sum(c.nbytes for c in self.columns.values()))


_A = TypeVar("_A", bound=np.generic)


def _grown(array: npt.NDArray[_A], size: int, fill: object) -> npt.NDArray[_A]:
    out: npt.NDArray[_A] = np.full(size, fill, dtype=array.dtype)
    out[: len(array)] = array
    return out
