"""Diagnosis without a database: a Search with no request needs no index."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, cast

from corral.placement.index import PlacementIndex
from corral.scheduler import registry
from corral.scheduler.batch import HostBatch
from corral.scheduler.diagnose import CLAIM_LOST, CLAIM_STAGE, FILLED, Diagnosis
from corral.scheduler.explain import RankedHost, StageReport
from corral.scheduler.host_cache import HostCache
from corral.scheduler.stages.rank import Ranker, RankSettings
from corral.scheduler.stages.search import PLACEMENT_STAGE, Search
from tests.unit.scheduler_fixtures import candidate, make_batch, make_conf, make_search, make_spec

CONF = make_conf()


@dataclass
class Stats:
    nodes: int


class FakeHosts:
    def __init__(self, nodes: int) -> None:
        self.nodes = nodes

    def stats(self) -> Stats:
        return Stats(self.nodes)


def diagnosis(nodes: int = 10, max_attempts: int = 3) -> Diagnosis:
    ranker = Ranker(
        [registry.FILTERS["ComputeFilter"](CONF)],
        [registry.WEIGHERS["RAMWeigher"](CONF)],
        RankSettings(max_attempts=max_attempts),
        random.Random(0),
    )
    # No index: placement_stage reads none for a Search without a request.
    return Diagnosis(cast(PlacementIndex, None), cast(HostCache, FakeHosts(nodes)), ranker, 3)


def search_of(batch: HostBatch, **fields: Any) -> Search:
    search = make_search(batch, hosts_total=10, **fields)
    search.stages = [StageReport(PLACEMENT_STAGE, 10, len(batch))]
    return search


def test_placement_stage_without_a_request() -> None:
    search = search_of(make_batch([{}]))
    assert diagnosis().placement_stage(search) == StageReport(PLACEMENT_STAGE, 10, 0)


def test_no_valid_host_when_every_host_is_filtered_out() -> None:
    batch = make_batch([{"enabled": False}, {"enabled": False}, {"up": False}])
    search = search_of(batch)
    error = diagnosis().no_valid_host(search, batch, make_spec(), 0, 0)
    assert str(error) == "0/10 hosts available: 2 disabled, 1 down"
    assert error.explanation == str(error)
    stages = error.detail.stages  # type: ignore[attr-defined]
    assert [s.stage for s in stages] == [PLACEMENT_STAGE, "ComputeFilter"]
    assert stages[1] == StageReport("ComputeFilter", 3, 0, {"disabled": 2, "down": 1})


def test_no_valid_host_keeps_the_pre_filter_stages() -> None:
    batch = make_batch([{"enabled": False}])
    search = search_of(batch)
    search.stages.append(StageReport("ignore_hosts", 2, 1, {"ignored": 1}))
    error = diagnosis().no_valid_host(search, batch, make_spec(), 0, 0)
    stages = error.detail.stages  # type: ignore[attr-defined]
    assert [s.stage for s in stages] == [PLACEMENT_STAGE, "ignore_hosts", "ComputeFilter"]
    assert str(error) == "0/10 hosts available: 1 disabled, 1 ignored"


def test_the_claim_stage_names_filled_lost_and_untried_hosts() -> None:
    # host1, host2: full by the batch's figures; the other three fit.
    batch = make_batch([{}, {"memory_mb_total": 0}, {"vcpus_total": 0}, {}, {}, {}])
    search = search_of(batch)
    error = diagnosis().no_valid_host(search, batch, make_spec(), 0, 1)
    stages = error.detail.stages  # type: ignore[attr-defined]
    assert stages[-1] == StageReport(
        CLAIM_STAGE, 6, 0, {FILLED: 2, CLAIM_LOST: 1, "not tried (max_attempts 3)": 3}
    )


def test_the_claim_stage_without_conflicts() -> None:
    batch = make_batch([{"memory_mb_total": 0}, {"enabled": False}])
    search = search_of(batch, offered={"rp-0": [candidate("rp-0")]})
    error = diagnosis().no_valid_host(search, batch, make_spec(), 0, 0)
    assert str(error) == f"0/10 hosts available: 1 disabled, 1 {FILLED}"


def test_a_later_instance_is_named() -> None:
    batch = make_batch([{"memory_mb_total": 0}])
    error = diagnosis().no_valid_host(search_of(batch), batch, make_spec(), 2, 0)
    assert str(error).endswith(" (instance 3 of the request)")
    # ComputeFilter runs once per request: for a later instance it does not run.
    batch = make_batch([{"enabled": False, "memory_mb_total": 0}])
    error = diagnosis().no_valid_host(search_of(batch), batch, make_spec(), 1, 0)
    assert str(error) == f"0/10 hosts available: 1 {FILLED} (instance 2 of the request)"


def test_explain_ranks_what_passed() -> None:
    batch = make_batch(
        [{"free_ram_mb": 1000}, {"free_ram_mb": 4000, "enabled": False}, {"free_ram_mb": 2000}]
    )
    explanation = diagnosis().explain(search_of(batch), make_spec())
    assert explanation.hosts_total == 10
    assert explanation.hosts_available == 2
    assert [s.stage for s in explanation.stages] == [PLACEMENT_STAGE, "ComputeFilter"]
    assert explanation.ranked == (
        RankedHost("host2", "node2", "rp-2", 1.0),
        RankedHost("host0", "node0", "rp-0", 0.5),
    )
    assert explanation.summary() == "2/10 hosts available: 1 disabled"


def test_a_refused_search_is_explained_by_its_refusal() -> None:
    search = search_of(make_batch([]), refusal="requested destination x is not a compute host")
    explanation = diagnosis(nodes=7).explain(search, make_spec())
    assert explanation.refusal == "requested destination x is not a compute host"
    assert explanation.stages == (
        StageReport("request", 7, 0, {"requested destination x is not a compute host": 7}),
    )
    assert explanation.summary() == (
        "0/7 hosts available: requested destination x is not a compute host"
    )
