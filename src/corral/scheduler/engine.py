"""select_destinations: Nova 34's filter scheduler over corral's index and store.

One request goes through the steps of Nova's FilterScheduler._schedule:

1. request filters narrow the Placement query (corral.scheduler.request_filters);
2. allocation candidates come from the in-memory index, caught up with the
   store first (`[scheduler] max_placement_results` of them);
3. the compute hosts of those candidates become one HostBatch;
4. per instance: the host filters (`[filter_scheduler] enabled_filters`)
   shrink the batch, the weighers rank it, one of the best
   `host_subset_size` is picked at random, and its candidate is claimed in
   one transaction with the instance's record (the capacity check of that
   transaction is what guarantees no over-commit; a claim that finds the
   host full tries the next host, up to `[scheduler] max_attempts`);
5. the chosen host's state is consumed in the batch before the next
   instance of the same request, and alternates (`max_attempts - 1`, same
   cell) come from the rest of the ranking.

If an instance finds no host, the claims made for the earlier instances of
the request are given back and NoValidHost says why, stage by stage
(corral.scheduler.explain). `explain` runs the same steps for one instance
and claims nothing.

Calls that arrive while a round is being decided wait for the next round
(corral.scheduler.coalesce). In a round, single-instance requests with the
same spec share one search and are placed one after the other over the same
batch, each consuming its host as the instances of one request do, and all
their claims are written in one transaction in which each claim is accepted
or refused on its own (corral.placement.batched_claims); a refused request
is decided again the one-by-one way above.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import orjson
from oslo_config import cfg

from corral import metrics
from corral.compute.instances import (
    PlacedInstance,
    delete_instance,
    record_new_in,
    record_placed_in,
)
from corral.errors import BadRequest, Conflict, NotFound
from corral.placement import consumers
from corral.placement.allocations import ConsumerWrite, replace_in, run_write
from corral.placement.batched_claims import BatchOutcome, ConsumerExists, claim_each_in
from corral.placement.candidates import Candidate, SearchSettings, find_candidates
from corral.placement.candidates.resolve import StoreNames
from corral.placement.consumers import ConsumerSpec, Defaults
from corral.placement.index import PlacementIndex
from corral.placement.request import CandidateRequest, RequestWideParams
from corral.scheduler import registry
from corral.scheduler.batch import HostBatch, Ints, Mask
from corral.scheduler.coalesce import Coalescer
from corral.scheduler.explain import Explanation, RankedHost, StageReport
from corral.scheduler.filters import HostFilter
from corral.scheduler.host_state import HostStateCache
from corral.scheduler.offers import offers_by_root
from corral.scheduler.placement_reasons import placement_reasons
from corral.scheduler.ranking import Ranking
from corral.scheduler.request_filters import Narrowing, RequestFilterSettings, narrow
from corral.scheduler.resources import resource_draft
from corral.scheduler.spec import NoValidHost, RequestSpec, Selection
from corral.scheduler.weighers import HostWeigher
from corral.scheduler.weighers.combine import BatchWeights
from corral.store.database import Database

LOG = logging.getLogger("corral.scheduler")

# The Placement microversion Nova's scheduler reads candidates with: the
# allocation requests it hands to the conductor are in this format.
ALLOCATION_REQUEST_VERSION = "1.36"
CONSUMER_TYPE = "INSTANCE"
# Hosts shown in an explanation's ranking.
RANKED_SHOWN = 10
# Hosts sorted at once beyond those a decision reads first (the pick among
# host_subset_size, max_attempts - 1 alternates); the rest only when read.
HEAD_MARGIN = 16

# Placement's default owner of consumers written without one.
INCOMPLETE_CONSUMER = Defaults(
    "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"
)

PLACEMENT_STAGE = "placement"
CLAIM_STAGE = "claim"
FILLED = "filled by earlier instances (of this request or decided with it)"
CLAIM_LOST = "full when claimed"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    max_attempts: int = 3
    max_placement_results: int = 1000
    host_subset_size: int = 1
    shuffle_best_same_weighed_hosts: bool = False
    randomize_candidates: bool = False
    claim_retries: int = 10
    consumer_defaults: Defaults = INCOMPLETE_CONSUMER
    # most single-instance requests decided together (1: each on its own)
    round_size: int = 64


def settings_from_conf(conf: cfg.ConfigOpts) -> tuple[EngineSettings, RequestFilterSettings]:
    sched = conf.scheduler
    return (
        EngineSettings(
            max_attempts=sched.max_attempts,
            max_placement_results=sched.max_placement_results,
            host_subset_size=conf.filter_scheduler.host_subset_size,
            shuffle_best_same_weighed_hosts=conf.filter_scheduler.shuffle_best_same_weighed_hosts,
            randomize_candidates=conf.placement.randomize_allocation_candidates,
            claim_retries=conf.placement.allocation_conflict_retry_count,
            round_size=sched.decision_round_size,
            consumer_defaults=Defaults(
                conf.placement.incomplete_consumer_project_id,
                conf.placement.incomplete_consumer_user_id,
            ),
        ),
        RequestFilterSettings(
            limit_tenants_to_placement_aggregate=sched.limit_tenants_to_placement_aggregate,
            placement_aggregate_required_for_tenants=sched.placement_aggregate_required_for_tenants,
            enable_isolated_aggregate_filtering=sched.enable_isolated_aggregate_filtering,
            query_placement_for_image_type_support=sched.query_placement_for_image_type_support,
            image_metadata_prefilter=sched.image_metadata_prefilter,
        ),
    )


class _CandidateFilter(Protocol):
    """NUMATopologyFilter and PciPassthroughFilter: which of a host's candidates fit."""

    def passing_candidates(self, batch: HostBatch, row: int, spec: RequestSpec) -> list[int]: ...


@dataclass
class _Search:
    """What Placement offered for one request, as the filters will see it."""

    request: CandidateRequest | None
    narrowing: Narrowing
    batch: HostBatch
    # root provider uuid -> its candidates, best first
    offered: dict[str, Sequence[Candidate]]
    hosts_total: int
    truncated: bool
    # stages before the host filters (placement, forced hosts), for explanations
    stages: list[StageReport]
    # when set, nothing was searched: why
    refusal: str | None = None
    # hosts the spec forces (Nova's force_hosts/force_nodes): filters do not run
    forced: bool = False
    # what weighing the last batch ranked worked out once, for the next instance
    weights: BatchWeights | None = None
    # the masks of the filters that do not read consumption, for one batch
    static_masks: tuple[HostBatch, dict[HostFilter, Mask]] | None = None


@dataclass
class _Ranked:
    batch: HostBatch
    order: Ranking
    scores: np.ndarray[Any, np.dtype[np.float64]]
    stages: list[StageReport]
    # row of `batch` -> row of the batch ranked; None when no host was filtered out
    rows: Ints | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    """A select_destinations call waiting for its round."""

    spec: RequestSpec
    uuids: tuple[str, ...]
    return_alternates: bool

    @property
    def uuid(self) -> str | None:
        """The instance of a single-instance request: those are decided in classes."""
        return self.uuids[0] if len(self.uuids) == 1 else None


@dataclass(frozen=True, slots=True)
class _Decided:
    """A request's host, chosen in a round; it is the answer once its claim lands."""

    index: int
    request: _Request
    selections: list[Selection]
    write: ConsumerWrite
    placed: PlacedInstance
    group: str | None


class Scheduler:
    """Nova's filter scheduler; thread-safe: concurrent calls are decided in
    rounds, one round at a time (the database still serialises the claims of
    several processes)."""

    def __init__(
        self,
        db: Database,
        index: PlacementIndex,
        hosts: HostStateCache,
        *,
        filters: Sequence[HostFilter],
        weighers: Sequence[HostWeigher],
        settings: EngineSettings = EngineSettings(),
        request_filters: RequestFilterSettings = RequestFilterSettings(),
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.index = index
        self.hosts = hosts
        self.filters = list(filters)
        self.weighers = list(weighers)
        self.settings = settings
        self.request_filters = request_filters
        self._rng = rng or random.SystemRandom()
        self._owner_lock = threading.Lock()
        self._owner_cache: dict[tuple[str, str], Any] = {}
        self._rounds: Coalescer[_Request, list[list[Selection]]] = Coalescer(
            self._decide_round, max(1, settings.round_size)
        )

    @classmethod
    def from_conf(
        cls,
        conf: cfg.ConfigOpts,
        db: Database,
        index: PlacementIndex,
        hosts: HostStateCache | None = None,
    ) -> Scheduler:
        """The scheduler the config describes; loads the host cache when not given."""
        if hosts is None:
            hosts = HostStateCache(
                db,
                service_down_time=conf.service_down_time,
                default_availability_zone=conf.default_availability_zone,
            )
            hosts.load()
        settings, request_filters = settings_from_conf(conf)
        return cls(
            db,
            index,
            hosts,
            filters=registry.enabled_filters(conf),
            weighers=registry.enabled_weighers(conf),
            settings=settings,
            request_filters=request_filters,
        )

    def reload(self, conf: cfg.ConfigOpts) -> None:
        """Take up the mutable options (filters, weighers, their settings) after SIGHUP."""
        filters = registry.enabled_filters(conf)
        weighers = registry.enabled_weighers(conf)
        settings, request_filters = settings_from_conf(conf)
        self.filters, self.weighers = filters, weighers
        self.settings, self.request_filters = settings, request_filters
        self._rounds.max_round = max(1, settings.round_size)

    @property
    def _judges_candidates(self) -> bool:
        """Whether a filter keeps hosts by their candidates (NUMA, PCI): only
        then do batches carry every candidate's mappings."""
        return any(hasattr(f, "passing_candidates") for f in self.filters)

    # --- public ----------------------------------------------------------------

    def select_destinations(
        self,
        spec: RequestSpec,
        instance_uuids: Sequence[str],
        *,
        return_alternates: bool = True,
    ) -> list[list[Selection]]:
        """A host per instance (claimed, recorded), then its alternates.

        Without instance uuids (Nova's legacy callers) hosts are chosen for
        `spec.num_instances` instances and nothing is claimed.

        Concurrent calls are decided in rounds, one round at a time (so a
        server group's requests always see each other's hosts), see
        `_decide_round`.
        """
        try:
            request = _Request(spec, tuple(instance_uuids), return_alternates)
            selections = self._rounds.submit(request)
        except NoValidHost as exc:
            metrics.record_scheduling("no_valid_host")
            if isinstance(exc.detail, Explanation):
                metrics.record_no_valid_host(
                    {s.stage: s.removed for s in exc.detail.stages if s.removed}
                )
            raise
        except Exception:
            metrics.record_scheduling("error")
            raise
        metrics.record_scheduling("selected")
        return selections

    def explain(self, spec: RequestSpec) -> Explanation:
        """What a decision for the first instance would see; claims nothing."""
        search, spec = self._search(spec)
        if search.refusal is not None:
            return self._refused(search)
        ranked = self._rank(search, search.batch, spec, 0, explain=True)
        stages = [self._placement_stage(search), *search.stages[1:], *ranked.stages]
        shown = [
            RankedHost(
                ranked.batch.host[row],
                ranked.batch.node[row],
                ranked.batch.provider_uuid[row],
                float(ranked.scores[row]) if len(ranked.scores) else 0.0,
            )
            for row in ranked.order.first(RANKED_SHOWN)
        ]
        return Explanation(
            hosts_total=search.hosts_total,
            stages=tuple(stages),
            ranked=tuple(shown),
            hosts_available=len(ranked.batch),
        )

    # --- the pipeline ------------------------------------------------------------

    def _select(
        self, spec: RequestSpec, instance_uuids: list[str], return_alternates: bool
    ) -> list[list[Selection]]:
        count = len(instance_uuids) or spec.num_instances
        search, spec = self._search(spec)
        if search.refusal is not None:
            explanation = self._refused(search)
            raise NoValidHost(explanation.summary(), explanation)
        batch = search.batch
        claimed: list[str] = []
        chosen_hosts: set[str] = set()
        results: list[list[Selection]] = []
        try:
            for index in range(count):
                before = batch
                ranked = self._rank(search, batch, spec, index, explain=False)
                batch = ranked.batch
                uuid = instance_uuids[index] if instance_uuids else None
                row, conflicts = self._place(search, ranked, spec, uuid)
                if row is None:
                    raise self._no_valid_host(search, before, spec, index, conflicts)
                if uuid is not None:
                    claimed.append(uuid)
                results.append(
                    self._selections(search, ranked, row, chosen_hosts, return_alternates)
                )
                chosen_hosts.add(batch.provider_uuid[row])
                spec = self._consume(search, batch, row, spec, uuid)
        except BaseException:
            self._give_back(claimed)
            raise
        return results

    # --- rounds: concurrent requests decided together ------------------------------

    def _decide_round(
        self, requests: Sequence[_Request]
    ) -> list[list[list[Selection]] | BaseException]:
        """Decide the requests queued while the last round ran.

        Single-instance requests that ask the same thing (an equivalence
        class: the same spec but for the instance) share one search, and each
        choice is consumed in the batch before the next, as for the instances
        of one request. The claims of all classes land in one transaction,
        each accepted or refused on its own; a refused one (another process
        took the room meanwhile) is decided again on its own. Other requests
        (several instances, or none named) are decided one by one after that.
        """
        metrics.record_round(len(requests))
        outcomes: dict[int, list[list[Selection]] | BaseException] = {}
        todo = list(enumerate(requests))
        while todo:
            todo = self._round(todo, outcomes)
        return [outcomes[i] for i in range(len(requests))]

    def _round(
        self,
        todo: list[tuple[int, _Request]],
        outcomes: dict[int, list[list[Selection]] | BaseException],
    ) -> list[tuple[int, _Request]]:
        """One pass over the queued requests; returns those left for the next pass.

        The requests of a server group must see each other's hosts, so each
        group is decided by one class or one request per pass; an instance
        named twice waits for the next pass too (its first claim lands first).
        """
        classes: dict[str, list[tuple[int, _Request]]] = {}
        alone: list[tuple[int, _Request]] = []
        later: list[tuple[int, _Request]] = []
        named: set[str] = set()
        group_taker: dict[str, str] = {}
        for i, request in todo:
            key = (
                f"alone {i}"
                if request.uuid is None
                else repr(dataclasses.replace(request.spec, instance_uuid=None))
            )
            group = _group_uuid(request.spec)
            if not named.isdisjoint(request.uuids) or (
                group is not None and group_taker.setdefault(group, key) != key
            ):
                later.append((i, request))
                continue
            named.update(request.uuids)
            if request.uuid is None:
                alone.append((i, request))
            else:
                classes.setdefault(key, []).append((i, request))
        decided: list[_Decided] = []
        for members in classes.values():
            self._decide_class(members, outcomes, decided)
        for i, request in [*self._commit(decided, outcomes), *alone]:
            outcomes[i] = self._decide_alone(request)
        return later

    def _decide_class(
        self,
        members: list[tuple[int, _Request]],
        outcomes: dict[int, list[list[Selection]] | BaseException],
        decided: list[_Decided],
    ) -> None:
        """One search for requests that ask the same thing, then a host for each."""
        try:
            search, spec = self._search(members[0][1].spec)
        except Exception as exc:
            for i, _ in members:
                outcomes[i] = exc
            return
        if search.refusal is not None:
            explanation = self._refused(search)
            for i, _ in members:
                outcomes[i] = NoValidHost(explanation.summary(), explanation)
            return
        batch = search.batch
        for i, request in members:
            try:
                mine = dataclasses.replace(spec, instance_uuid=request.spec.instance_uuid)
                ranked = self._rank(search, batch, mine, 0, explain=False)
                row = self._pick(search, ranked)
                if row is None:
                    outcomes[i] = self._no_valid_host(search, batch, mine, 0, 0)
                    continue
                selections = self._selections(search, ranked, row, set(), request.return_alternates)
                candidate = search.offered[ranked.batch.provider_uuid[row]][0]
                write, placed = self._claim_records(
                    request.uuids[0], mine, ranked.batch, row, candidate
                )
                decided.append(_Decided(i, request, selections, write, placed, _group_uuid(mine)))
                batch_row = row if ranked.rows is None else int(ranked.rows[row])
                spec = self._consume(search, batch, batch_row, mine, request.uuids[0])
            except Exception as exc:
                outcomes[i] = exc

    def _pick(self, search: _Search, ranked: _Ranked) -> int | None:
        """The best-ranked host with room for one of its candidates, which is moved
        to the front of the host's candidates (the one claimed and consumed)."""
        batch = ranked.batch
        for row in ranked.order:
            provider = batch.provider_uuid[row]
            candidates = search.offered.get(provider) or []
            for candidate in candidates:
                if _fits(batch, row, candidate):
                    if candidate is not candidates[0]:
                        search.offered[provider] = [candidate] + [
                            c for c in candidates if c is not candidate
                        ]
                    return row
        return None

    def _commit(
        self,
        decided: list[_Decided],
        outcomes: dict[int, list[list[Selection]] | BaseException],
    ) -> list[tuple[int, _Request]]:
        """Write the round's claims and instance records in one transaction; the
        requests whose claim was refused are returned, to be decided alone."""
        if not decided:
            return []
        owners: dict[str, Any] = {}
        for d in decided:
            owners.update(self._owners(d.write.consumer))

        def work(conn: Any) -> BatchOutcome:
            outcome = claim_each_in(conn, [d.write for d in decided], owners)
            accepted = set(outcome.accepted)
            landed = [d for d in decided if d.placed.uuid in accepted]
            record_new_in(
                conn,
                [d.placed for d in landed],
                {d.placed.uuid: d.group for d in landed if d.group is not None},
            )
            return outcome

        try:
            outcome = run_write(self.db, self.settings.claim_retries, work)
        except Exception:
            # One bad record (a group deleted meanwhile, say) must not fail the
            # others: each request is decided again on its own.
            LOG.exception("the claims of a round of %d failed; deciding each alone", len(decided))
            outcome = BatchOutcome()
        for uuid, why in outcome.refused.items():
            if not isinstance(why, ConsumerExists):
                LOG.info("claim of %s refused in its round: %s", uuid, why)
                metrics.record_claim_conflict("next_host")
        accepted = set(outcome.accepted)
        retry = []
        for d in decided:
            if d.placed.uuid in accepted:
                outcomes[d.index] = [d.selections]
            else:
                retry.append((d.index, d.request))
        return retry

    def _decide_alone(self, request: _Request) -> list[list[Selection]] | BaseException:
        try:
            return self._select(request.spec, list(request.uuids), request.return_alternates)
        except Exception as exc:
            return exc

    def _with_current_group(self, spec: RequestSpec) -> RequestSpec:
        """The spec with its server group as the store knows it now (members' hosts)."""
        group = spec.instance_group
        group_uuid = _group_uuid(spec)
        if group_uuid is None:
            return spec
        current = self.hosts.instance_group(group_uuid)
        if current is None:
            if group is None:
                raise BadRequest(f"Server group {group_uuid} could not be found.")
            return spec
        if group is not None:
            # The caller's members may include instances being built now.
            members = tuple(dict.fromkeys((*group.members, *current.members)))
            current = dataclasses.replace(current, members=members)
        return dataclasses.replace(spec, instance_group=current)

    def _candidate_request(
        self, spec: RequestSpec, narrowing: Narrowing
    ) -> tuple[CandidateRequest | None, str | None]:
        draft = resource_draft(spec)
        root = draft.root
        root.member_of.extend(uuids for uuids, _label in narrowing.member_of)
        root.forbidden_aggs.update(narrowing.forbidden_aggs)
        destination = spec.requested_destination
        if destination is not None:
            for any_of in destination.aggregates:
                root.member_of.append(frozenset(a for a in any_of.split(",") if a))
            root.forbidden_aggs.update(destination.forbidden_aggregates)
            if destination.host or destination.node:
                providers = self._destination_providers(destination.host, destination.node)
                if not providers:
                    where = destination.node or destination.host
                    return None, f"requested destination {where} is not a compute host"
                if len(providers) == 1:
                    root.in_tree = providers[0]
        forced = bool(spec.force_hosts or spec.force_nodes)
        rlp = spec.request_level_params
        params = RequestWideParams(
            limit=None if forced else self.settings.max_placement_results,
            group_policy=draft.group_policy,
            root_required=rlp.root_required | frozenset(narrowing.root_required),
            root_forbidden=rlp.root_forbidden | frozenset(narrowing.root_forbidden),
            same_subtrees=rlp.same_subtree,
        )
        return CandidateRequest(draft.frozen_groups(), params), None

    def _destination_providers(self, host: str | None, node: str | None) -> list[str]:
        found = []
        for provider in self.hosts.all_provider_uuids():
            key = self.hosts.node_of_provider(provider)
            if key is None:
                continue
            if (host is None or key[0] == host) and (node is None or key[1] == node):
                found.append(provider)
        return found

    def _search(self, spec: RequestSpec) -> tuple[_Search, RequestSpec]:
        """Catch the index and the host cache up with the store, then ask the
        index for candidates; the request filters and the server group read
        the caught-up host cache (a zone or group made a moment ago counts)."""
        search_settings = SearchSettings(
            randomize=self.settings.randomize_candidates,
            rng=random.Random(self._rng.random()),
            summaries=False,
        )
        with self.index.session() as (conn, state):
            self.hosts.catch_up(conn)
            spec = self._with_current_group(spec)
            narrowing = narrow(spec, self.hosts.aggregates(), self.request_filters)
            request, refusal = None, narrowing.refusal
            if refusal is None:
                request, refusal = self._candidate_request(spec, narrowing)
            if request is None:
                empty = self.hosts.batch_for([], state)
                return _Search(None, narrowing, empty, {}, 0, False, [], refusal), spec
            result = find_candidates(StoreNames(conn), state, request, search_settings)
            offered = offers_by_root(state, result)
            batch = self.hosts.batch_for(list(offered), state)
        limit = request.params.limit
        truncated = limit is not None and len(result) >= limit
        hosts_total = self.hosts.stats().nodes
        if self._judges_candidates:
            batch.candidate_mappings = [
                tuple({k: tuple(v) for k, v in c.mappings.items()} for c in offered[p])
                for p in batch.provider_uuid
            ]
        search = _Search(request, narrowing, batch, offered, hosts_total, truncated, [])
        search.stages.append(StageReport(PLACEMENT_STAGE, hosts_total, len(batch)))
        search.batch = self._pre_filter(search, spec)
        return search, spec

    def _pre_filter(self, search: _Search, spec: RequestSpec) -> HostBatch:
        """Nova's HostManager: ignore_hosts, then forced hosts/nodes, then the
        requested destination; each recorded as a stage when it removes hosts."""
        batch = search.batch

        def narrow_to(keep: Mask, stage: str, reason: str) -> None:
            nonlocal batch
            if keep.all():
                return
            removed = int(np.count_nonzero(~keep))
            search.stages.append(
                StageReport(stage, len(batch), len(batch) - removed, {reason: removed})
            )
            batch = batch.take(keep)

        def matches(values: Sequence[str], wanted: Sequence[str]) -> Mask:
            lowered = {w.lower() for w in wanted}
            return np.fromiter(
                (v.lower() in lowered for v in values), dtype=np.bool_, count=len(values)
            )

        if spec.ignore_hosts:
            narrow_to(~matches(batch.host, spec.ignore_hosts), "ignore_hosts", "ignored")
        if spec.force_hosts:
            narrow_to(matches(batch.host, spec.force_hosts), "force_hosts", "not a forced host")
        if spec.force_nodes:
            narrow_to(matches(batch.node, spec.force_nodes), "force_nodes", "not a forced node")
        search.forced = bool(spec.force_hosts or spec.force_nodes) and len(batch) > 0
        destination = spec.requested_destination
        if destination is not None and (destination.host or destination.node):
            keep = np.ones(len(batch), dtype=np.bool_)
            if destination.host:
                keep &= matches(batch.host, [destination.host])
            if destination.node:
                keep &= matches(batch.node, [destination.node])
            narrow_to(keep, "requested_destination", "not the requested destination")
        return batch

    def _rank(
        self, search: _Search, batch: HostBatch, spec: RequestSpec, index: int, *, explain: bool
    ) -> _Ranked:
        """Filters then weighers for the index-th instance of the request."""
        stages: list[StageReport] = []
        ranked_in = batch
        rows: Ints | None = None
        if not search.forced:
            for host_filter in self.filters:
                if len(batch) == 0:
                    break
                if not host_filter.run_filter_for_index(index):
                    continue
                passed = self._filter_mask(search, host_filter, batch, spec, batch is ranked_in)
                if explain:
                    reasons: dict[str, int] = {}
                    if not passed.all():
                        for reason in host_filter.reasons(batch, spec, passed):
                            reasons[reason] = reasons.get(reason, 0) + 1
                    kept = int(np.count_nonzero(passed))
                    stages.append(StageReport(host_filter.name, len(batch), kept, reasons))
                if not passed.all():
                    batch = batch.take(passed)
                    rows = np.flatnonzero(passed) if rows is None else rows[passed]
                if hasattr(host_filter, "passing_candidates") and batch.candidate_mappings:
                    self._keep_fitting_candidates(search, host_filter, batch, spec)
        if len(batch) == 0:
            return _Ranked(batch, Ranking(np.zeros(0), 1), np.zeros(0), stages, rows)
        scores = self._weights(search, ranked_in, spec).scores(batch, spec, rows)
        subset = max(1, min(self.settings.host_subset_size, len(batch)))
        order = Ranking(scores, max(subset, self.settings.max_attempts) + HEAD_MARGIN)
        head = order.head
        if self.settings.shuffle_best_same_weighed_hosts:
            # Every host with the best score is in the head.
            best = [row for row in head if scores[row] == scores[head[0]]]
            self._rng.shuffle(best)
            head[: len(best)] = best
        pick = head[self._rng.randrange(subset)]
        head.remove(pick)
        head.insert(0, pick)
        return _Ranked(batch, order, scores, stages, rows)

    def _filter_mask(
        self,
        search: _Search,
        host_filter: HostFilter,
        batch: HostBatch,
        spec: RequestSpec,
        unfiltered: bool,
    ) -> Mask:
        """The filter's verdict on `batch`; on the batch as ranking found it
        (`unfiltered`), kept for the next instance when no choice can change
        it (`reads_consumption` False)."""
        if host_filter.reads_consumption or not unfiltered:
            return host_filter.filter(batch, spec)
        cached = search.static_masks
        if cached is None or cached[0] is not batch:
            cached = search.static_masks = (batch, {})
        mask = cached[1].get(host_filter)
        if mask is None:
            mask = cached[1][host_filter] = host_filter.filter(batch, spec)
        return mask

    def _weights(self, search: _Search, batch: HostBatch, spec: RequestSpec) -> BatchWeights:
        """The search's BatchWeights for `batch`, made anew for another batch."""
        weights = search.weights
        if weights is None or weights.batch is not batch or weights.weighers is not self.weighers:
            weights = search.weights = BatchWeights(self.weighers, batch, spec)
        return weights

    def _keep_fitting_candidates(
        self, search: _Search, host_filter: HostFilter, batch: HostBatch, spec: RequestSpec
    ) -> None:
        """Nova's CandidateFilterMixin: a host keeps only the candidates that fit."""
        judge: _CandidateFilter = host_filter  # type: ignore[assignment]
        for row, provider in enumerate(batch.provider_uuid):
            fitting = judge.passing_candidates(batch, row, spec)
            current = search.offered[provider]
            if len(fitting) != len(current):
                search.offered[provider] = [current[i] for i in fitting if i < len(current)]
                batch.candidate_mappings[row] = tuple(
                    batch.candidate_mappings[row][i] for i in fitting
                )

    def _place(
        self, search: _Search, ranked: _Ranked, spec: RequestSpec, uuid: str | None
    ) -> tuple[int | None, int]:
        """Claim on the first host of the ranking that takes it: (row, conflicts)."""
        batch = ranked.batch
        attempts = 0
        conflicts = 0
        for row in ranked.order:
            if attempts >= self.settings.max_attempts:
                break
            candidates = search.offered.get(batch.provider_uuid[row]) or []
            candidate = next((c for c in candidates if _fits(batch, row, c)), None)
            if candidate is None:
                continue
            if uuid is None:
                return row, conflicts
            attempts += 1
            if self._claim(uuid, spec, batch, row, candidate):
                search.offered[batch.provider_uuid[row]] = [candidate] + [
                    c for c in candidates if c is not candidate
                ]
                return row, conflicts
            conflicts += 1
            metrics.record_claim_conflict("next_host")
        return None, conflicts

    def _owners(self, spec: ConsumerSpec) -> dict[str, Any]:
        key = (spec.project_id or "", spec.user_id or "")
        with self._owner_lock:
            owner = self._owner_cache.get(key)
        if owner is None:
            owner = consumers.resolve_owners(self.db, [spec], self.settings.consumer_defaults)[
                spec.uuid
            ]
            with self._owner_lock:
                if len(self._owner_cache) > 10_000:
                    self._owner_cache.clear()
                self._owner_cache[key] = owner
        return {spec.uuid: owner}

    def _claim_records(
        self, uuid: str, spec: RequestSpec, batch: HostBatch, row: int, candidate: Candidate
    ) -> tuple[ConsumerWrite, PlacedInstance]:
        """The allocations and the instance record a claim of `candidate` writes."""
        consumer = ConsumerSpec(
            uuid=uuid,
            project_id=spec.project_id,
            user_id=spec.user_id,
            consumer_type=CONSUMER_TYPE,
        )
        write = ConsumerWrite(
            consumer, {rp: dict(res) for rp, res in candidate.allocations.items()}
        )
        placed = PlacedInstance(
            uuid=uuid,
            host=batch.host[row],
            node=batch.node[row],
            project_id=spec.project_id or "",
            user_id=spec.user_id or "",
            provider_uuid=batch.provider_uuid[row],
            flavor=_flavor_record(spec),
            image_properties=dict(spec.image.properties),
        )
        return write, placed

    def _claim(
        self, uuid: str, spec: RequestSpec, batch: HostBatch, row: int, candidate: Candidate
    ) -> bool:
        write, placed = self._claim_records(uuid, spec, batch, row, candidate)
        group = _group_uuid(spec)
        owners = self._owners(write.consumer)

        def work(conn: Any) -> None:
            replace_in(conn, [write], owners)
            record_placed_in(conn, [placed], group)

        try:
            run_write(self.db, self.settings.claim_retries, work)
        except (Conflict, NotFound) as exc:
            LOG.info("claim of %s on %s refused: %s", uuid, batch.host[row], exc)
            return False
        return True

    def _give_back(self, uuids: list[str]) -> None:
        """Nova's _cleanup_allocations: a request that failed part-way keeps nothing."""
        for uuid in uuids:
            try:
                delete_instance(self.db, uuid)
            except NotFound:
                continue
            except Exception:
                LOG.exception("could not give back the claim of instance %s", uuid)

    def _selections(
        self,
        search: _Search,
        ranked: _Ranked,
        row: int,
        chosen_before: set[str],
        return_alternates: bool,
    ) -> list[Selection]:
        batch = ranked.batch
        out = [self._selection(search, batch, row)]
        if not return_alternates:
            return out
        wanted = self.settings.max_attempts - 1
        cell = batch.cell_uuid[row]
        for alt in ranked.order:
            if len(out) > wanted:
                break
            if alt == row or batch.cell_uuid[alt] != cell:
                continue
            if batch.provider_uuid[alt] in chosen_before:
                continue
            if not any(
                _fits(batch, alt, c) for c in search.offered.get(batch.provider_uuid[alt], [])
            ):
                continue
            out.append(self._selection(search, batch, alt))
        return out

    def _selection(self, search: _Search, batch: HostBatch, row: int) -> Selection:
        provider = batch.provider_uuid[row]
        candidates = search.offered.get(provider) or []
        candidate = next((c for c in candidates if _fits(batch, row, c)), None)
        request = None
        if candidate is not None:
            request = orjson.dumps(
                {
                    "allocations": {
                        rp: {"resources": dict(res)} for rp, res in candidate.allocations.items()
                    },
                    "mappings": {k: list(v) for k, v in candidate.mappings.items()},
                }
            ).decode()
        return Selection(
            service_host=batch.host[row],
            nodename=batch.node[row],
            compute_node_uuid=provider,
            cell_uuid=batch.cell_uuid[row],
            allocation_request=request,
            allocation_request_version=ALLOCATION_REQUEST_VERSION,
            limits={},
            availability_zone=batch.availability_zone[row] if batch.availability_zone else None,
        )

    def _consume(
        self, search: _Search, batch: HostBatch, row: int, spec: RequestSpec, uuid: str | None
    ) -> RequestSpec:
        """Nova's HostState.consume_from_request and the group's new host, so the
        next instance of the request sees what this one took."""
        candidates = search.offered.get(batch.provider_uuid[row]) or []
        taken = candidates[0].allocations.get(batch.provider_uuid[row], {}) if candidates else {}
        vcpu = int(taken.get("VCPU", 0)) + int(taken.get("PCPU", 0))
        memory = int(taken.get("MEMORY_MB", 0))
        disk = int(taken.get("DISK_GB", 0))
        batch.vcpus_used[row] += vcpu
        batch.memory_mb_used[row] += memory
        batch.free_ram_mb[row] -= memory
        batch.disk_gb_used[row] += disk
        batch.free_disk_mb[row] -= disk * 1024
        batch.num_instances[row] += 1
        batch.num_io_ops[row] += 1
        if uuid is not None and batch.instances:
            batch.instances[row] = {**batch.instances[row], uuid: spec.project_id or ""}
        group = spec.instance_group
        if group is None:
            return spec
        members = group.members if uuid is None or uuid in group.members else (*group.members, uuid)
        grown = dataclasses.replace(group, hosts=(*group.hosts, batch.host[row]), members=members)
        return dataclasses.replace(spec, instance_group=grown)

    # --- explanations ------------------------------------------------------------

    def _placement_stage(self, search: _Search) -> StageReport:
        if search.request is None:
            return StageReport(PLACEMENT_STAGE, search.hosts_total, 0)
        offered = set(search.offered)
        with self.index.reading() as state:
            reasons = placement_reasons(
                state,
                self.hosts.all_provider_uuids(),
                search.request,
                search.narrowing,
                offered,
                search.truncated,
            )
        kept = search.stages[0].hosts_out if search.stages else 0
        return StageReport(PLACEMENT_STAGE, search.hosts_total, kept, reasons)

    def _refused(self, search: _Search) -> Explanation:
        total = self.hosts.stats().nodes
        return Explanation(
            hosts_total=total,
            stages=(StageReport("request", total, 0, {search.refusal or "refused": total}),),
            refusal=search.refusal,
        )

    def _no_valid_host(
        self, search: _Search, before: HostBatch, spec: RequestSpec, index: int, conflicts: int
    ) -> NoValidHost:
        ranked = self._rank(search, before, spec, index, explain=True)
        stages = [self._placement_stage(search), *search.stages[1:], *ranked.stages]
        left = len(ranked.batch)
        if left:
            # Hosts that passed every filter but had no room left or were full at claim.
            batch = ranked.batch
            unfit = sum(
                1
                for row in range(left)
                if not any(
                    _fits(batch, row, c) for c in search.offered.get(batch.provider_uuid[row], [])
                )
            )
            reasons = {}
            if unfit:
                reasons[FILLED] = unfit
            if conflicts:
                reasons[CLAIM_LOST] = conflicts
            rest = left - unfit - conflicts
            if rest > 0:
                reasons[f"not tried (max_attempts {self.settings.max_attempts})"] = rest
            stages.append(StageReport(CLAIM_STAGE, left, 0, reasons))
        explanation = Explanation(hosts_total=search.hosts_total, stages=tuple(stages))
        summary = explanation.summary()
        if index:
            summary += f" (instance {index + 1} of the request)"
        LOG.info("no valid host: %s", summary)
        return NoValidHost(summary, explanation)


def _group_uuid(spec: RequestSpec) -> str | None:
    """The server group a request joins: its instance group, or the `group` hint."""
    if spec.instance_group is not None:
        return spec.instance_group.uuid
    hint = spec.scheduler_hints.get("group")
    return hint[0] if hint else None


def _fits(batch: HostBatch, row: int, candidate: Candidate) -> bool:
    """Whether the root provider still has room for the candidate's share, by the
    batch's (consumed) figures and Placement's capacity rule, (total - reserved)
    x ratio - used. Only a shortcut: the claim's transaction decides."""
    taken = candidate.allocations.get(batch.provider_uuid[row])
    if not taken:
        return True
    columns = (
        (
            "VCPU",
            batch.vcpus_total,
            batch.vcpus_reserved,
            batch.cpu_allocation_ratio,
            batch.vcpus_used,
        ),
        (
            "MEMORY_MB",
            batch.memory_mb_total,
            batch.memory_mb_reserved,
            batch.ram_allocation_ratio,
            batch.memory_mb_used,
        ),
        (
            "DISK_GB",
            batch.disk_gb_total,
            batch.disk_gb_reserved,
            batch.disk_allocation_ratio,
            batch.disk_gb_used,
        ),
    )
    for rc, total, reserved, ratio, used in columns:
        amount = taken.get(rc, 0)
        if amount and (total[row] - reserved[row]) * ratio[row] - used[row] < amount:
            return False
    return True


def _flavor_record(spec: RequestSpec) -> dict[str, Any]:
    flavor = spec.flavor
    return {
        "name": flavor.name,
        "flavorid": flavor.flavorid,
        "vcpus": flavor.vcpus,
        "memory_mb": flavor.memory_mb,
        "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "extra_specs": dict(flavor.extra_specs),
    }
