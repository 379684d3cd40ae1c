"""The pre-filter stage on its own: ignore/force hosts and nodes, the requested destination."""

from __future__ import annotations

from corral.scheduler import registry
from corral.scheduler.batch import HostBatch
from corral.scheduler.explain import StageReport
from corral.scheduler.spec import Destination, RequestSpec
from corral.scheduler.stages.prefilter import (
    PRE_FILTERS,
    ForceHosts,
    ForceNodes,
    IgnoreHosts,
    RequestedCell,
    RequestedDestination,
    forces_hosts,
    pre_filter,
)
from tests.unit.scheduler_fixtures import hints, make_batch, make_spec


def three_hosts() -> HostBatch:
    return make_batch([{"host": f"host{i}", "node": f"Node{i}"} for i in range(3)])


def run(spec: RequestSpec, batch: HostBatch | None = None) -> tuple[HostBatch, list[StageReport]]:
    stages: list[StageReport] = []
    out = pre_filter(registry.pre_filters(), batch or three_hosts(), spec, stages)
    return out, stages


def test_pre_filters_in_novas_order() -> None:
    assert (RequestedCell, IgnoreHosts, ForceHosts, ForceNodes, RequestedDestination) == PRE_FILTERS
    assert [f.name for f in registry.pre_filters()] == [
        "requested_cell",
        "ignore_hosts",
        "force_hosts",
        "force_nodes",
        "requested_destination",
    ]


def test_a_plain_spec_keeps_the_same_batch_and_reports_nothing() -> None:
    batch = three_hosts()
    spec = make_spec()
    assert not any(f.applies(spec) for f in registry.pre_filters())
    out, stages = run(spec, batch)
    assert out is batch
    assert stages == []


def test_ignore_hosts_case_insensitively() -> None:
    out, stages = run(make_spec(ignore_hosts=("HOST1",)))
    assert out.host == ["host0", "host2"]
    assert out.provider_uuid == ["rp-0", "rp-2"]
    assert stages == [StageReport("ignore_hosts", 3, 2, {"ignored": 1})]


def test_ignoring_an_unknown_host_removes_nothing_and_reports_nothing() -> None:
    batch = three_hosts()
    out, stages = run(make_spec(ignore_hosts=("elsewhere",)), batch)
    assert out is batch
    assert stages == []


def test_force_hosts_case_insensitively() -> None:
    out, stages = run(make_spec(force_hosts=("Host2", "HOST0")))
    assert out.host == ["host0", "host2"]
    assert stages == [StageReport("force_hosts", 3, 2, {"not a forced host": 1})]


def test_force_nodes_case_insensitively() -> None:
    out, stages = run(make_spec(force_nodes=("node1",)))
    assert out.node == ["Node1"]
    assert stages == [StageReport("force_nodes", 3, 1, {"not a forced node": 2})]


def test_requested_destination_host_and_node() -> None:
    out, stages = run(make_spec(requested_destination=Destination(host="HOST1")))
    assert out.host == ["host1"]
    assert stages == [
        StageReport("requested_destination", 3, 1, {"not the requested destination": 2})
    ]
    out, _ = run(make_spec(requested_destination=Destination(node="node2")))
    assert out.host == ["host2"]
    # Host and node must both match.
    out, _ = run(make_spec(requested_destination=Destination(host="host1", node="node2")))
    assert len(out) == 0


def test_a_destination_naming_only_aggregates_does_not_apply() -> None:
    spec = make_spec(requested_destination=Destination(aggregates=("agg-1",)))
    assert not RequestedDestination().applies(spec)
    out, stages = run(spec)
    assert len(out) == 3 and stages == []


def test_ignored_hosts_go_before_the_forced_ones() -> None:
    spec = make_spec(ignore_hosts=("host1",), force_hosts=("host1", "host2"))
    out, stages = run(spec)
    assert out.host == ["host2"]
    assert [s.stage for s in stages] == ["ignore_hosts", "force_hosts"]
    assert [(s.hosts_in, s.hosts_out) for s in stages] == [(3, 2), (2, 1)]


def test_an_emptied_batch_stops_the_stage() -> None:
    spec = make_spec(ignore_hosts=("host0", "host1", "host2"), force_hosts=("host0",))
    out, stages = run(spec)
    assert len(out) == 0
    assert [s.stage for s in stages] == ["ignore_hosts"]


def test_pre_filters_run_on_rebuild_too() -> None:
    spec = make_spec(
        ignore_hosts=("host0",),
        force_nodes=("node2",),
        scheduler_hints=hints(_nova_check_type="rebuild"),
    )
    out, stages = run(spec)
    assert out.host == ["host2"]
    assert [s.stage for s in stages] == ["ignore_hosts", "force_nodes"]


def test_forces_hosts() -> None:
    assert not forces_hosts(make_spec())
    assert not forces_hosts(make_spec(ignore_hosts=("host0",)))
    assert not forces_hosts(make_spec(requested_destination=Destination(host="host0")))
    assert forces_hosts(make_spec(force_hosts=("host0",)))
    assert forces_hosts(make_spec(force_nodes=("node0",)))


def test_a_move_stays_in_its_cell_unless_it_may_cross() -> None:
    batch = make_batch([{}, {"cell_uuid": "cell2"}, {"cell_uuid": "cell2"}])
    out, stages = run(make_spec(requested_destination=Destination(cell_uuid="cell2")), batch)
    assert out.host == ["host1", "host2"]
    assert [(s.stage, s.reasons) for s in stages] == [
        ("requested_cell", {"not in the requested cell": 1})
    ]
    crossing = Destination(cell_uuid="cell2", allow_cross_cell_move=True)
    out, stages = run(make_spec(requested_destination=crossing), batch)
    assert out is batch and stages == []
