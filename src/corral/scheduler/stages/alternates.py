"""The alternates stage: the Selections a decision answers with.

Nova's SchedulerManager._get_alternate_hosts / _consume_selected_host: the
chosen host's Selection first, then up to `[scheduler] max_attempts - 1`
alternates from the rest of the ranking, in the chosen host's cell, never a
host already chosen for another instance of the request, each with an
allocation candidate that still fits (the conductor claims it if the build
on the chosen host fails).
"""

from __future__ import annotations

from collections.abc import Set

from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import AllocationRequest, Selection
from corral.scheduler.stages.rank import Ranked
from corral.scheduler.stages.search import Search

# The Placement microversion Nova's scheduler reads candidates with: the
# allocation requests it hands to the conductor are in this format.
ALLOCATION_REQUEST_VERSION = "1.36"


def selection(search: Search, batch: HostBatch, row: int) -> Selection:
    """One host's Selection, with its first fitting candidate."""
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
        limits={},
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
    """The chosen host's Selection, then its alternates."""
    batch = ranked.batch
    out = [selection(search, batch, row)]
    if not return_alternates:
        return out
    wanted = max_attempts - 1
    cell = batch.cell_uuid[row]
    for alt in ranked.order:
        if len(out) > wanted:
            break
        if alt == row or batch.cell_uuid[alt] != cell:
            continue
        if batch.provider_uuid[alt] in chosen_before:
            continue
        if search.fitting(batch, alt) is None:
            continue
        out.append(selection(search, batch, alt))
    return out
