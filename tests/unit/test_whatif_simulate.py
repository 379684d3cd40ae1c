"""corral.whatif.simulate: a workload replayed through a throw-away cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.whatif.cloud import ThrowawayCloud, spec_snapshot
from corral.whatif.simulate import replay, write_series
from corral.whatif.workload import Event, WorkloadError, generate

SPEC = {
    "zones": ["az1"],
    "host_classes": [{"name": "h", "count": 3, "vcpus": 4, "memory_mb": 8192, "disk_gb": 100}],
}


def test_replay_places_refuses_and_deletes(tmp_path: Path) -> None:
    events = generate("gen:poisson,instances=40,rate=600,lifetime=exp:0.05,mix=m1.large", 5)
    with ThrowawayCloud(spec_snapshot(SPEC), seed=1) as cloud:
        result = replay(cloud, events, "default")
    creates = sum(e.action == "create" for e in events)
    assert result.placed + sum(result.refused.values()) == creates
    assert result.placed > 0 and result.deleted > 0
    assert all(hosts <= 3 for _t, hosts, _s in result.series)
    write_series(result, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "time_s,hosts_in_use,decision_ms"
    with ThrowawayCloud(spec_snapshot(SPEC), seed=1) as cloud:
        again = replay(cloud, events, "default")
    assert again.placements == result.placements and again.refused == result.refused


def test_replay_counts_refusals_by_stage() -> None:
    events = generate("gen:poisson,instances=5,lifetime=forever,mix=m1.large", 1)
    with ThrowawayCloud(spec_snapshot(SPEC), seed=1) as cloud:
        result = replay(cloud, events, "default")
    assert result.placed == 3 and sum(result.refused.values()) == 2
    assert list(result.refused) == ["placement"]


def test_server_group_workloads_refused() -> None:
    with ThrowawayCloud(spec_snapshot(SPEC), seed=1) as cloud, pytest.raises(WorkloadError):
        replay(cloud, [Event(0, "delete", "x", server_group="g")], "default")
