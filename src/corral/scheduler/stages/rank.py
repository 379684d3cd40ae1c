"""The rank stage: host filters, then weighers, then Nova's pick.

Nova's FilterScheduler._get_sorted_hosts for the index-th instance of a
request: every enabled filter (`[filter_scheduler] enabled_filters`, in
order; `run_filter_once_per_request` ones only for the first instance;
none when hosts are forced) shrinks the batch, a CandidateFilter also keeps
each host's fitting candidates only, the weighers score what is left
(corral.scheduler.weighers.combine), and one of the best
`host_subset_size` hosts is picked at random and moved to the front
(`shuffle_best_same_weighed_hosts` shuffles the hosts that tie for best
first).

Instances of one request, and the requests of one round's class, are
ranked again and again over the same batch. What no choice can change is
worked out once per batch and kept in a RankMemo: the masks of filters that
do not read consumption, and the weighers' multipliers and static weights.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from corral.scheduler.batch import Floats, HostBatch, Ints, Mask
from corral.scheduler.explain import StageReport
from corral.scheduler.filters import HostFilter
from corral.scheduler.filters.base import CandidateFilter, request_is_rebuild
from corral.scheduler.ranking import Ranking
from corral.scheduler.spec import LimitValue, RequestSpec
from corral.scheduler.stages.search import Search
from corral.scheduler.weighers import HostWeigher
from corral.scheduler.weighers.combine import BatchWeights

# Hosts sorted at once beyond those a decision reads first (the pick among
# host_subset_size, max_attempts - 1 alternates); the rest only when read.
HEAD_MARGIN = 16


@dataclass(frozen=True, slots=True)
class RankSettings:
    host_subset_size: int = 1
    shuffle_best_same_weighed_hosts: bool = False
    max_attempts: int = 3


@dataclass
class Ranked:
    """The hosts that passed every filter, best first, the pick at the front."""

    batch: HostBatch
    order: Ranking
    scores: Floats
    stages: list[StageReport]
    # row of the batch ranked -> row of the batch given; None when no host was filtered out
    rows: Ints | None = None
    # the spec ranked for, and the filters that ran and write Nova's
    # host_state.limits for the hosts they pass (NUMATopologyFilter)
    spec: RequestSpec | None = None
    limit_setters: tuple[HostFilter, ...] = field(default_factory=tuple)

    def origin(self, row: int) -> int:
        """The row of the batch given to `rank` that is `row` of the ranked batch."""
        return row if self.rows is None else int(self.rows[row])

    def limits(self, row: int) -> dict[str, LimitValue]:
        """Nova's host_state.limits for host `row` after this ranking's filters:
        what the compute's claim checks (Selection.limits)."""
        out: dict[str, LimitValue] = {}
        if self.spec is None:
            return out
        for setter in self.limit_setters:
            out.update(setter.host_limits(self.batch, row, self.spec))
        return out


@dataclass
class RankMemo:
    """What ranking one search's batch worked out once, for the next instance."""

    weights: BatchWeights | None = None
    # the masks of the filters that do not read consumption, for one batch
    static_masks: tuple[HostBatch, dict[HostFilter, Mask]] | None = None


class Ranker:
    """Filters and weighers of one configuration; thread-safe."""

    def __init__(
        self,
        filters: Sequence[HostFilter],
        weighers: Sequence[HostWeigher],
        settings: RankSettings,
        rng: random.Random,
    ) -> None:
        self.filters = list(filters)
        self.weighers = list(weighers)
        self.settings = settings
        self._rng = rng

    @property
    def judges_candidates(self) -> bool:
        """Whether a filter keeps hosts by their candidates (NUMA, PCI)."""
        return any(f.judges_candidates for f in self.filters)

    def rank(
        self,
        search: Search,
        batch: HostBatch,
        spec: RequestSpec,
        index: int,
        memo: RankMemo,
        *,
        explain: bool = False,
    ) -> Ranked:
        """Filters then weighers for the index-th instance of the request."""
        stages: list[StageReport] = []
        ranked_in = batch
        rows: Ints | None = None
        setters: list[HostFilter] = []
        if not search.forced:
            for host_filter in self.filters:
                if len(batch) == 0:
                    break
                if not host_filter.run_filter_for_index(index):
                    continue
                if host_filter.sets_limits and (
                    host_filter.run_on_rebuild or not request_is_rebuild(spec)
                ):
                    setters.append(host_filter)
                passed = self._mask(memo, host_filter, batch, spec, batch is ranked_in)
                if explain:
                    stages.append(host_filter.stage_report(batch, spec, passed))
                if not passed.all():
                    batch = batch.take(passed)
                    rows = np.flatnonzero(passed) if rows is None else rows[passed]
                if isinstance(host_filter, CandidateFilter) and batch.candidate_mappings:
                    _keep_fitting_candidates(search, host_filter, batch, spec)
        if len(batch) == 0:
            return Ranked(batch, Ranking(np.zeros(0), 1), np.zeros(0), stages, rows, spec)
        scores = self._weights(memo, ranked_in, spec).scores(batch, spec, rows)
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
        return Ranked(batch, order, scores, stages, rows, spec, tuple(setters))

    def _mask(
        self,
        memo: RankMemo,
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
        cached = memo.static_masks
        if cached is None or cached[0] is not batch:
            cached = memo.static_masks = (batch, {})
        mask = cached[1].get(host_filter)
        if mask is None:
            mask = cached[1][host_filter] = host_filter.filter(batch, spec)
        return mask

    def _weights(self, memo: RankMemo, batch: HostBatch, spec: RequestSpec) -> BatchWeights:
        """The memo's BatchWeights for `batch`, made anew for another batch."""
        weights = memo.weights
        if weights is None or weights.batch is not batch or weights.weighers is not self.weighers:
            weights = memo.weights = BatchWeights(self.weighers, batch, spec)
        return weights


def choices(search: Search, ranked: Ranked) -> Iterator[int]:
    """Rows of the ranking, best first, that still have a fitting candidate;
    the candidate is put first among the host's, the one to claim."""
    batch = ranked.batch
    for row in ranked.order:
        candidate = search.fitting(batch, row)
        if candidate is not None:
            search.prefer(batch.provider_uuid[row], candidate)
            yield row


def _keep_fitting_candidates(
    search: Search, judge: CandidateFilter, batch: HostBatch, spec: RequestSpec
) -> None:
    """Nova's CandidateFilterMixin: a host keeps only the candidates that fit."""
    for row, provider in enumerate(batch.provider_uuid):
        fitting = judge.passing_candidates(batch, row, spec)
        current = search.offered[provider]
        if len(fitting) != len(current):
            search.offered[provider] = [current[i] for i in fitting if i < len(current)]
            batch.candidate_mappings[row] = tuple(batch.candidate_mappings[row][i] for i in fitting)
