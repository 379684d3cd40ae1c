"""The alternates stage: the Selections a decision answers with.

Nova's SchedulerManager._get_alternate_hosts: the chosen host's Selection
first, then up to `[scheduler] max_attempts - 1` alternates from the
ranking, in the chosen host's cell, never a host chosen for any instance
of the request (they are worked out once every instance is claimed), each
with an allocation candidate that still fits (the conductor claims it if
the build on the chosen host fails).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import AllocationRequest, LimitValue, Selection
from corral.scheduler.stages.rank import Ranked
from corral.scheduler.stages.search import Search

# The Placement microversion Nova's scheduler reads candidates with: the
# allocation requests it hands to the conductor are in this format.
ALLOCATION_REQUEST_VERSION = "1.36"


def selection(
    search: Search,
    batch: HostBatch,
    row: int,
    limits: Mapping[str, LimitValue] | None = None,
) -> Selection:
    """One host's Selection, with its first fitting candidate and the limits
    the filters set for it (Selection.from_host_state: host_state.limits)."""
    candidate = search.fitting(batch, row)
    request = None
    if candidate is not None:
        request = AllocationRequest(
            candidate.allocations, {k: tuple(v) for k, v in candidate.mappings.items()}
        )
    return Selection(
        service_host=batch.host[row],
        nodename=batch.node[row],
        compute_node_uuid=batch.provider_uuid[row],
        cell_uuid=batch.cell_uuid[row],
        allocation_request=request,
        allocation_request_version=ALLOCATION_REQUEST_VERSION,
        limits=dict(limits or {}),
        availability_zone=batch.availability_zone[row] if batch.availability_zone else None,
    )


def selections(
    search: Search,
    ranked: Ranked,
    row: int,
    chosen_before: Set[str],
    *,
    return_alternates: bool,
    max_attempts: int,
) -> list[Selection]:
    """The chosen host's Selection, then its alternates (one instance's request:
    no host but `row` and those in `chosen_before` is left out)."""
    batch = ranked.batch
    out = [selection(search, batch, row, ranked.limits(row))]
    if not return_alternates:
        return out
    excluded = {*chosen_before, batch.provider_uuid[row]}
    return out + alternates(search, ranked, batch.cell_uuid[row], excluded, max_attempts - 1)


def alternates(
    search: Search, ranked: Ranked, cell: str, excluded: Set[str], wanted: int
) -> list[Selection]:
    """Nova's _get_alternate_hosts for one chosen host: up to `wanted` hosts
    of the ranking in `cell`, none of the `excluded` providers (every host
    the request chose), each with a candidate that still fits. A rebuild
    check has no candidates, and its alternates need none (Nova's
    _legacy_find_hosts)."""
    batch = ranked.batch
    out: list[Selection] = []
    for alt in ranked.order:
        if len(out) >= wanted:
            break
        if batch.cell_uuid[alt] != cell or batch.provider_uuid[alt] in excluded:
            continue
        if not search.rebuild and search.fitting(batch, alt) is None:
            continue
        out.append(selection(search, batch, alt, ranked.limits(alt)))
    return out
