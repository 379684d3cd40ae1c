"""The search stage's rules from Nova's resources_from_request_spec: when the
allocation-candidate query goes without `max_placement_results`, and when a
check type keeps the host filters on for forced hosts."""

from __future__ import annotations

from corral.scheduler.spec import InstanceGroup
from corral.scheduler.stages.search import check_type, unlimited
from tests.unit.scheduler_fixtures import hints, make_spec


def test_a_plain_request_keeps_the_limit() -> None:
    assert not unlimited(make_spec(), ())
    assert not unlimited(make_spec(), ("rp-1",))
    assert not unlimited(make_spec(scheduler_hints=hints(query="[]")), ())


def test_group_and_host_hints_lift_the_limit() -> None:
    for name in ("group", "same_host", "different_host"):
        assert unlimited(make_spec(scheduler_hints=hints(**{name: "x"})), ())
    assert unlimited(make_spec(instance_group=InstanceGroup("g-1", "anti-affinity")), ())


def test_forced_hosts_and_a_destination_of_several_nodes_lift_the_limit() -> None:
    assert unlimited(make_spec(force_hosts=("cmp1",)), ())
    assert unlimited(make_spec(force_nodes=("cmp1",)), ())
    assert unlimited(make_spec(), ("rp-1", "rp-2"))


def test_check_type() -> None:
    assert check_type(make_spec(scheduler_hints=hints(_nova_check_type="rebuild")))
    assert not check_type(make_spec())
