"""Capacity headroom: how many more instances of one shape fit, by the scheduler's own rules.

A shape is what GET /allocation_candidates asks (request groups with
resources, traits, aggregates; group_policy, root_required, same_subtree).
It is counted the way a real request for it would be decided, one instance
after the other, each a request of its own:

1. the request filters narrow the query as they narrow any request of the
   same project and zone (corral.scheduler.request_filters); a request they
   refuse fits nowhere;
2. the candidate search (corral.placement.candidates), without
   `max_placement_results`, says which hosts fit one instance, and
   corral.placement.headroom how many times each host's provider tree fits
   it by Placement's rules (allocation ratios, reserved, min/max unit, step
   size, every class of every group);
3. the host filters of `[filter_scheduler] enabled_filters` (the
   pre-filters have nothing to do: a shape names no host) cut that: a filter
   that reads no consumption keeps or drops the host; one that does
   (instance counts, usage) is asked about the host with k instances more
   on it, and the count is the first k it refuses, found by bisection over
   every host at once. Those filters are taken to get only stricter as a
   host fills up, as Nova's are. Consumption is what the host cache shows
   after that many separate decisions: the root provider's VCPU, MEMORY_MB
   and DISK_GB usage and the instance count grow; the io_ops a host reports
   do not (a host reports them).

A shape names no server group and no image, and its flavor is anonymous
(no name, no extra specs): filters that read those see a request without
them. Weighers play no part: they order hosts, and each host is counted on
its own.

`stranded` is the free capacity of the hosts where not even the smallest
shape fits once: the `smallest` one asked for, else the shape itself.
corral keeps no flavor catalogue (Nova's flavors live in Nova's API
database, which corral does not read), so shapes are always given as
resources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection

from corral.errors import BadRequest
from corral.placement import headroom
from corral.placement.candidates import SearchSettings, find_candidates
from corral.placement.candidates.resolve import StoreNames
from corral.placement.index import IndexView
from corral.placement.request import CandidateRequest
from corral.scheduler.admission import Admitted, admit
from corral.scheduler.batch import Aggregate, HostBatch, Ints, Mask
from corral.scheduler.filters import HostFilter
from corral.scheduler.offers import offered_roots, offers_by_root
from corral.scheduler.pipeline import Pipeline
from corral.scheduler.resources import GroupDraft, ResourceDraft
from corral.scheduler.spec import Flavor, RequestLevelParams, RequestSpec
from corral.scheduler.stages.search import CandidateSearch, with_candidate_mappings

# The root provider's classes a host's consumption moves (HostBatch.consumed).
CONSUMED_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")


@dataclass(frozen=True, slots=True)
class CapacityQuery:
    """One shape, where to count it, and what `stranded` measures against."""

    shape: CandidateRequest
    # the smallest shape that should fit (None: the shape itself)
    smallest: CandidateRequest | None = None
    availability_zone: str | None = None
    # a host aggregate: its name, id or uuid
    aggregate: str | None = None
    project_id: str | None = None


@dataclass
class Stranded:
    """Free capacity where not even the smallest shape fits: per class, in all
    and per host (hosts with nothing free are left out)."""

    total: dict[str, int] = field(default_factory=dict)
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class Headroom:
    """How many more instances of the shape fit: in all, per zone, aggregate and host."""

    total: int
    zones: dict[str, int]
    aggregates: dict[str, int]
    hosts: dict[str, int]
    stranded: Stranded

    def to_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "zones": self.zones,
            "aggregates": self.aggregates,
            "hosts": self.hosts,
            "stranded": {"total": self.stranded.total, "hosts": self.stranded.hosts},
        }


def draft_of(shape: CandidateRequest) -> ResourceDraft:
    """The shape's groups as the scheduler assembles a request's, for the
    request filters to narrow."""
    groups: dict[str, GroupDraft] = {"": GroupDraft("")}
    for suffix, group in shape.groups.items():
        draft = GroupDraft(
            suffix,
            resources=dict(group.resources),
            required={next(iter(t)) for t in group.required_traits if len(t) == 1},
            required_any=[t for t in group.required_traits if len(t) > 1],
            forbidden=set(group.forbidden_traits),
            member_of=list(group.member_of),
            forbidden_aggs=set(group.forbidden_aggs),
            in_tree=group.in_tree,
        )
        groups[suffix] = draft
    policy = shape.params.group_policy
    return ResourceDraft(groups, group_policy=policy)


def spec_of(shape: CandidateRequest, query: CapacityQuery) -> RequestSpec:
    """The request spec one instance of the shape would come with: an
    anonymous flavor of the unsuffixed group's VCPU (or PCPU), MEMORY_MB and
    DISK_GB, the query's project and zone, the shape's request-wide traits."""
    root = shape.groups.get("")
    amounts: Mapping[str, int] = root.resources if root is not None else {}
    params = shape.params
    return RequestSpec(
        flavor=Flavor(
            vcpus=amounts.get("VCPU", amounts.get("PCPU", 0)),
            memory_mb=amounts.get("MEMORY_MB", 0),
            root_gb=amounts.get("DISK_GB", 0),
        ),
        project_id=query.project_id,
        availability_zone=query.availability_zone,
        request_level_params=RequestLevelParams(
            root_required=params.root_required,
            root_forbidden=params.root_forbidden,
            same_subtree=params.same_subtrees,
        ),
    )


def taken_per_instance(shape: CandidateRequest) -> dict[str, int]:
    """What one instance adds to a host's root provider usage, as the batch
    counts it (every group's VCPU, MEMORY_MB and DISK_GB)."""
    out: dict[str, int] = {}
    for group in shape.groups.values():
        for rc in CONSUMED_CLASSES:
            if rc in group.resources:
                out[rc] = out.get(rc, 0) + group.resources[rc]
    return out


def filtered_counts(
    filters: Sequence[HostFilter],
    batch: HostBatch,
    spec: RequestSpec,
    most: Ints,
    taken: Mapping[str, int],
) -> Ints:
    """Per host of `batch`: how many instances in a row the host filters let
    through, at most `most[i]` (what Placement's rules allow).

    A filter that reads no consumption is asked once; the others about the
    host with j instances more on it (`HostBatch.consumed`): the count is the
    first j refused, found by bisection over the hosts still in doubt.
    """
    counts = np.asarray(most, dtype=np.int64).copy()
    if len(batch) == 0:
        return counts
    static = [f for f in filters if not f.reads_consumption]
    dynamic = [f for f in filters if f.reads_consumption]
    for host_filter in static:
        counts[~host_filter.filter(batch, spec)] = 0
    if not dynamic:
        return counts

    def accepts(rows: Ints, already: Ints) -> Mask:
        """Whether each host, with `already` instances more on it, takes one more."""
        sub = batch if len(rows) == len(batch) else batch.take(rows)
        sub = sub.consumed(taken, already)
        ok = np.ones(len(rows), dtype=np.bool_)
        for host_filter in dynamic:
            ok &= host_filter.filter(sub, spec)
        return ok

    rows = np.flatnonzero(counts > 0)
    if len(rows) == 0:
        return counts
    first = accepts(rows, np.zeros(len(rows), dtype=np.int64))
    counts[rows[~first]] = 0
    rows = rows[first]
    if len(rows) == 0:
        return counts
    last = accepts(rows, counts[rows] - 1)
    rows = rows[~last]
    # Accepted with `low` instances on, refused with `high` on: the count is low + 1.
    low = np.zeros(len(rows), dtype=np.int64)
    high = counts[rows] - 1
    while len(rows):
        doubt = high - low > 1
        counts[rows[~doubt]] = low[~doubt] + 1
        rows, low, high = rows[doubt], low[doubt], high[doubt]
        if len(rows) == 0:
            break
        middle = (low + high) // 2
        ok = accepts(rows, middle)
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    return counts


def _aggregate(aggregates: Mapping[int, Aggregate], named: str | None) -> Aggregate | None:
    if named is None:
        return None
    for agg in aggregates.values():
        if named in (agg.name, agg.uuid, str(agg.id)):
            return agg
    raise BadRequest(f"No host aggregate named {named}.")


def _scope(batch: HostBatch, zone: str | None, aggregate: Aggregate | None) -> HostBatch:
    keep = np.ones(len(batch), dtype=np.bool_)
    if zone is not None:
        keep &= np.array([z == zone for z in batch.availability_zone], dtype=np.bool_)
    if aggregate is not None:
        keep &= np.array([aggregate.id in ids for ids in batch.aggregate_ids], dtype=np.bool_)
    return batch if keep.all() else batch.take(keep)


@dataclass
class _Fits:
    """One shape's hosts after Placement: the batch, how many times each fits,
    and each one's index slot."""

    batch: HostBatch
    placement: Ints
    slots: Ints
    spec: RequestSpec
    taken: dict[str, int]


def _placement_fits(
    search: CandidateSearch,
    conn: Connection,
    view: IndexView,
    admitted: Admitted,
    shape: CandidateRequest,
    spec: RequestSpec,
    scope: HostBatch,
    scope_slots: Ints,
) -> _Fits:
    """The request filters, the candidate search and Placement's count for one
    shape over the hosts of `scope`, in the caller's read transaction (the
    host cache caught up)."""
    draft = draft_of(shape)
    narrowing = search.narrowing(spec, draft)
    taken = taken_per_instance(shape)
    if narrowing.refusal is not None:
        none = np.zeros(0, dtype=np.int64)
        return _Fits(scope.take(none), none, none, spec, taken)
    request = search.candidate_request(spec, admitted, draft, narrowing, every_host=True)
    names = StoreNames(conn)
    result = find_candidates(names, view, request, SearchSettings(summaries=False))
    per_tree = headroom.fits_per_tree(names, view, request)
    size = len(per_tree)
    offered = np.zeros(size + 1, dtype=np.bool_)  # the last entry: slot -1
    offered[offered_roots(view, result)] = True
    rows = np.flatnonzero(offered[np.where(scope_slots >= 0, scope_slots, size)])
    batch = scope.take(rows)
    if search.judges_candidates:
        with_candidate_mappings(batch, offers_by_root(view, result))
    slots = scope_slots[rows]
    # The search offered every one of these hosts at least once.
    placement = np.maximum(per_tree[slots], 1).astype(np.int64)
    return _Fits(batch, placement, slots, spec, taken)


def _per_row(pipeline: Pipeline, fits: _Fits, scope_slots: Ints, size: int) -> Ints:
    """The count of each host of the scope (by index slot): 0 where Placement
    offered nothing."""
    counts = filtered_counts(
        pipeline.ranker.filters, fits.batch, fits.spec, fits.placement, fits.taken
    )
    dense = np.zeros(size + 1, dtype=np.int64)  # the last entry: slot -1
    known = fits.slots >= 0
    dense[fits.slots[known]] = counts[known]
    return dense[np.where(scope_slots >= 0, scope_slots, size)]


def count(pipeline: Pipeline, query: CapacityQuery) -> Headroom:
    """How many more instances of `query.shape` fit, in all, per zone,
    aggregate and host of the scope, and the capacity stranded where not even
    the smallest shape fits. BadRequest for an unknown zone or aggregate or
    resource class or trait."""
    search = pipeline.search
    hosts = search.hosts
    spec = spec_of(query.shape, query)
    admitted = admit(hosts, spec, check_zone=True)
    smallest = query.smallest
    with search.index.session() as (conn, view):
        hosts.catch_up(conn)
        aggregate = _aggregate(hosts.aggregates(), query.aggregate)
        scope = _scope(
            hosts.batch_for(hosts.all_provider_uuids(), view), query.availability_zone, aggregate
        )
        scope_slots = view.slots_of(scope.provider_uuid).astype(np.int64)
        fits = _placement_fits(search, conn, view, admitted, query.shape, spec, scope, scope_slots)
        small_fits = None
        if smallest is not None:
            small_spec = spec_of(smallest, query)
            small_admitted = dataclasses.replace(admitted, spec=small_spec)
            small_fits = _placement_fits(
                search, conn, view, small_admitted, smallest, small_spec, scope, scope_slots
            )
        free = headroom.free_per_tree(view, scope_slots.astype(np.intp))
        size = int(scope_slots.max(initial=-1)) + 1
    per_row = _per_row(pipeline, fits, scope_slots, size)
    small = per_row if small_fits is None else _per_row(pipeline, small_fits, scope_slots, size)
    return _answer(scope, per_row, small, free)


def _sums(keys: Sequence[str], counts: Sequence[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    get = out.get
    for key, n in zip(keys, counts, strict=True):
        out[key] = get(key, 0) + n
    return out


def _answer(scope: HostBatch, per_row: Ints, small: Ints, free: Mapping[str, Ints]) -> Headroom:
    counts = per_row.tolist()
    hosts = _sums(scope.host, counts)
    zones = _sums(scope.availability_zone or [""] * len(counts), counts)
    by_id: dict[int, int] = {}
    for ids, n in zip(scope.aggregate_ids, counts, strict=True):
        for agg_id in ids:
            by_id[agg_id] = by_id.get(agg_id, 0) + n
    aggregates = {scope.aggregates[i].name: n for i, n in sorted(by_id.items())}
    stranded = Stranded()
    rows = np.flatnonzero(small == 0)
    if len(rows):
        names = [scope.host[r] for r in rows.tolist()]
        for rc, amounts in free.items():
            picked = amounts[rows]
            if not picked.any():
                continue
            stranded.total[rc] = int(picked.sum())
            for host, amount in zip(names, picked.tolist(), strict=True):
                if amount > 0:
                    per_host = stranded.hosts.setdefault(host, {})
                    per_host[rc] = per_host.get(rc, 0) + amount
    return Headroom(sum(counts), zones, aggregates, hosts, stranded)
