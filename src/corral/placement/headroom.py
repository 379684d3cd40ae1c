"""How many more times a request fits in each provider tree, by Placement's rules.

The candidate search says whether a request fits a tree once; capacity
headroom asks how many times in a row it would. For every request group and
resource class, each provider the group could take that class from
(alive, its own traits and aggregates as the search requires them, no
forbidden trait, in the `in_tree` tree, and min_unit, max_unit and
step_size allowing the amount) holds

    (int((total - reserved) * allocation_ratio) - used) // amount

more of it (corral.store.capacity's rule, as the index keeps it). Then, per
tree:

- a granular group (one provider for all its classes, as the search asks)
  fits the sum, over the providers that can serve it, of the smallest such
  quotient among its classes;
- the unsuffixed group in a cloud with trees or sharing providers may take
  each class from a different provider: it fits the smallest, over its
  classes, of the sum over those providers;
- a class that several groups ask for is also bounded by the tree's whole
  free amount of it over the providers that can serve any of those groups,
  divided by what all of them ask together;
- the tree fits the smallest of these bounds.

On a compute node whose classes all sit on its root provider (no sharing)
this is exact: every instance takes its amounts from the same provider.
Where groups of one request compete for the same provider in a tree (two
granular groups that could each use either NUMA node, say), or traits are
met only by the union of several providers, it is an upper bound; the caller
only counts trees the candidate search offered at least once. A sharing
provider's free capacity counts for every tree it serves, so a sum over
trees counts it once per tree.

Everything is numpy over provider slots; only sharing providers (few) are
visited one by one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from corral.placement.candidates.resolve import (
    GroupResolver,
    NameSource,
    NoCandidates,
    ResolvedGroup,
)
from corral.placement.index.state import NO_PARENT, IndexState
from corral.placement.index.view import IndexView, viewed_state
from corral.placement.request import CandidateRequest

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
Slots = npt.NDArray[np.intp]

# What "no bound yet" reads as; any real count is far below it.
UNBOUNDED = np.iinfo(np.int64).max


def _free(state: IndexState, rc_id: int) -> Ints:
    """Per slot: capacity minus usage of one class (0 without inventory, never negative)."""
    n = state.size
    out = np.zeros(n, dtype=np.int64)
    column = state.column(rc_id)
    if column is None:
        return out
    entry = column.slot_of[:n].astype(np.intp)
    has = entry >= 0
    at = entry[has]
    live = column.live[at]
    room = np.maximum(column.capacity[at] - column.used[at], 0)
    out[np.flatnonzero(has)] = np.where(live, room, 0)
    return out


def _fits_once(state: IndexState, rc_id: int, amount: int) -> Mask:
    column = state.column(rc_id)
    if column is None:
        return np.zeros(state.size, dtype=np.bool_)
    return column.fits_mask(amount, state.size)


def _usable(state: IndexState, group: ResolvedGroup, several: bool) -> Mask:
    """Providers the group may take resources from, before amounts."""
    n = state.size
    mask = state.alive[:n].copy()
    if group.tree_root is not None:
        mask &= state.root[:n] == group.tree_root
    if group.forbidden:
        mask &= ~state.traits.any_of(group.forbidden, n)
    root = state.root[:n].astype(np.intp)
    if group.member_of:
        member = state.aggregates.all_of_any(group.member_of, n)
        # An aggregate on the root counts for the whole tree when several
        # providers may serve the group (the search's rule).
        mask &= (member | member[root]) if several else member
    if group.forbidden_aggs:
        bad = state.aggregates.any_of(group.forbidden_aggs, n)
        mask &= ~(bad | bad[root]) if several else ~bad
    if group.required and not several:
        mask &= state.traits.all_of_any(group.required, n)
    return mask


def _per_tree(state: IndexState, per_slot: Ints, sharing: Mask) -> Ints:
    """Per slot: the sum of `per_slot` over the tree rooted there (0 elsewhere),
    a sharing provider's share counted for every tree it serves."""
    n = state.size
    root = state.root[:n].astype(np.intp)
    own = np.where(sharing, 0, per_slot)
    out = np.bincount(root, weights=own, minlength=n)[:n].astype(np.int64)
    for sp in np.flatnonzero(sharing & (per_slot > 0)).tolist():
        anchors = state.sharing_anchors(sp)
        out[anchors] += per_slot[sp]
        if root[sp] not in set(anchors.tolist()):
            out[root[sp]] += per_slot[sp]
    return out


def fits_per_tree(names: NameSource, view: IndexView, request: CandidateRequest) -> Ints:
    """Per index slot: how many more times `request` fits the tree rooted
    there (0 for a slot that is not a live root, or when nothing can match)."""
    state = viewed_state(view)
    n = state.size
    try:
        resolver = GroupResolver(names, state, request)
        wanted_root = resolver.root_filter(request)
        groups = [resolver.resolve(group) for group in request.groups.values()]
    except NoCandidates:
        return np.zeros(n, dtype=np.int64)
    sharing = state.sharing_mask()
    several_anywhere = state.has_trees or bool(sharing.any())
    count = np.full(n, UNBOUNDED, dtype=np.int64)
    free: dict[int, Ints] = {}
    # class -> (amount asked by all groups together, providers any of them may use)
    shared: dict[int, tuple[int, Mask, int]] = {}
    for group in groups:
        if not group.rc_ids:
            continue
        several = several_anywhere and not group.use_same_provider
        usable = _usable(state, group, several)
        per_class: list[Ints] = []
        for rc_id, amount in zip(group.rc_ids, group.amounts, strict=True):
            if rc_id not in free:
                free[rc_id] = _free(state, rc_id)
            able = usable & _fits_once(state, rc_id, amount)
            per_class.append(np.where(able, free[rc_id] // amount, 0))
            total, mask, groups_asking = shared.get(rc_id, (0, np.zeros(n, dtype=np.bool_), 0))
            shared[rc_id] = (total + amount, mask | able, groups_asking + 1)
        if several:
            for units in per_class:
                count = np.minimum(count, _per_tree(state, units, sharing))
        else:
            units = per_class[0]
            for more in per_class[1:]:
                units = np.minimum(units, more)
            count = np.minimum(count, _per_tree(state, units, sharing))
    for rc_id, (total, able, groups_asking) in shared.items():
        if groups_asking > 1:
            room = _per_tree(state, np.where(able, free[rc_id], 0), sharing)
            count = np.minimum(count, room // total)
    roots = state.alive[:n] & (state.parent[:n] == NO_PARENT)
    if wanted_root is not None:
        if wanted_root.required:
            roots &= state.traits.all_of_any([[t] for t in wanted_root.required], n)
        if wanted_root.forbidden:
            roots &= ~state.traits.any_of(wanted_root.forbidden, n)
    count[~roots] = 0
    count[count == UNBOUNDED] = 0
    return count


def free_per_tree(view: IndexView, roots: Slots) -> dict[str, Ints]:
    """Per resource class name: the free amount (capacity minus usage) of the
    trees rooted at `roots` (-1: none), summed over each tree's own providers
    (sharing providers are no tree's own). Classes free nowhere are left out."""
    state = viewed_state(view)
    n = state.size
    known = roots >= 0
    at = np.where(known, roots, 0)
    root = state.root[:n].astype(np.intp)
    own = state.alive[:n] & ~state.sharing_mask()
    out: dict[str, Ints] = {}
    for rc_id in sorted(state.columns):
        room = np.where(own, _free(state, rc_id), 0)
        if not room.any():
            continue
        per_root = np.bincount(root, weights=room, minlength=n)[:n].astype(np.int64)
        picked = np.where(known, per_root[at] if n else 0, 0).astype(np.int64)
        if picked.any():
            out[state.rc_name.get(rc_id, str(rc_id))] = picked
    return out
