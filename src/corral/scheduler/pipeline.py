"""One configuration's stages, wired in order, and the one-request path.

A request goes: admission (corral.scheduler.admission, once, before its
round) → search (request filters, Placement, the pre-filter) → for each
instance: rank (host filters, weighers, the pick) → claim → alternates →
consume, over the same batch. This is Nova's
SchedulerManager._schedule: each instance's claim walks the whole ranking
until one lands; when an instance finds no host, the claims of the
request's earlier instances are given back and NoValidHost says why
(corral.scheduler.diagnose); once every instance is placed, each gets its
alternates, none of them a host the request chose. A rebuild check
(`_nova_check_type` rebuild) claims nothing: its answer is the host, or
NoValidHost. Without instance uuids (Nova's legacy callers)
hosts are chosen for `spec.num_instances` instances and nothing is claimed.

Rounds (corral.scheduler.rounds) decide several requests over one search
with the same stages; a request a round could not settle comes here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from oslo_config import cfg

from corral import metrics
from corral.placement.consumers import Defaults
from corral.placement.index import PlacementIndex
from corral.scheduler import registry
from corral.scheduler.admission import Admitted
from corral.scheduler.diagnose import Diagnosis
from corral.scheduler.filters import HostFilter
from corral.scheduler.host_cache import HostCache
from corral.scheduler.request_filters import RequestFilterSettings
from corral.scheduler.spec import NoValidHost, RequestSpec, Selection
from corral.scheduler.stages.alternates import alternates, selection
from corral.scheduler.stages.claim import (
    INCOMPLETE_CONSUMER,
    Claimer,
    ClaimSettings,
    ConsumerChanged,
    Landed,
    claim_for,
)
from corral.scheduler.stages.consume import consume
from corral.scheduler.stages.rank import Ranked, Ranker, RankMemo, RankSettings, choices
from corral.scheduler.stages.search import CandidateSearch, Search, SearchStageSettings
from corral.scheduler.weighers import HostWeigher
from corral.store.database import Database


@dataclass(frozen=True, slots=True)
class EngineSettings:
    max_attempts: int = 3
    max_placement_results: int = 1000
    host_subset_size: int = 1
    shuffle_best_same_weighed_hosts: bool = False
    randomize_candidates: bool = False
    # [workarounds] disable_fallback_pcpu_query, the other way round
    fallback_pcpu_query: bool = True
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
            fallback_pcpu_query=not conf.workarounds.disable_fallback_pcpu_query,
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
            require_owner_nova_trait=sched.require_owner_nova_trait,
        ),
    )


class Pipeline:
    """The stages of one configuration; replaced whole when the config is reloaded."""

    def __init__(
        self,
        db: Database,
        index: PlacementIndex,
        hosts: HostCache,
        *,
        filters: Sequence[HostFilter],
        weighers: Sequence[HostWeigher],
        settings: EngineSettings,
        request_filters: RequestFilterSettings,
        rng: random.Random,
        claimer: Claimer | None = None,
    ) -> None:
        self.settings = settings
        self.ranker = Ranker(
            filters,
            weighers,
            RankSettings(
                host_subset_size=settings.host_subset_size,
                shuffle_best_same_weighed_hosts=settings.shuffle_best_same_weighed_hosts,
                max_attempts=settings.max_attempts,
            ),
            rng,
        )
        self.search = CandidateSearch(
            index,
            hosts,
            SearchStageSettings(
                max_placement_results=settings.max_placement_results,
                randomize_candidates=settings.randomize_candidates,
                request_filters=request_filters,
                fallback_pcpu_query=settings.fallback_pcpu_query,
            ),
            registry.request_filters(),
            registry.pre_filters(),
            rng,
            judges_candidates=self.ranker.judges_candidates,
        )
        claim_settings = ClaimSettings(settings.claim_retries, settings.consumer_defaults)
        if claimer is None or claimer.settings != claim_settings:
            claimer = Claimer(db, claim_settings)
        self.claimer = claimer
        self.diagnosis = Diagnosis(index, hosts, self.ranker, settings.max_attempts)

    def decide(
        self, admitted: Admitted, instance_uuids: Sequence[str], return_alternates: bool
    ) -> list[list[Selection]]:
        """A host per instance, each claimed before the next is ranked, then
        every instance's alternates."""
        search, spec = self.search.run(admitted)
        if search.refusal is not None:
            explanation = self.diagnosis.refused(search)
            raise NoValidHost(explanation.summary(), explanation)
        count = len(instance_uuids) or spec.num_instances
        memo = RankMemo()
        batch = search.batch
        landed: list[Landed] = []
        chosen: list[Selection] = []
        ranked: Ranked | None = None
        try:
            for index in range(count):
                before = batch
                ranked = self.ranker.rank(search, batch, spec, index, memo)
                batch = ranked.batch
                uuid = instance_uuids[index] if instance_uuids else None
                row, conflicts = self._place(search, ranked, spec, uuid, landed)
                if row is None:
                    raise self.diagnosis.no_valid_host(search, before, spec, index, conflicts)
                limits = ranked.limits(row)
                chosen.append(selection(search, batch, row, limits))
                spec = consume(search, batch, row, spec, uuid, limits)
            assert ranked is not None
            wanted = self.settings.max_attempts - 1
            if not return_alternates or wanted <= 0:
                return [[s] for s in chosen]
            if count > 1:
                # Nova's _get_alternate_hosts sorts the hosts again once the
                # last instance is consumed, for the request's last index.
                ranked = self.ranker.rank(search, batch, spec, count - 1, memo)
            excluded = {s.compute_node_uuid for s in chosen}
            return [[s, *alternates(search, ranked, s.cell_uuid, excluded, wanted)] for s in chosen]
        except BaseException:
            self.claimer.give_back(landed)
            raise

    def _place(
        self,
        search: Search,
        ranked: Ranked,
        spec: RequestSpec,
        uuid: str | None,
        landed: list[Landed],
    ) -> tuple[int | None, int]:
        """The row chosen for one instance and the claims lost on the way.

        Nova's SchedulerManager._schedule walks every sorted host until a
        claim lands (not only `max_attempts` of them). A rebuild check
        claims nothing and takes the best host, and so does a request
        without instance uuids (Nova's _legacy_find_hosts).
        """
        batch = ranked.batch
        if search.rebuild:
            return (ranked.order.head[0] if len(batch) else None), 0
        conflicts = 0
        for row in choices(search, ranked):
            if uuid is None:
                return row, 0
            candidate = search.offered[batch.provider_uuid[row]][0]
            try:
                got = self.claimer.claim(claim_for(uuid, spec, batch, row, candidate))
            except ConsumerChanged as exc:
                # Nova lets AllocationUpdateFailed fail the build or move.
                raise NoValidHost(str(exc)) from exc
            if got is not None:
                landed.append(got)
                return row, conflicts
            conflicts += 1
            metrics.record_claim_conflict("next_host")
        return None, conflicts
