"""Instance and server-group affinity filters, and SimpleCIDRAffinityFilter."""

from __future__ import annotations

import pytest

from corral.scheduler.filters import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
    SimpleCIDRAffinityFilter,
)
from corral.scheduler.spec import InstanceGroup
from tests.unit.scheduler_fixtures import hints, make_batch, make_conf, make_spec

CONF = make_conf()


def hosts_running(*per_host: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return make_batch([{"instances": {u: "proj" for u in uuids}} for uuids in per_host])


def test_different_host() -> None:
    batch = hosts_running(("a", "b"), ("c",), ())
    f = DifferentHostFilter(CONF)
    assert f.filter(batch, make_spec()).tolist() == [True, True, True]
    spec = make_spec(scheduler_hints=hints(different_host="a"))
    assert f.filter(batch, spec).tolist() == [False, True, True]
    spec = make_spec(scheduler_hints=hints(different_host=["a", "c"]))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, False, True]
    assert (
        f.reasons(batch, spec, passed) == ["runs an instance named by the different_host hint"] * 2
    )


def test_same_host() -> None:
    batch = hosts_running(("a", "b"), ("c",), ())
    f = SameHostFilter(CONF)
    assert f.filter(batch, make_spec()).tolist() == [True, True, True]
    spec = make_spec(scheduler_hints=hints(same_host=["b", "c"]))
    assert f.filter(batch, spec).tolist() == [True, True, False]
    spec = make_spec(scheduler_hints=hints(same_host="zzz"))
    assert f.filter(batch, spec).tolist() == [False, False, False]


def test_simple_cidr_affinity() -> None:
    batch = make_batch(
        [
            {"host_ip": "10.8.1.5"},
            {"host_ip": "10.8.2.5"},
            {"host_ip": None},
            {"host_ip": "fd00::1"},
        ]
    )
    f = SimpleCIDRAffinityFilter(CONF)
    assert f.filter(batch, make_spec()).tolist() == [True] * 4
    # Default cidr /24; host bits of the hint are allowed, as with netaddr.
    spec = make_spec(scheduler_hints=hints(build_near_host_ip="10.8.1.77"))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [True, False, False, False]
    assert f.reasons(batch, spec, passed) == [
        "host IP not in 10.8.1.0/24",
        "host has no IP address",
        "host IP not in 10.8.1.0/24",
    ]
    spec = make_spec(scheduler_hints=hints(build_near_host_ip="10.8.1.77", cidr="/16"))
    assert f.filter(batch, spec).tolist() == [True, True, False, False]
    spec = make_spec(scheduler_hints=hints(build_near_host_ip="fd00::9", cidr="/64"))
    assert f.filter(batch, spec).tolist() == [False, False, False, True]
    bad = make_spec(scheduler_hints=hints(build_near_host_ip="not-an-ip"))
    passed = f.filter(batch, bad)
    assert not passed.any()
    assert set(f.reasons(batch, bad, passed)) == {"invalid build_near_host_ip/cidr hint"}


def group(policy: str, members: tuple[str, ...] = (), hosts: tuple[str, ...] = (), **rules: str):  # type: ignore[no-untyped-def]
    return InstanceGroup(uuid="g1", policy=policy, members=members, hosts=hosts, rules=rules)


def test_anti_affinity_default_one_server_per_host() -> None:
    batch = hosts_running(("m1",), ("m2", "x"), ("x",), ())
    f = ServerGroupAntiAffinityFilter(CONF)
    spec = make_spec(instance_group=group("anti-affinity", ("m1", "m2")))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, False, True, True]
    assert (
        f.reasons(batch, spec, passed)
        == ["server group anti-affinity: 1 member(s) of the group already here"] * 2
    )


def test_anti_affinity_max_server_per_host_rule() -> None:
    batch = hosts_running(("m1",), ("m2", "m3"), ("m4", "m5", "m6"), ())
    spec = make_spec(
        instance_group=group(
            "anti-affinity", ("m1", "m2", "m3", "m4", "m5", "m6"), max_server_per_host="3"
        )
    )
    f = ServerGroupAntiAffinityFilter(CONF)
    assert f.filter(batch, spec).tolist() == [True, True, False, True]
    spec = make_spec(
        instance_group=group("anti-affinity", ("m1", "m2", "m3"), max_server_per_host="2")
    )
    assert f.filter(batch, spec).tolist() == [True, False, True, True]


def test_anti_affinity_lets_a_move_stay_on_its_source_host() -> None:
    batch = hosts_running(("me", "m1"), ("m2",))
    spec = make_spec(instance_uuid="me", instance_group=group("anti-affinity", ("me", "m1", "m2")))
    assert ServerGroupAntiAffinityFilter(CONF).filter(batch, spec).tolist() == [True, False]


@pytest.mark.parametrize("policy", [None, "affinity", "soft-anti-affinity", "soft-affinity"])
def test_anti_affinity_ignores_other_policies(policy: str | None) -> None:
    batch = hosts_running(("m1",), ())
    spec = make_spec(instance_group=group(policy, ("m1",)) if policy else None)
    assert ServerGroupAntiAffinityFilter(CONF).filter(batch, spec).tolist() == [True, True]


def test_anti_affinity_with_no_members_yet() -> None:
    batch = hosts_running(("x",), ())
    spec = make_spec(instance_group=group("anti-affinity"))
    assert ServerGroupAntiAffinityFilter(CONF).filter(batch, spec).tolist() == [True, True]


def test_affinity_sticks_to_the_group_hosts() -> None:
    batch = make_batch([{"host": "h1"}, {"host": "h2"}, {"host": "h3"}])
    f = ServerGroupAffinityFilter(CONF)
    spec = make_spec(instance_group=group("affinity", ("m1",), hosts=("h2",)))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, True, False]
    assert f.reasons(batch, spec, passed) == ["server group affinity: not a host of the group"] * 2
    # A new group (no hosts yet) may start anywhere; other policies are ignored.
    assert f.filter(batch, make_spec(instance_group=group("affinity"))).all()
    spec = make_spec(instance_group=group("anti-affinity", hosts=("h2",)))
    assert f.filter(batch, spec).all()
