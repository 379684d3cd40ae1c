"""Why Placement offered no candidate on a host: one reason per ruled-out host.

Placement itself answers GET /allocation_candidates with candidates only;
Nova's NoValidHost then says nothing about why. corral's placement explains
itself from its own index, for the scheduler's explanation (kube-scheduler's
"0/5000 nodes are available: 3 Insufficient cpu, ...").

Only computed when an explanation is wanted (NoValidHost, a dry run). Each
check is a vectorised question over the index: does the host's root carry
the trait the request filters demand, is it in the aggregates, does some
provider of its tree have the free capacity of each requested class, does
some provider of its tree carry each required trait. A host gets the first
reason that holds for it, in the order the checks are listed; a host that
passes every check but still has no candidate (the combination does not
fit, or the search stopped at its limit) says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from corral.placement.index.state import IndexState
from corral.placement.index.view import IndexView, viewed_state
from corral.placement.request import CandidateRequest

Mask = npt.NDArray[np.bool_]
Slots = npt.NDArray[np.intp]

NO_CANDIDATE = "no allocation candidate"
BEYOND_LIMIT = "beyond max_placement_results"
NOT_IN_PLACEMENT = "no resource provider"


class Narrowing(Protocol):
    """The root and aggregate terms a caller added to the request (the
    scheduler's request filters, corral.scheduler.request_filters.Narrowing),
    each with the phrase that explains a host it rules out."""

    @property
    def member_of(self) -> Sequence[tuple[frozenset[str], str]]: ...
    @property
    def forbidden_aggs(self) -> Mapping[str, str]: ...
    @property
    def root_required(self) -> Mapping[str, str]: ...
    @property
    def root_forbidden(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class _Check:
    reason: str
    ok: Mask  # over the hosts, True where the host passes


def _ids_by_name(names: dict[int, str]) -> dict[str, int]:
    return {name: ident for ident, name in names.items()}


def _tree_has(state: IndexState, slot_mask: Mask, roots: Slots) -> Mask:
    """Per host root: does any provider of its tree satisfy `slot_mask`?"""
    n = state.size
    hit = np.zeros(n, dtype=np.bool_)
    slots = np.flatnonzero(slot_mask[:n] & state.alive[:n])
    hit[state.root[slots]] = True
    return hit[roots]


def _free_capacity(state: IndexState, rc_id: int, amount: int) -> Mask:
    """Per slot: the provider can take `amount` of the class now."""
    n = state.size
    ok = np.zeros(n, dtype=np.bool_)
    column = state.column(rc_id)
    if column is None:
        return ok
    count = column.count
    free = column.capacity[:count] - column.used[:count]
    fits = (
        column.live[:count]
        & (free >= amount)
        & (column.max_unit[:count] >= amount)
        & (column.min_unit[:count] <= amount)
        & (amount % np.maximum(column.step_size[:count], 1) == 0)
    )
    providers = column.provider[:count][fits]
    ok[providers[providers < n]] = True
    return ok


def _checks(
    state: IndexState, roots: Slots, request: CandidateRequest, narrowing: Narrowing
) -> list[_Check]:
    n = state.size
    trait_id = _ids_by_name(state.trait_name)
    rc_id = _ids_by_name(state.rc_name)
    checks: list[_Check] = []
    for trait, label in narrowing.root_forbidden.items():
        if trait in trait_id:
            has = state.traits.any_of([trait_id[trait]], n)[roots]
            checks.append(_Check(label, ~has))
    for uuids, label in narrowing.member_of:
        ids = [state.aggregate_id_of_uuid[u] for u in uuids if u in state.aggregate_id_of_uuid]
        member = state.aggregates.any_of(ids, n)[roots] if ids else np.zeros(len(roots), bool)
        checks.append(_Check(label, member))
    for uuid, label in narrowing.forbidden_aggs.items():
        agg = state.aggregate_id_of_uuid.get(uuid)
        if agg is not None:
            checks.append(_Check(label, ~state.aggregates.any_of([agg], n)[roots]))
    for trait, label in narrowing.root_required.items():
        has = (
            state.traits.any_of([trait_id[trait]], n)[roots]
            if trait in trait_id
            else np.zeros(len(roots), dtype=np.bool_)
        )
        checks.append(_Check(label, has))
    for group in request.groups.values():
        for rc, amount in group.resources.items():
            if rc not in rc_id:
                checks.append(_Check(f"lacked {rc}", np.zeros(len(roots), dtype=np.bool_)))
                continue
            checks.append(
                _Check(
                    f"lacked {rc}",
                    _tree_has(state, _free_capacity(state, rc_id[rc], amount), roots),
                )
            )
        for any_of in group.required_traits:
            ids = [trait_id[t] for t in any_of if t in trait_id]
            label = f"lacked trait {' or '.join(sorted(any_of))}"
            none = np.zeros(len(roots), dtype=np.bool_)
            checks.append(
                _Check(label, _tree_has(state, state.traits.any_of(ids, n), roots) if ids else none)
            )
        for trait in sorted(group.forbidden_traits):
            if trait in trait_id:
                has = _tree_has(state, state.traits.any_of([trait_id[trait]], n), roots)
                checks.append(_Check(f"had forbidden trait {trait}", ~has))
    return checks


def placement_reasons(
    view: IndexView,
    host_roots: Sequence[str],
    request: CandidateRequest,
    narrowing: Narrowing,
    offered: set[str],
    truncated: bool,
) -> dict[str, int]:
    """reason -> number of hosts (by root provider uuid) Placement did not offer."""
    state = viewed_state(view)
    reasons: dict[str, int] = {}
    missing = [u for u in host_roots if u not in offered]
    if not missing:
        return reasons
    slots = np.fromiter(
        (state.slot_of_uuid.get(u, -1) for u in missing), dtype=np.intp, count=len(missing)
    )
    unknown = int(np.count_nonzero(slots < 0))
    if unknown:
        reasons[NOT_IN_PLACEMENT] = unknown
    roots = slots[slots >= 0]
    if len(roots) == 0:
        return reasons
    undecided = np.ones(len(roots), dtype=np.bool_)
    for check in _checks(state, roots, request, narrowing):
        failed = undecided & ~check.ok
        count = int(np.count_nonzero(failed))
        if count:
            reasons[check.reason] = reasons.get(check.reason, 0) + count
            undecided &= ~failed
    rest = int(np.count_nonzero(undecided))
    if rest:
        label = BEYOND_LIMIT if truncated else NO_CANDIDATE
        reasons[label] = reasons.get(label, 0) + rest
    return reasons
