"""Why a request fits nowhere: NoValidHost's explanation, and dry runs.

A decision records no reasons on its way (that would cost the success
path); when an instance finds no host, the same stages run again over the
batch it saw, this time recording why each host went (kube-scheduler's
"0/5000 nodes are available: ..." folded from every filter's Status):
placement's own reasons for the hosts it offered no candidate
(corral.placement.candidates.reasons), the pre-filter's, each host filter's,
and the claim stage's (filled by earlier instances, full when claimed, not
tried within max_attempts).
"""

from __future__ import annotations

import logging

from corral.placement.candidates.reasons import placement_reasons
from corral.placement.index import PlacementIndex
from corral.scheduler.batch import HostBatch
from corral.scheduler.explain import Explanation, RankedHost, StageReport
from corral.scheduler.host_cache import HostCache
from corral.scheduler.spec import NoValidHost, RequestSpec
from corral.scheduler.stages.rank import Ranker, RankMemo
from corral.scheduler.stages.search import PLACEMENT_STAGE, Search

LOG = logging.getLogger("corral.scheduler")

CLAIM_STAGE = "claim"
FILLED = "filled by earlier instances (of this request or decided with it)"
CLAIM_LOST = "full when claimed"
# Hosts shown in an explanation's ranking.
RANKED_SHOWN = 10


class Diagnosis:
    """Explanations over the same stages the decision ran."""

    def __init__(
        self, index: PlacementIndex, hosts: HostCache, ranker: Ranker, max_attempts: int
    ) -> None:
        self.index = index
        self.hosts = hosts
        self.ranker = ranker
        self.max_attempts = max_attempts

    def placement_stage(self, search: Search) -> StageReport:
        """Placement's stage, with why each host it offered nothing was left out."""
        if search.rebuild:
            # a rebuild check asks Placement nothing: every host it names is kept
            kept = search.stages[0].hosts_out if search.stages else 0
            return StageReport(PLACEMENT_STAGE, search.hosts_total, kept)
        if search.request is None:
            return StageReport(PLACEMENT_STAGE, search.hosts_total, 0)
        with self.index.viewing() as view:
            reasons = placement_reasons(
                view,
                self.hosts.all_provider_uuids(),
                search.request,
                search.narrowing,
                set(search.offered),
                search.truncated,
            )
        kept = search.stages[0].hosts_out if search.stages else 0
        return StageReport(PLACEMENT_STAGE, search.hosts_total, kept, reasons)

    def refused(self, search: Search) -> Explanation:
        """A request refused before any search (a request filter, admission)."""
        total = self.hosts.stats().nodes
        return Explanation(
            hosts_total=total,
            stages=(StageReport("request", total, 0, {search.refusal or "refused": total}),),
            refusal=search.refusal,
        )

    def explain(self, search: Search, spec: RequestSpec) -> Explanation:
        """What a decision for the first instance would see; claims nothing."""
        if search.refusal is not None:
            return self.refused(search)
        ranked = self.ranker.rank(search, search.batch, spec, 0, RankMemo(), explain=True)
        stages = [self.placement_stage(search), *search.stages[1:], *ranked.stages]
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

    def no_valid_host(
        self, search: Search, before: HostBatch, spec: RequestSpec, index: int, conflicts: int
    ) -> NoValidHost:
        """NoValidHost for the index-th instance, ranked over `before` (the batch
        it was ranked over), `conflicts` claims having lost their race."""
        ranked = self.ranker.rank(search, before, spec, index, RankMemo(), explain=True)
        stages = [self.placement_stage(search), *search.stages[1:], *ranked.stages]
        left = len(ranked.batch)
        if left:
            # Hosts that passed every filter but had no room left or were full at claim.
            batch = ranked.batch
            unfit = sum(1 for row in range(left) if search.fitting(batch, row) is None)
            reasons = {}
            if unfit:
                reasons[FILLED] = unfit
            if conflicts:
                reasons[CLAIM_LOST] = conflicts
            rest = left - unfit - conflicts
            if rest > 0:
                reasons[f"not tried (max_attempts {self.max_attempts})"] = rest
            stages.append(StageReport(CLAIM_STAGE, left, 0, reasons))
        explanation = Explanation(hosts_total=search.hosts_total, stages=tuple(stages))
        summary = explanation.summary()
        if index:
            summary += f" (instance {index + 1} of the request)"
        LOG.info("no valid host: %s", summary)
        return NoValidHost(summary, explanation)
