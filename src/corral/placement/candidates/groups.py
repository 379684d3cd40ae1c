"""Candidates for one request group, as arrays of (anchor, providers) entries.

Two shapes, as upstream:

- single provider (every granular group; also the unsuffixed group when the
  cloud has neither trees nor sharing providers): one provider has all the
  group's resources and, itself, its traits and aggregates. Its anchor is its
  root; a sharing provider is also anchored at every tree it shares with.
- several providers (the unsuffixed group in a cloud with trees or sharing
  providers): each resource class may come from a different provider of the
  anchor's tree or from a sharing provider in an aggregate with that tree,
  and the providers picked must together have the required traits. An
  aggregate on the root counts for the whole tree.

Everything is a numpy mask over provider slots; only sharing providers (few)
are visited one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corral.placement.candidates.product import anchored_product
from corral.placement.candidates.resolve import ResolvedGroup
from corral.placement.index.state import IndexState

Index = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class GroupEntries:
    """Ways to satisfy one group: entry i uses providers[i, j] for rc_ids[j], under anchor[i].

    `single[i]` is the one provider of entry i for single-provider groups
    (needed even without resources: a resourceless group maps to a provider);
    None for multi-provider groups.
    """

    group: ResolvedGroup
    anchor: Index
    providers: npt.NDArray[np.intp]  # shape (entries, len(rc_ids))
    single: Index | None

    def __len__(self) -> int:
        return len(self.anchor)


@dataclass(frozen=True)
class SearchMasks:
    """Request-wide facts every group needs."""

    alive: Mask
    sharing: Mask
    root_ok: Mask | None  # root_required: which slots are acceptable anchors


def _fits(state: IndexState, rc_id: int, amount: int) -> Mask:
    column = state.column(rc_id)
    if column is None:
        return np.zeros(state.size, dtype=np.bool_)
    return column.fits_mask(amount, state.size)


def _empty(group: ResolvedGroup, single: bool) -> GroupEntries:
    return GroupEntries(
        group=group,
        anchor=np.zeros(0, dtype=np.intp),
        providers=np.zeros((0, len(group.rc_ids)), dtype=np.intp),
        single=np.zeros(0, dtype=np.intp) if single else None,
    )


def single_provider(state: IndexState, group: ResolvedGroup, masks: SearchMasks) -> GroupEntries:
    mask = masks.alive.copy()
    for rc_id, amount in zip(group.rc_ids, group.amounts, strict=True):
        mask &= _fits(state, rc_id, amount)
        if not mask.any():
            break
    n = state.size
    # Upstream applies in_tree through its capacity query, so a group without
    # resources ignores it.
    if group.tree_root is not None and group.rc_ids:
        mask &= state.root[:n] == group.tree_root
    if group.required:
        mask &= state.traits.all_of_any(group.required, n)
    if group.member_of:
        mask &= state.aggregates.all_of_any(group.member_of, n)
    if group.forbidden_aggs:
        mask &= ~state.aggregates.any_of(group.forbidden_aggs, n)
    if group.forbidden:
        mask &= ~state.traits.any_of(group.forbidden, n)
    slots = np.flatnonzero(mask)
    anchors = state.root[slots].astype(np.intp)
    if masks.root_ok is not None:
        keep = masks.root_ok[anchors]
        own_slots, own_anchors = slots[keep], anchors[keep]
    else:
        own_slots, own_anchors = slots, anchors
    slot_parts: list[Index] = [own_slots]
    anchor_parts: list[Index] = [own_anchors]
    for sp in slots[masks.sharing[slots]]:
        # A sharing provider also serves every tree it shares an aggregate with.
        others = state.sharing_anchors(int(sp))
        others = others[others != state.root[sp]]
        if masks.root_ok is not None:
            others = others[masks.root_ok[others]]
        slot_parts.append(np.full(len(others), sp, dtype=np.intp))
        anchor_parts.append(others)
    picked = np.concatenate(slot_parts).astype(np.intp)
    return GroupEntries(
        group=group,
        anchor=np.concatenate(anchor_parts).astype(np.intp),
        providers=np.repeat(picked[:, None], len(group.rc_ids), axis=1),
        single=picked,
    )


def _class_pairs(
    state: IndexState,
    group: ResolvedGroup,
    masks: SearchMasks,
    usable: Mask,
    in_aggs: Mask | None,
    bad_aggs: Mask | None,
    rc_id: int,
    amount: int,
) -> tuple[Index, Index]:
    """(provider, anchor) pairs that can give `amount` of one class to the group."""
    n = state.size
    fits = _fits(state, rc_id, amount) & usable
    own = fits
    if group.tree_root is not None:
        own = own & (state.root[:n] == group.tree_root)
    providers = [np.flatnonzero(own)]
    anchors = [state.root[providers[0]].astype(np.intp)]
    if group.tree_root is None:
        sharing = fits & masks.sharing
        if in_aggs is not None:
            # Upstream only lends a sharing provider to other trees when the
            # provider itself is in the requested aggregates.
            sharing &= in_aggs
        for sp in np.flatnonzero(sharing):
            others = state.sharing_anchors(int(sp))
            others = others[others != state.root[sp]]
            providers.append(np.full(len(others), sp, dtype=np.intp))
            anchors.append(others)
    p = np.concatenate(providers).astype(np.intp)
    a = np.concatenate(anchors).astype(np.intp)
    keep = np.ones(len(p), dtype=np.bool_)
    if masks.root_ok is not None:
        keep &= masks.root_ok[a]
    if in_aggs is not None:
        keep &= in_aggs[p] | in_aggs[a]
    if bad_aggs is not None:
        keep &= ~bad_aggs[p] & ~bad_aggs[a]
    return p[keep], a[keep]


def several_providers(state: IndexState, group: ResolvedGroup, masks: SearchMasks) -> GroupEntries:
    n = state.size
    if group.required:
        wanted = frozenset().union(*group.required)
        if not state.traits.any_of(wanted, n).any():
            return _empty(group, single=False)
    usable = masks.alive
    if group.forbidden:
        # A combination with a provider that has a forbidden trait is
        # rejected; leaving such providers out up front is the same.
        usable = usable & ~state.traits.any_of(group.forbidden, n)
    in_aggs = state.aggregates.all_of_any(group.member_of, n) if group.member_of else None
    bad_aggs = state.aggregates.any_of(group.forbidden_aggs, n) if group.forbidden_aggs else None
    per_class: list[tuple[Index, Index]] = []
    for rc_id, amount in zip(group.rc_ids, group.amounts, strict=True):
        pairs = _class_pairs(state, group, masks, usable, in_aggs, bad_aggs, rc_id, amount)
        if len(pairs[0]) == 0:
            return _empty(group, single=False)
        per_class.append(pairs)
    anchors_out: list[Index] = []
    picks_out: list[npt.NDArray[np.intp]] = []
    for chunk in anchored_product([a for _, a in per_class]):
        picked = np.stack(
            [per_class[k][0][pos] for k, pos in enumerate(chunk.positions)], axis=1
        ).astype(np.intp)
        if group.required:
            ok = state.traits.union_satisfies(
                [picked[:, k] for k in range(picked.shape[1])], group.required
            )
            picked = picked[ok]
            anchor = chunk.anchor[ok]
        else:
            anchor = chunk.anchor
        anchors_out.append(anchor.astype(np.intp))
        picks_out.append(picked)
    if not anchors_out:
        return _empty(group, single=False)
    return GroupEntries(
        group=group,
        anchor=np.concatenate(anchors_out),
        providers=np.concatenate(picks_out, axis=0),
        single=None,
    )
