"""One configuration's stages, wired in order, and the one-request path.

A request goes: admission (corral.scheduler.admission, once, before its
round) → search (request filters, Placement, the pre-filter) → for each
instance: rank (host filters, weighers, the pick) → claim → alternates →
consume, over the same batch. This is Nova's
SchedulerManager._schedule: when an instance finds no host, the claims of
the request's earlier instances are given back and NoValidHost says why
(corral.scheduler.diagnose). Without instance uuids (Nova's legacy callers)
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
from corral.scheduler.spec import NoValidHost, Selection
from corral.scheduler.stages.alternates import selections
from corral.scheduler.stages.claim import INCOMPLETE_CONSUMER, Claimer, ClaimSettings, claim_for
from corral.scheduler.stages.consume import consume
from corral.scheduler.stages.rank import Ranker, RankMemo, RankSettings, choices
from corral.scheduler.stages.search import CandidateSearch, SearchStageSettings
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
        """A host per instance, each claimed before the next is ranked."""
        search, spec = self.search.run(admitted)
        if search.refusal is not None:
            explanation = self.diagnosis.refused(search)
            raise NoValidHost(explanation.summary(), explanation)
        count = len(instance_uuids) or spec.num_instances
        max_attempts = self.settings.max_attempts
        memo = RankMemo()
        batch = search.batch
        claimed: list[str] = []
        chosen_hosts: set[str] = set()
        results: list[list[Selection]] = []
        try:
            for index in range(count):
                before = batch
                ranked = self.ranker.rank(search, batch, spec, index, memo)
                batch = ranked.batch
                uuid = instance_uuids[index] if instance_uuids else None
                row, conflicts = None, 0
                for attempt, candidate_row in enumerate(choices(search, ranked)):
                    if uuid is None:
                        row = candidate_row
                        break
                    if attempt >= max_attempts:
                        break
                    provider = batch.provider_uuid[candidate_row]
                    candidate = search.offered[provider][0]
                    claim = claim_for(uuid, spec, batch, candidate_row, candidate)
                    if self.claimer.claim(claim):
                        row = candidate_row
                        claimed.append(uuid)
                        break
                    conflicts += 1
                    metrics.record_claim_conflict("next_host")
                if row is None:
                    raise self.diagnosis.no_valid_host(search, before, spec, index, conflicts)
                results.append(
                    selections(
                        search,
                        ranked,
                        row,
                        chosen_hosts,
                        return_alternates=return_alternates,
                        max_attempts=max_attempts,
                    )
                )
                chosen_hosts.add(batch.provider_uuid[row])
                spec = consume(search, batch, row, spec, uuid)
        except BaseException:
            self.claimer.give_back(claimed)
            raise
        return results
