"""The search stage: from a request spec to the batch of hosts Placement offers.

Nova's SchedulerManager.select_destinations up to the host filters:

1. the request filters narrow the Placement query
   (nova.scheduler.request_filter, corral.scheduler.request_filters);
2. ResourceRequest.from_request_spec builds it (corral.scheduler.resources),
   with the request filters' aggregates and traits, the requested
   destination's aggregates, and `in_tree` when the destination is one node;
3. GET /allocation_candidates answers from the in-memory index, up to
   `[scheduler] max_placement_results`. As nova.scheduler.utils
   resources_from_request_spec sets `res_req._limit = None`, there is no
   limit when hosts are forced, when the request has a `group`,
   `same_host` or `different_host` hint (the group's or the named
   instances' host must not be cut off), or when the requested destination
   host has several nodes (`in_tree` can name one only). When
   `hw:cpu_policy=dedicated` was asked as PCPU, a second query asking VCPU
   adds its candidates after the PCPU ones (Nova's fallback for hosts still
   on vcpu_pin_set, unless `[workarounds] disable_fallback_pcpu_query`);
4. the compute hosts of the candidates become one HostBatch, and the
   pre-filter (corral.scheduler.stages.prefilter) narrows it.

A rebuild with a new image (`_nova_check_type == ['rebuild']`) skips 1-3, as
Nova's SchedulerManager.select_destinations does (`if not is_rebuild`): no
request filter, no Placement query (the instance's own usage would count
twice), and so no allocation candidate. The batch is the compute hosts the
request names (the instance's host and node, which Nova's compute API
forces), or every host, and only the filters with RUN_ON_REBUILD judge it.

The index and the host cache are caught up with the store in the same read
transaction first, so whatever was committed before the search counts (a
zone, a group or a claim made a moment ago).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from corral.placement.candidates import Candidate, SearchSettings, find_candidates
from corral.placement.candidates.resolve import StoreNames
from corral.placement.index import PlacementIndex
from corral.placement.request import CandidateRequest, RequestWideParams
from corral.scheduler.admission import Admitted, current_group
from corral.scheduler.batch import HostBatch
from corral.scheduler.explain import StageReport
from corral.scheduler.filters.base import PreFilter, request_is_rebuild
from corral.scheduler.host_cache import HostCache
from corral.scheduler.offers import offers_by_root
from corral.scheduler.request_filters import (
    Narrowing,
    RequestFilter,
    RequestFilterSettings,
    narrow,
)
from corral.scheduler.resources import ResourceDraft, resource_draft
from corral.scheduler.spec import RequestSpec
from corral.scheduler.stages.prefilter import forces_hosts, pre_filter

PLACEMENT_STAGE = "placement"
# Nova's resources_from_request_spec: these hints lift the a_c limit.
UNLIMITED_HINTS = ("group", "same_host", "different_host")


def check_type(spec: RequestSpec) -> bool:
    """Whether the spec carries Nova's `_nova_check_type` hint: then forced
    hosts still go through the host filters (HostManager.get_filtered_hosts)."""
    return bool(spec.scheduler_hints.get("_nova_check_type"))


def unlimited(spec: RequestSpec, destination_providers: Sequence[str]) -> bool:
    """Whether the Placement query goes without `max_placement_results`
    (Nova's `res_req._limit = None`)."""
    if forces_hosts(spec) or len(destination_providers) > 1:
        return True
    # The RPC door always carries the group as the `group` hint, as Nova's
    # compute API sets it; the HTTP door may name only the instance group.
    return spec.instance_group is not None or any(
        h in spec.scheduler_hints for h in UNLIMITED_HINTS
    )


@dataclass(frozen=True, slots=True)
class SearchStageSettings:
    max_placement_results: int = 1000
    randomize_candidates: bool = False
    request_filters: RequestFilterSettings = field(default_factory=RequestFilterSettings)
    fallback_pcpu_query: bool = True


@dataclass
class Search:
    """What Placement offered for one request, as the host filters will see it."""

    request: CandidateRequest | None
    narrowing: Narrowing
    batch: HostBatch
    # root provider uuid -> its candidates, best first
    offered: dict[str, Sequence[Candidate]]
    hosts_total: int
    truncated: bool
    # stages before the host filters (placement, the pre-filter), for explanations
    stages: list[StageReport]
    # when set, nothing was searched: why
    refusal: str | None = None
    # hosts the spec forces (Nova's force_hosts/force_nodes) and no check type:
    # host filters do not run
    forced: bool = False
    # a rebuild check (Nova's _nova_check_type rebuild): no candidates, no claim
    rebuild: bool = False

    def fitting(self, batch: HostBatch, row: int) -> Candidate | None:
        """The host's first candidate that still fits by the batch's figures."""
        provider = batch.provider_uuid[row]
        for candidate in self.offered.get(provider) or ():
            if batch.fits(row, candidate.allocations.get(provider)):
                return candidate
        return None

    def prefer(self, provider: str, candidate: Candidate) -> None:
        """Put `candidate` first among the host's: the one claimed and consumed."""
        candidates = self.offered[provider]
        if candidates[0] is not candidate:
            self.offered[provider] = [candidate, *(c for c in candidates if c is not candidate)]


class CandidateSearch:
    """The search stage; thread-safe (it holds no state of its own per search)."""

    def __init__(
        self,
        index: PlacementIndex,
        hosts: HostCache,
        settings: SearchStageSettings,
        request_filters: Sequence[RequestFilter],
        prefilters: Sequence[PreFilter],
        rng: random.Random,
        *,
        judges_candidates: bool,
    ) -> None:
        self.index = index
        self.hosts = hosts
        self.settings = settings
        self.request_filters = list(request_filters)
        self.prefilters = list(prefilters)
        self._rng = rng
        # Only when a host filter judges candidates (NUMA, PCI) do batches
        # carry every candidate's mappings.
        self._judges_candidates = judges_candidates

    def run(self, admitted: Admitted) -> tuple[Search, RequestSpec]:
        """The search for an admitted request, and its spec with the server
        group as it stands now."""
        if request_is_rebuild(admitted.spec):
            return self._rebuild(admitted)
        settings = SearchSettings(
            randomize=self.settings.randomize_candidates,
            rng=random.Random(self._rng.random()),
            summaries=False,
        )
        with self.index.session() as (conn, view):
            self.hosts.catch_up(conn)
            spec = current_group(self.hosts, admitted.spec)
            draft = resource_draft(spec)
            narrowing = self.narrowing(spec, draft)
            # Nova fails the request building its query (ResourceRequest, then
            # a request filter's RequestFilterFailed) before any host is seen.
            refusal = draft.refusal or narrowing.refusal or admitted.refusal
            if refusal is not None:
                empty = self.hosts.batch_for([], view)
                return Search(None, narrowing, empty, {}, 0, False, [], refusal), spec
            request = self.candidate_request(spec, admitted, draft, narrowing)
            result = find_candidates(StoreNames(conn), view, request, settings)
            offered = offers_by_root(view, result)
            limit = request.params.limit
            truncated = limit is not None and len(result) >= limit
            if draft.cpu_pinning_requested and self.settings.fallback_pcpu_query:
                # SchedulerManager.select_destinations: the same request with
                # enable_pinning_translate=False, its candidates merged after.
                vcpu_draft = resource_draft(spec, translate_pinning=False)
                vcpu_request = self.candidate_request(spec, admitted, vcpu_draft, narrowing)
                fallback = find_candidates(StoreNames(conn), view, vcpu_request, settings)
                truncated = truncated or (limit is not None and len(fallback) >= limit)
                _merge_offers(offered, offers_by_root(view, fallback))
            batch = self.hosts.batch_for(list(offered), view)
        hosts_total = self.hosts.stats().nodes
        return self._finish(spec, request, narrowing, batch, offered, hosts_total, truncated)

    def _rebuild(self, admitted: Admitted) -> tuple[Search, RequestSpec]:
        """Nova's rebuild check: the hosts the request names, no Placement query."""
        with self.index.session() as (conn, view):
            self.hosts.catch_up(conn)
            spec = current_group(self.hosts, admitted.spec)
            if admitted.refusal is not None:
                empty = self.hosts.batch_for([], view)
                search = Search(None, Narrowing(), empty, {}, 0, False, [], admitted.refusal)
                return search, spec
            providers = list(admitted.destination_providers or self.hosts.all_provider_uuids())
            batch = self.hosts.batch_for(providers, view)
        offered: dict[str, Sequence[Candidate]] = {p: () for p in batch.provider_uuid}
        hosts_total = self.hosts.stats().nodes
        search, spec = self._finish(spec, None, Narrowing(), batch, offered, hosts_total, False)
        search.rebuild = True
        return search, spec

    def _finish(
        self,
        spec: RequestSpec,
        request: CandidateRequest | None,
        narrowing: Narrowing,
        batch: HostBatch,
        offered: dict[str, Sequence[Candidate]],
        hosts_total: int,
        truncated: bool,
    ) -> tuple[Search, RequestSpec]:
        """The search over `batch`, pre-filtered."""
        if self._judges_candidates:
            with_candidate_mappings(batch, offered)
        stages = [StageReport(PLACEMENT_STAGE, hosts_total, len(batch))]
        batch = pre_filter(self.prefilters, batch, spec, stages)
        search = Search(request, narrowing, batch, offered, hosts_total, truncated, stages)
        search.forced = forces_hosts(spec) and not check_type(spec) and len(batch) > 0
        return search, spec

    @property
    def judges_candidates(self) -> bool:
        """Whether batches must carry every candidate's mappings (a host filter
        judges candidates)."""
        return self._judges_candidates

    def narrowing(self, spec: RequestSpec, draft: ResourceDraft) -> Narrowing:
        """What the request filters add to the query (the host cache caught up)."""
        return narrow(
            spec,
            self.hosts.aggregates(),
            self.settings.request_filters,
            draft=draft,
            request_filters=self.request_filters,
        )

    def candidate_request(
        self,
        spec: RequestSpec,
        admitted: Admitted,
        draft: ResourceDraft,
        narrowing: Narrowing,
        *,
        every_host: bool = False,
    ) -> CandidateRequest:
        """The Placement query of the request: the draft's groups, the request
        filters' narrowing and the destination; without `max_placement_results`
        when Nova lifts it or `every_host` (capacity counts every host)."""
        root = draft.root
        root.member_of.extend(uuids for uuids, _label in narrowing.member_of)
        root.forbidden_aggs.update(narrowing.forbidden_aggs)
        for suffix, traits in narrowing.group_required.items():
            if suffix in draft.groups:
                draft.groups[suffix].required.update(traits)
        destination = spec.requested_destination
        if destination is not None:
            for any_of in destination.aggregates:
                root.member_of.append(frozenset(a for a in any_of.split(",") if a))
            root.forbidden_aggs.update(destination.forbidden_aggregates)
            if len(admitted.destination_providers) == 1:
                root.in_tree = admitted.destination_providers[0]
        rlp = spec.request_level_params
        params = RequestWideParams(
            limit=None
            if every_host or unlimited(spec, admitted.destination_providers)
            else self.settings.max_placement_results,
            group_policy=draft.group_policy,
            root_required=rlp.root_required | frozenset(narrowing.root_required),
            root_forbidden=rlp.root_forbidden | frozenset(narrowing.root_forbidden),
            same_subtrees=rlp.same_subtree,
        )
        return CandidateRequest(draft.frozen_groups(), params)


def with_candidate_mappings(batch: HostBatch, offered: dict[str, Sequence[Candidate]]) -> None:
    """Give every host of `batch` the mappings of its candidates (what the
    filters that judge candidates read)."""
    batch.candidate_mappings = [
        tuple({k: tuple(v) for k, v in c.mappings.items()} for c in offered[p])
        for p in batch.provider_uuid
    ]


def _merge_offers(
    offered: dict[str, Sequence[Candidate]], more: dict[str, Sequence[Candidate]]
) -> None:
    """Nova's merge of the fallback answer: alloc_reqs.extend(...), so a host in
    both keeps its first query's candidates ahead of the fallback's."""
    for root, candidates in more.items():
        if root in offered:
            offered[root] = [*offered[root], *candidates]
        else:
            offered[root] = candidates
