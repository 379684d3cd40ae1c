"""The rank stage on its own: host filters, weighers and the pick over a hand-built Search."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from oslo_config import cfg

from corral.scheduler import registry
from corral.scheduler.batch import HostBatch
from corral.scheduler.explain import StageReport
from corral.scheduler.filters import HostFilter
from corral.scheduler.filters.base import CandidateFilter
from corral.scheduler.spec import RequestSpec
from corral.scheduler.stages.rank import Ranked, Ranker, RankMemo, RankSettings, choices
from corral.scheduler.stages.search import Search
from corral.scheduler.weighers import HostWeigher
from tests.unit.scheduler_fixtures import candidate, make_batch, make_conf, make_search, make_spec

CONF = make_conf()


def host_filter(name: str, conf: cfg.ConfigOpts = CONF) -> HostFilter:
    return registry.FILTERS[name](conf)


def weigher(name: str, conf: cfg.ConfigOpts = CONF) -> HostWeigher:
    return registry.WEIGHERS[name](conf)


def ranker(
    filters: Sequence[str] = (),
    weighers: Sequence[str] = (),
    seed: int = 0,
    **settings: Any,
) -> Ranker:
    return Ranker(
        [host_filter(n) for n in filters],
        [weigher(n) for n in weighers],
        RankSettings(**settings),
        random.Random(seed),
    )


def rank(
    r: Ranker,
    batch: HostBatch,
    *,
    search: Search | None = None,
    spec: RequestSpec | None = None,
    index: int = 0,
    memo: RankMemo | None = None,
    explain: bool = False,
) -> Ranked:
    return r.rank(
        search or make_search(batch),
        batch,
        spec or make_spec(),
        index,
        memo or RankMemo(),
        explain=explain,
    )


def ranked_hosts(ranked: Ranked) -> list[str]:
    return [ranked.batch.host[row] for row in ranked.order]


def by_free_ram(*free: int) -> HostBatch:
    return make_batch([{"free_ram_mb": f} for f in free])


def test_compute_filter_removes_a_disabled_host() -> None:
    batch = make_batch([{}, {"enabled": False}, {}])
    ranked = rank(ranker(["ComputeFilter"]), batch)
    assert ranked.batch.host == ["host0", "host2"]
    assert ranked.rows is not None and ranked.rows.tolist() == [0, 2]
    assert [ranked.origin(row) for row in range(2)] == [0, 2]
    assert ranked.stages == []  # explain=False records nothing


def test_origin_is_the_row_itself_when_nothing_was_filtered_out() -> None:
    ranked = rank(ranker(["ComputeFilter"]), make_batch([{}, {}]))
    assert ranked.rows is None
    assert ranked.batch.host == ["host0", "host1"]
    assert ranked.origin(1) == 1


def test_origin_across_two_filters() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 2})
    r = Ranker(
        [host_filter("ComputeFilter"), host_filter("NumInstancesFilter", conf)],
        [],
        RankSettings(),
        random.Random(0),
    )
    batch = make_batch([{"enabled": False}, {"num_instances": 5}, {}, {"up": False}, {}])
    ranked = rank(r, batch)
    assert ranked.batch.host == ["host2", "host4"]
    assert [ranked.origin(row) for row in range(2)] == [2, 4]


def test_ram_weigher_orders_by_free_ram() -> None:
    ranked = rank(ranker(weighers=["RAMWeigher"]), by_free_ram(1000, 3000, 2000))
    assert ranked_hosts(ranked) == ["host1", "host2", "host0"]
    # RAMWeigher's minimum is 0: free RAM over the most free.
    assert ranked.scores.tolist() == pytest.approx([1 / 3, 1.0, 2 / 3])


def test_negative_ram_multiplier_stacks() -> None:
    conf = make_conf(filter_scheduler={"ram_weight_multiplier": -1.0})
    r = Ranker([], [weigher("RAMWeigher", conf)], RankSettings(), random.Random(0))
    assert ranked_hosts(rank(r, by_free_ram(1000, 3000, 2000))) == ["host0", "host2", "host1"]


def test_host_subset_size_picks_at_random_among_the_best() -> None:
    batch = by_free_ram(1000, 4000, 3000, 2000)
    best_first = [1, 2, 3, 0]
    picks = set()
    for seed in range(20):
        ranked = rank(ranker(weighers=["RAMWeigher"], seed=seed, host_subset_size=3), batch)
        expected = best_first[random.Random(seed).randrange(3)]
        order = list(ranked.order)
        assert order[0] == expected
        # The pick moved to the front; the others keep their order.
        assert order[1:] == [row for row in best_first if row != expected]
        picks.add(expected)
    assert picks == {1, 2, 3}


def test_host_subset_size_beyond_the_batch_is_the_batch() -> None:
    ranked = rank(ranker(weighers=["RAMWeigher"], host_subset_size=50), by_free_ram(1, 2))
    assert sorted(ranked.order) == [0, 1]


def test_without_shuffle_ties_keep_batch_order() -> None:
    batch = by_free_ram(3000, 3000, 1000, 3000)
    for seed in range(5):
        ranked = rank(ranker(weighers=["RAMWeigher"], seed=seed), batch)
        assert list(ranked.order) == [0, 1, 3, 2]


def test_shuffle_best_same_weighed_hosts() -> None:
    batch = by_free_ram(3000, 3000, 1000, 3000)
    firsts = set()
    for seed in range(30):
        r = ranker(weighers=["RAMWeigher"], seed=seed, shuffle_best_same_weighed_hosts=True)
        order = list(rank(r, batch).order)
        best = [0, 1, 3]
        random.Random(seed).shuffle(best)
        assert order == [*best, 2]
        firsts.add(order[0])
    assert firsts == {0, 1, 3}


def test_run_filter_once_per_request_only_for_the_first_instance() -> None:
    batch = make_batch([{}, {"enabled": False}])
    r = ranker(["ComputeFilter"])
    assert rank(r, batch, index=0).batch.host == ["host0"]
    assert rank(r, batch, index=1).batch.host == ["host0", "host1"]


def test_a_filter_not_once_per_request_runs_for_every_instance() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 1})
    r = Ranker([host_filter("NumInstancesFilter", conf)], [], RankSettings(), random.Random(0))
    batch = make_batch([{"num_instances": 1}, {}])
    assert rank(r, batch, index=2).batch.host == ["host1"]


def test_a_forced_search_skips_the_host_filters() -> None:
    batch = make_batch([{}, {"enabled": False}])
    search = make_search(batch, forced=True)
    ranked = rank(ranker(["ComputeFilter"]), batch, search=search, explain=True)
    assert ranked.batch.host == ["host0", "host1"]
    assert ranked.stages == []


def test_explain_records_every_filter_stage() -> None:
    batch = make_batch([{}, {"enabled": False}, {"up": False}, {}])
    r = ranker(["AllHostsFilter", "ComputeFilter", "NumInstancesFilter"])
    ranked = rank(r, batch, explain=True)
    assert ranked.stages == [
        StageReport("AllHostsFilter", 4, 4, {}),
        StageReport("ComputeFilter", 4, 2, {"disabled": 1, "down": 1}),
        StageReport("NumInstancesFilter", 2, 2, {}),
    ]


def test_filters_stop_once_no_host_is_left() -> None:
    batch = make_batch([{"enabled": False}])
    ranked = rank(ranker(["ComputeFilter", "NumInstancesFilter"]), batch, explain=True)
    assert len(ranked.batch) == 0
    assert [s.stage for s in ranked.stages] == ["ComputeFilter"]
    assert list(ranked.order) == []
    assert len(ranked.scores) == 0


def test_rank_memo_keeps_the_static_masks_of_the_batch() -> None:
    batch = make_batch([{}, {"enabled": False}, {}])
    r = ranker(["ComputeFilter", "NumInstancesFilter"])
    compute, num_instances = r.filters
    assert not compute.reads_consumption and num_instances.reads_consumption
    memo = RankMemo()
    rank(r, batch, memo=memo)
    assert memo.static_masks is not None
    cached_batch, masks = memo.static_masks
    assert cached_batch is batch
    # Only the filter that reads no consumption, and NumInstancesFilter ran on a sub-batch.
    assert set(masks) == {compute}
    first = masks[compute]
    assert first.tolist() == [True, False, True]
    rank(r, batch, memo=memo)
    assert memo.static_masks[1][compute] is first
    weights = memo.weights
    assert weights is not None
    rank(r, batch, memo=memo)
    assert memo.weights is weights


def test_rank_memo_starts_again_for_another_batch() -> None:
    r = ranker(["ComputeFilter"], ["RAMWeigher"])
    memo = RankMemo()
    first_batch = make_batch([{}, {"enabled": False}])
    rank(r, first_batch, memo=memo)
    assert memo.static_masks is not None
    first = memo.static_masks[1][r.filters[0]]
    weights = memo.weights
    other = make_batch([{"enabled": False}, {}])
    ranked = rank(r, other, memo=memo)
    assert ranked.batch.host == ["host1"]
    assert memo.static_masks[0] is other
    assert memo.static_masks[1][r.filters[0]] is not first
    assert memo.weights is not weights


def test_a_static_mask_is_reused_even_after_consumption() -> None:
    # A static filter's verdict holds for the next instance: the memo does not
    # filter again (ComputeFilter reads only service state).
    batch = make_batch([{}, {}])
    r = ranker(["ComputeFilter"])
    memo = RankMemo()
    rank(r, batch, memo=memo)
    batch.enabled[0] = False  # what no choice changes: the memo keeps its mask
    assert rank(r, batch, memo=memo).batch.host == ["host0", "host1"]
    assert rank(r, batch, memo=RankMemo()).batch.host == ["host1"]


def test_weights_see_consumption_between_instances() -> None:
    batch = by_free_ram(3000, 2000)
    search = make_search(batch)
    r = ranker(weighers=["RAMWeigher"])
    memo = RankMemo()
    assert rank(r, batch, search=search, memo=memo).order.head[0] == 0
    batch.consume(0, {"MEMORY_MB": 1500}, None)
    assert rank(r, batch, search=search, memo=memo).order.head[0] == 1


def test_choices_skip_hosts_whose_candidates_no_longer_fit() -> None:
    batch = make_batch(
        [
            {"free_ram_mb": 30000, "memory_mb_total": 1024, "memory_mb_used": 1000},
            {"free_ram_mb": 20000},
            {"free_ram_mb": 10000},
        ]
    )
    too_big = candidate("rp-1", MEMORY_MB=64 * 1024)
    fits = candidate("rp-1", MEMORY_MB=1024)
    offered = {
        "rp-0": [candidate("rp-0", MEMORY_MB=512)],
        "rp-1": [too_big, fits],
        "rp-2": [candidate("rp-2")],
    }
    search = make_search(batch, offered)
    ranked = rank(ranker(weighers=["RAMWeigher"]), batch, search=search)
    assert list(ranked.order) == [0, 1, 2]
    assert list(choices(search, ranked)) == [1, 2]
    # The fitting candidate is first now: the one to claim and consume.
    assert list(search.offered["rp-1"]) == [fits, too_big]


def test_choices_leave_a_fitting_first_candidate_in_place() -> None:
    batch = make_batch([{}])
    first, second = candidate("rp-0"), candidate("rp-0", VCPU=2)
    search = make_search(batch, {"rp-0": [first, second]})
    offered = search.offered["rp-0"]
    assert list(choices(search, rank(ranker(), batch, search=search))) == [0]
    assert search.offered["rp-0"] is offered


def test_choices_skip_a_host_without_candidates() -> None:
    batch = make_batch([{}, {}])
    search = make_search(batch, {"rp-1": [candidate("rp-1")]})
    assert list(choices(search, rank(ranker(), batch, search=search))) == [1]


class SecondCandidateOnly(CandidateFilter):
    """A candidate filter keeping only each host's second candidate (hosts with one go)."""

    name = "SecondCandidateOnly"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> np.ndarray:
        return np.asarray([len(m) > 1 for m in batch.candidate_mappings], dtype=np.bool_)

    def passing_candidates(self, batch: HostBatch, row: int, spec: RequestSpec) -> list[int]:
        return [1] if len(batch.candidate_mappings[row]) > 1 else []


def test_a_candidate_filter_keeps_each_hosts_fitting_candidates() -> None:
    batch = make_batch([{}, {}, {}])
    offered = {
        "rp-0": [candidate("rp-0"), candidate("rp-0", VCPU=2)],
        "rp-1": [candidate("rp-1")],
        "rp-2": [candidate("rp-2"), candidate("rp-2", VCPU=3), candidate("rp-2", VCPU=4)],
    }
    batch.candidate_mappings = [
        tuple({k: tuple(v) for k, v in c.mappings.items()} for c in offered[p])
        for p in batch.provider_uuid
    ]
    search = make_search(batch, offered)
    r = Ranker([SecondCandidateOnly(CONF)], [], RankSettings(), random.Random(0))
    assert r.judges_candidates
    ranked = rank(r, batch, search=search)
    assert ranked.batch.host == ["host0", "host2"]
    assert [c.allocations["rp-0"]["VCPU"] for c in search.offered["rp-0"]] == [2]
    assert [c.allocations["rp-2"]["VCPU"] for c in search.offered["rp-2"]] == [3]
    assert [len(m) for m in ranked.batch.candidate_mappings] == [1, 1]
