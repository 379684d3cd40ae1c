"""GET /allocation_candidates over the in-memory index: the same answers as
upstream Placement 16.0.0, computed with array masks instead of SQL.

The steps follow upstream's so that every corner behaves the same:

1. `root_required` picks the acceptable anchors (roots); none -> empty.
2. Group by group, in request order: resolve names (400 for an unknown class
   or trait), then find the group's entries; a group with none ends the
   search with an empty answer.
3. Merge: per anchor, every combination of one entry per group, filtered by
   group_policy, same_subtree and merged capacity.
4. At most `[placement] max_allocation_candidates` candidates are generated;
   before 1.29, candidates using two providers of one tree are dropped;
   then `limit` keeps the first N (or a random N when
   `randomize_allocation_candidates` is set).
5. Provider summaries cover every provider of every tree the kept candidates
   take resources from.

Candidates are produced in a fixed order (anchors by age, then product
order), so without randomisation the first N are found without generating
the rest.

Where upstream's answer is an accident of its implementation, corral gives
the answer its rules describe (found by replaying random clouds and queries
against upstream 16.0.0; everything else matched):

- Without group_policy=none, upstream folds a granular group's amount into
  the unsuffixed group's request object when both take one class from one
  provider, and that object is shared with other candidates: their amounts
  grow and some are then dropped as over capacity. corral adds the amounts
  per candidate.
- An unsuffixed-group candidate made only of sharing providers serves every
  tree the providers share with, but upstream keeps it under one of those
  trees only (its candidates are a set that ignores the anchor), so
  combinations with granular groups elsewhere go missing. corral keeps them.
- A sharing provider that is not a root whose own tree is not otherwise in
  play makes upstream fail with a 500; corral answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corral.placement.candidates.groups import (
    GroupEntries,
    SearchMasks,
    several_providers,
    single_provider,
)
from corral.placement.candidates.merge import Merger, MergeRules
from corral.placement.candidates.product import CHUNK
from corral.placement.candidates.resolve import (
    GroupResolver,
    NameSource,
    NoCandidates,
    StoreNames,
)
from corral.placement.candidates.result import (
    Candidate,
    CandidateResult,
    SingleProviderGroups,
)
from corral.placement.index.live import PlacementIndex
from corral.placement.index.state import NO_PARENT, IndexState
from corral.placement.index.view import IndexView, viewed_state
from corral.placement.request import CandidateRequest, GroupPolicy

Index = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SearchSettings:
    randomize: bool = False
    max_candidates: int = -1  # -1: no cap
    rng: random.Random | None = None
    # Provider summaries are for the HTTP answer; the scheduler does without.
    summaries: bool = True


@dataclass
class _Rows:
    """Accepted combinations: anchor and, per group, the entry used."""

    anchor: Index
    positions: list[Index]

    def __len__(self) -> int:
        return len(self.anchor)

    def take(self, which: Index | Mask | slice) -> _Rows:
        return _Rows(self.anchor[which], [p[which] for p in self.positions])


def find_candidates(
    names: NameSource,
    index: IndexState | IndexView,
    request: CandidateRequest,
    settings: SearchSettings = SearchSettings(),
) -> CandidateResult:
    """Placement's GET /allocation_candidates over the index (or a view of it,
    as `PlacementIndex.session()` hands one out)."""
    state = viewed_state(index) if isinstance(index, IndexView) else index
    requested = frozenset(request.resource_class_names)
    resolver = GroupResolver(names, state, request)
    try:
        return _search(state, request, settings, resolver, requested)
    except NoCandidates:
        return CandidateResult(requested_classes=requested)


def _root_mask(
    state: IndexState, resolver: GroupResolver, request: CandidateRequest
) -> Mask | None:
    wanted = resolver.root_filter(request)
    if wanted is None:
        return None
    n = state.size
    ok = state.alive[:n] & (state.parent[:n] == NO_PARENT)
    if wanted.required:
        ok &= state.traits.all_of_any([[t] for t in wanted.required], n)
    if wanted.forbidden:
        ok &= ~state.traits.any_of(wanted.forbidden, n)
    if not ok.any():
        raise NoCandidates("no root has the root_required traits")
    return ok


def _search(
    state: IndexState,
    request: CandidateRequest,
    settings: SearchSettings,
    resolver: GroupResolver,
    requested: frozenset[str],
) -> CandidateResult:
    n = state.size
    masks = SearchMasks(
        alive=state.alive[:n].copy(),
        sharing=state.sharing_mask(),
        root_ok=_root_mask(state, resolver, request),
    )
    # Upstream takes the several-providers path for the unsuffixed group as
    # soon as the cloud has any tree or any sharing provider.
    several = state.has_trees or bool(masks.sharing.any())
    groups: list[GroupEntries] = []
    for group in request.groups.values():
        resolved = resolver.resolve(group)
        if resolved.use_same_provider or not several:
            entries = single_provider(state, resolved, masks)
        else:
            entries = several_providers(state, resolved, masks)
        if len(entries) == 0:
            return CandidateResult(requested_classes=requested)
        groups.append(entries)

    suffix_pos = {entries.group.suffix: g for g, entries in enumerate(groups)}
    rules = MergeRules(
        isolate=request.params.group_policy == GroupPolicy.ISOLATE,
        same_subtrees=tuple(
            tuple(suffix_pos[s] for s in sorted(members))
            for members in request.params.same_subtrees
        ),
    )
    exclude_nested = not request.nested_aware and state.has_trees
    cap = max(settings.max_candidates, 1) if settings.max_candidates >= 0 else None
    limit = request.params.limit
    target = cap
    if limit is not None and not settings.randomize and not exclude_nested:
        target = limit if cap is None else min(limit, cap)

    rows = _collect(Merger(state, groups, rules), len(groups), target)
    if exclude_nested:
        rows = rows.take(_one_provider_per_tree(state, groups, rows))
    if len(rows) == 0:
        return CandidateResult(requested_classes=requested)
    used_before_limit = _providers_with_resources(state, groups, rows) if exclude_nested else None

    limited = False
    if limit is not None and limit < len(rows):
        limited = True
        if settings.randomize:
            rng = settings.rng or random.Random()
            rows = rows.take(np.array(rng.sample(range(len(rows)), limit), dtype=np.intp))
        else:
            rows = rows.take(slice(0, limit))
    elif settings.randomize:
        order = list(range(len(rows)))
        (settings.rng or random.Random()).shuffle(order)
        rows = rows.take(np.array(order, dtype=np.intp))

    used = _providers_with_resources(state, groups, rows)
    if used_before_limit is not None:
        # Before 1.29 upstream summarises only the providers in candidates
        # (of the trees the kept ones use, when `limit` cut the list).
        shown = used_before_limit
        if limited:
            roots = np.zeros(n, dtype=np.bool_)
            roots[state.root[used]] = True
            shown = shown[roots[state.root[shown]]]
    else:
        shown = state.tree_members(state.root[used].astype(np.intp))
    summaries = [state.summary(slot) for slot in shown.tolist()] if settings.summaries else []
    if all(entries.single is not None for entries in groups):
        return CandidateResult(
            summaries=summaries,
            requested_classes=requested,
            single=_single_provider_groups(state, groups, rows),
        )
    return CandidateResult(
        summaries=summaries, requested_classes=requested, general=_build(state, groups, rows)
    )


def _collect(merger: Merger, group_count: int, target: int | None) -> _Rows:
    anchors: list[Index] = []
    positions: list[list[Index]] = [[] for _ in range(group_count)]
    have = 0
    # Small chunks when only a few candidates are wanted: the rest is never built.
    size = CHUNK if target is None else max(4096, 2 * target)
    for chunk in merger.chunks(size):
        take = len(chunk) if target is None else min(len(chunk), target - have)
        anchors.append(chunk.anchor[:take])
        for g in range(group_count):
            positions[g].append(chunk.positions[g][:take])
        have += take
        if target is not None and have >= target:
            break
    if not anchors:
        empty = np.zeros(0, dtype=np.intp)
        return _Rows(empty, [empty] * group_count)
    return _Rows(np.concatenate(anchors), [np.concatenate(p) for p in positions])


def _resource_columns(groups: list[GroupEntries], rows: _Rows) -> list[Index]:
    """Per (group, class), the provider each row takes it from."""
    out: list[Index] = []
    for g, entries in enumerate(groups):
        picked = entries.providers[rows.positions[g]]
        out.extend(picked[:, j] for j in range(picked.shape[1]))
    return out


def _providers_with_resources(state: IndexState, groups: list[GroupEntries], rows: _Rows) -> Index:
    columns = _resource_columns(groups, rows)
    if not columns:
        return np.zeros(0, dtype=np.intp)
    return state.unique_slots(np.concatenate(columns))


def _one_provider_per_tree(state: IndexState, groups: list[GroupEntries], rows: _Rows) -> Mask:
    """Rows whose resource providers all lie in different trees (before 1.29)."""
    columns = _resource_columns(groups, rows)
    keep = np.ones(len(rows), dtype=np.bool_)
    for i, p_i in enumerate(columns):
        for p_j in columns[i + 1 :]:
            keep &= (p_i == p_j) | (state.root[p_i] != state.root[p_j])
    return keep


def _single_provider_groups(
    state: IndexState, groups: list[GroupEntries], rows: _Rows
) -> SingleProviderGroups:
    """The compact answer when every group is satisfied by one provider. Which
    groups share a provider decides each provider's amounts, so those are
    worked out once per sharing pattern."""
    uuid = state.uuid
    picks: list[Index] = []
    for g, entries in enumerate(groups):
        assert entries.single is not None
        picks.append(entries.single[rows.positions[g]])
    suffixes = [entries.group.suffix for entries in groups]
    amounts = [dict(zip(e.group.rc_names, e.group.amounts, strict=True)) for e in groups]
    providers = [[uuid[p] for p in pick.tolist()] for pick in picks]
    if len(groups) == 1:
        layout = [(0, amounts[0])] if amounts[0] else []
        return SingleProviderGroups(suffixes, providers, [layout], [0] * len(rows))
    # Per row and group: the first group with the same provider.
    owners = np.zeros((len(rows), len(groups)), dtype=np.int64)
    for g in range(len(groups)):
        owners[:, g] = g
        for h in range(g - 1, -1, -1):
            owners[:, g] = np.where(picks[h] == picks[g], h, owners[:, g])
    # A pattern as one number (base len(groups) digits), then its layout.
    weights = len(groups) ** np.arange(len(groups), dtype=np.int64)
    codes, pattern_of_row = np.unique(owners @ weights, return_inverse=True)
    layouts: list[list[tuple[int, dict[str, int]]]] = []
    for code in codes.tolist():
        pattern = [(code // int(w)) % len(groups) for w in weights.tolist()]
        layout = []
        for first in dict.fromkeys(pattern):
            merged: dict[str, int] = {}
            for g, owner in enumerate(pattern):
                if owner == first:
                    for rc_name, amount in amounts[g].items():
                        merged[rc_name] = merged.get(rc_name, 0) + amount
            if merged:
                layout.append((first, merged))
        layouts.append(layout)
    return SingleProviderGroups(suffixes, providers, layouts, pattern_of_row.reshape(-1).tolist())


def _build(state: IndexState, groups: list[GroupEntries], rows: _Rows) -> list[Candidate]:
    uuid = state.uuid
    # Per (group, class): the providers of every row, the class and the amount.
    columns: list[tuple[list[int], str, int]] = []
    # Per group: suffix, the single provider of every row (or None), its columns.
    sources: list[tuple[str, list[int] | None, list[list[int]]]] = []
    for g, entries in enumerate(groups):
        grp = entries.group
        picked = entries.providers[rows.positions[g]]
        cols = [picked[:, j].tolist() for j in range(picked.shape[1])]
        columns.extend(zip(cols, grp.rc_names, grp.amounts, strict=True))
        singles = None if entries.single is None else entries.single[rows.positions[g]].tolist()
        sources.append((grp.suffix, singles, cols))
    out: list[Candidate] = []
    for row in range(len(rows)):
        allocations: dict[str, dict[str, int]] = {}
        for col, rc_name, amount in columns:
            provider = uuid[col[row]]
            per_class = allocations.get(provider)
            if per_class is None:
                allocations[provider] = {rc_name: amount}
            else:
                per_class[rc_name] = per_class.get(rc_name, 0) + amount
        mappings: dict[str, list[str]] = {}
        for suffix, singles, cols in sources:
            if singles is not None:
                mappings[suffix] = [uuid[singles[row]]]
            else:
                mappings[suffix] = list(dict.fromkeys(uuid[col[row]] for col in cols))
        out.append(Candidate(allocations, mappings))
    return out


def search(
    index: PlacementIndex, request: CandidateRequest, settings: SearchSettings = SearchSettings()
) -> CandidateResult:
    """Catch the index up with the store (read-your-writes) and search it."""
    with index.session() as (conn, state):
        return find_candidates(StoreNames(conn), state, request, settings)
