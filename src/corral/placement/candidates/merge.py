"""Folding per-group candidates into whole-request candidates.

For every anchor (root) that has entries for every group, every combination
of one entry per group is a candidate if it passes, as upstream:

- group_policy=isolate: the granular groups use pairwise different providers;
- same_subtree: among the providers of the named groups, one is an ancestor
  (or the same) of all the others;
- capacity: where several groups take the same class from the same provider,
  the sum still fits (used + sum <= capacity, sum <= max_unit).

Candidates made only of sharing providers can come out identical under
several anchors; they are de-duplicated (upstream's candidates are a set).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corral.placement.candidates.groups import GroupEntries
from corral.placement.candidates.product import CHUNK, anchored_product
from corral.placement.index.state import NO_PARENT, IndexState

Index = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MergeRules:
    isolate: bool
    same_subtrees: tuple[tuple[int, ...], ...]  # group positions per same_subtree


@dataclass(frozen=True)
class Accepted:
    """A chunk of accepted combinations: for each, the entry of every group."""

    anchor: Index
    positions: list[Index]

    def __len__(self) -> int:
        return len(self.anchor)


def _ancestor_or_self(parent: npt.NDArray[np.int32], a: Index, b: Index, depth: int) -> Mask:
    """Per position: is a[i] b[i] or one of b[i]'s ancestors?"""
    hit = a == b
    current = b.astype(np.intp)
    for _ in range(depth):
        up = np.where(current >= 0, parent[np.maximum(current, 0)], NO_PARENT).astype(np.intp)
        current = up
        hit |= (current == a) & (current >= 0)
    return hit


class Merger:
    def __init__(
        self, state: IndexState, groups: Sequence[GroupEntries], rules: MergeRules
    ) -> None:
        self.state = state
        self.groups = list(groups)
        self.rules = rules
        self._depth = state.max_depth() if rules.same_subtrees else 0
        self._shared_classes = self._classes_in_several_groups()
        self._sharing = state.sharing_mask()
        self._any_sharing = bool(self._sharing.any())
        self._seen: set[tuple[object, ...]] = set()

    def _classes_in_several_groups(self) -> dict[int, list[tuple[int, int, int]]]:
        """rc id -> [(group position, column, amount)] for classes in 2+ groups."""
        by_rc: dict[int, list[tuple[int, int, int]]] = {}
        for g, entries in enumerate(self.groups):
            grp = entries.group
            for j, (rc_id, amount) in enumerate(zip(grp.rc_ids, grp.amounts, strict=True)):
                by_rc.setdefault(rc_id, []).append((g, j, amount))
        return {rc: uses for rc, uses in by_rc.items() if len(uses) > 1}

    def chunks(self, chunk: int = CHUNK) -> Iterator[Accepted]:
        """Accepted combinations, anchors ascending, in product order."""
        if len(self.groups) == 1:
            # One group: its entries are the candidates, in their own order.
            only = self.groups[0]
            for lo in range(0, len(only), chunk):
                positions = [np.arange(lo, min(lo + chunk, len(only)), dtype=np.intp)]
                keep = self._dedupe(positions)
                if keep is not None:
                    positions = [positions[0][keep]]
                if len(positions[0]):
                    yield Accepted(anchor=only.anchor[positions[0]], positions=positions)
            return
        anchors = [entries.anchor for entries in self.groups]
        for part in anchored_product(anchors, chunk):
            keep = self._filter(part.positions)
            positions = [pos[keep] for pos in part.positions]
            anchor = part.anchor[keep]
            if len(anchor) == 0:
                continue
            keep2 = self._dedupe(positions)
            if keep2 is not None:
                positions = [pos[keep2] for pos in positions]
                anchor = anchor[keep2]
            if len(anchor):
                yield Accepted(anchor=anchor, positions=positions)

    def _filter(self, positions: list[Index]) -> Mask:
        size = len(positions[0])
        keep = np.ones(size, dtype=np.bool_)
        singles: dict[int, Index] = {}
        for g, entries in enumerate(self.groups):
            if entries.single is not None:
                singles[g] = entries.single[positions[g]]
        if self.rules.isolate:
            granular = [g for g, e in enumerate(self.groups) if e.group.use_same_provider]
            for i, gi in enumerate(granular):
                for gj in granular[i + 1 :]:
                    keep &= singles[gi] != singles[gj]
        for members in self.rules.same_subtrees:
            some_top = np.zeros(size, dtype=np.bool_)
            for top in members:
                under_top = np.ones(size, dtype=np.bool_)
                for other in members:
                    if other != top:
                        under_top &= _ancestor_or_self(
                            self.state.parent, singles[top], singles[other], self._depth
                        )
                some_top |= under_top
            keep &= some_top
        for rc_id, uses in self._shared_classes.items():
            column = self.state.column(rc_id)
            if column is None:
                continue
            picked = [self.groups[g].providers[positions[g], j] for g, j, _ in uses]
            for p_i in picked:
                total = np.zeros(size, dtype=np.int64)
                for (_, _, amount), p_j in zip(uses, picked, strict=True):
                    total += np.where(p_j == p_i, amount, 0)
                keep &= column.room_for(p_i, total)
        return keep

    def _dedupe(self, positions: list[Index]) -> Mask | None:
        """Drop repeats of candidates made only of sharing providers; None when
        nothing in this chunk can repeat."""
        if not self._any_sharing:
            return None
        size = len(positions[0])
        all_sharing = np.ones(size, dtype=np.bool_)
        for g, entries in enumerate(self.groups):
            picked = entries.providers[positions[g]]
            if picked.shape[1]:
                all_sharing &= self._sharing[picked].all(axis=1)
            if entries.single is not None:
                all_sharing &= self._sharing[entries.single[positions[g]]]
        if not all_sharing.any():
            return None
        keep = np.ones(size, dtype=np.bool_)
        for row in np.flatnonzero(all_sharing):
            key = self.key(positions, int(row))
            if key in self._seen:
                keep[row] = False
            else:
                self._seen.add(key)
        return keep

    def key(self, positions: list[Index], row: int) -> tuple[object, ...]:
        """What makes two candidates the same: the amounts per (provider, class)
        and the providers each group maps to."""
        amounts: dict[tuple[int, int], int] = {}
        mappings: list[tuple[str, tuple[int, ...]]] = []
        for g, entries in enumerate(self.groups):
            grp = entries.group
            entry = int(positions[g][row])
            picked = entries.providers[entry]
            for j, (rc_id, amount) in enumerate(zip(grp.rc_ids, grp.amounts, strict=True)):
                k = (int(picked[j]), rc_id)
                amounts[k] = amounts.get(k, 0) + amount
            if entries.single is not None:
                mapped: tuple[int, ...] = (int(entries.single[entry]),)
            else:
                mapped = tuple(sorted({int(p) for p in picked}))
            mappings.append((grp.suffix, mapped))
        return (tuple(sorted(amounts.items())), tuple(sorted(mappings)))
