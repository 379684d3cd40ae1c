"""Admission over a small fake host cache: groups, zones, destinations."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from corral.errors import BadRequest
from corral.scheduler.admission import Admitted, admit, current_group, destination_providers
from corral.scheduler.batch import Aggregate
from corral.scheduler.host_cache import HostCache
from corral.scheduler.spec import Destination, InstanceGroup, RequestSpec
from tests.unit.scheduler_fixtures import aggregate, hints, make_spec


@dataclass
class FakeHosts:
    """The host cache methods admission calls; `later` is what catch_up brings in."""

    groups: dict[str, InstanceGroup] = field(default_factory=dict)
    aggs: dict[int, Aggregate] = field(default_factory=dict)
    nodes: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    default_availability_zone: str = "nova"
    later: dict[str, Any] = field(default_factory=dict)
    catch_ups: int = 0

    def instance_group(self, uuid: str) -> InstanceGroup | None:
        return self.groups.get(uuid)

    def aggregates(self) -> Mapping[int, Aggregate]:
        return self.aggs

    def all_provider_uuids(self) -> list[str]:
        return list(self.nodes)

    def node_of_provider(self, provider: str) -> tuple[str, str] | None:
        return self.nodes.get(provider)

    def catch_up(self, conn: object = None) -> None:
        self.catch_ups += 1
        self.groups.update(self.later.get("groups", {}))
        self.aggs.update(self.later.get("aggs", {}))
        self.nodes.update(self.later.get("nodes", {}))


def run(hosts: FakeHosts, spec: RequestSpec, *, check_zone: bool = False) -> Admitted:
    return admit(cast(HostCache, hosts), spec, check_zone=check_zone)


NODES: dict[str, tuple[str, str] | None] = {
    "rp-a": ("cmp1", "cmp1-n1"),
    "rp-b": ("cmp1", "cmp1-n2"),
    "rp-c": ("cmp2", "cmp2-n1"),
    "rp-d": None,  # a provider that is no compute node
}


def test_a_plain_request_is_admitted_without_a_read() -> None:
    hosts = FakeHosts()
    spec = make_spec()
    admitted = run(hosts, spec)
    assert admitted == Admitted(spec)
    assert hosts.catch_ups == 0


def test_an_unknown_group_hint_is_refused_after_one_catch_up() -> None:
    hosts = FakeHosts()
    with pytest.raises(BadRequest, match="Unknown server group g-1"):
        run(hosts, make_spec(scheduler_hints=hints(group="g-1")))
    assert hosts.catch_ups == 1


def test_a_group_made_a_moment_ago_is_found_after_catch_up() -> None:
    group = InstanceGroup("g-1", "anti-affinity", members=("i-0",), hosts=("cmp1",))
    hosts = FakeHosts(later={"groups": {"g-1": group}})
    admitted = run(hosts, make_spec(scheduler_hints=hints(group="g-1")))
    assert admitted.spec.instance_group == group
    assert hosts.catch_ups == 1


def test_an_instance_group_the_cache_does_not_know_is_kept() -> None:
    # Nova's group, made a moment ago: the Nova feed has not copied it yet.
    group = InstanceGroup("g-1", "affinity", members=("i-new",))
    hosts = FakeHosts()
    admitted = run(hosts, make_spec(instance_group=group))
    assert admitted.spec.instance_group == dataclasses.replace(group, stored=False)
    assert hosts.catch_ups == 0
    # the search stage's second look: still unknown, still not stored; known
    # by then, the store's (stored) with the spec's members too
    again = current_group(cast(HostCache, hosts), admitted.spec)
    assert again.instance_group == dataclasses.replace(group, stored=False)
    hosts.groups["g-1"] = InstanceGroup("g-1", "affinity", members=("i-0",), hosts=("cmp1",))
    found = current_group(cast(HostCache, hosts), admitted.spec).instance_group
    assert found == InstanceGroup(
        "g-1", "affinity", members=("i-new", "i-0"), hosts=("cmp1",), stored=True
    )


def test_the_group_members_are_merged() -> None:
    known = InstanceGroup("g-1", "anti-affinity", members=("i-1", "i-2"), hosts=("cmp1", "cmp2"))
    hosts = FakeHosts(groups={"g-1": known})
    mine = InstanceGroup("g-1", "anti-affinity", members=("i-new", "i-1"))
    admitted = run(hosts, make_spec(instance_group=mine))
    assert admitted.spec.instance_group == InstanceGroup(
        "g-1", "anti-affinity", members=("i-new", "i-1", "i-2"), hosts=("cmp1", "cmp2")
    )
    assert hosts.catch_ups == 0


def test_current_group_without_a_group_is_the_spec() -> None:
    spec = make_spec()
    assert current_group(cast(HostCache, FakeHosts()), spec) is spec


def test_an_unknown_zone_is_refused_only_when_checked() -> None:
    hosts = FakeHosts(aggs={1: aggregate(1, {"cmp1"}, availability_zone="az1")})
    spec = make_spec(availability_zone="az9")
    with pytest.raises(BadRequest, match="availability zone az9 is not available"):
        run(hosts, spec, check_zone=True)
    assert hosts.catch_ups == 1
    assert run(hosts, spec).spec is spec


def test_known_zones_pass_the_check() -> None:
    hosts = FakeHosts(aggs={1: aggregate(1, {"cmp1"}, availability_zone="az1")})
    for zone in ("az1", "nova", None):
        assert run(hosts, make_spec(availability_zone=zone), check_zone=True).refusal is None
    assert hosts.catch_ups == 0


def test_a_zone_made_a_moment_ago_passes_after_catch_up() -> None:
    hosts = FakeHosts(later={"aggs": {2: aggregate(2, availability_zone="az2")}})
    admitted = run(hosts, make_spec(availability_zone="az2"), check_zone=True)
    assert admitted.refusal is None
    assert hosts.catch_ups == 1


def test_destination_providers() -> None:
    hosts = cast(HostCache, FakeHosts(nodes=dict(NODES)))
    assert destination_providers(hosts, "cmp1", None) == ("rp-a", "rp-b")
    assert destination_providers(hosts, None, "cmp1-n2") == ("rp-b",)
    assert destination_providers(hosts, "cmp2", "cmp2-n1") == ("rp-c",)
    assert destination_providers(hosts, "cmp2", "cmp1-n1") == ()


def test_a_destination_is_found() -> None:
    hosts = FakeHosts(nodes=dict(NODES))
    admitted = run(hosts, make_spec(requested_destination=Destination(host="cmp1")))
    assert admitted.destination_providers == ("rp-a", "rp-b")
    assert admitted.refusal is None
    assert hosts.catch_ups == 0


def test_an_unknown_destination_is_refused_after_one_catch_up() -> None:
    hosts = FakeHosts(nodes=dict(NODES))
    admitted = run(hosts, make_spec(requested_destination=Destination(host="cmp1", node="x")))
    assert admitted.refusal == "requested destination x is not a compute host"
    assert admitted.destination_providers == ()
    assert hosts.catch_ups == 1
    admitted = run(hosts, make_spec(requested_destination=Destination(host="cmp9")))
    assert admitted.refusal == "requested destination cmp9 is not a compute host"


def test_a_destination_host_added_a_moment_ago() -> None:
    hosts = FakeHosts(nodes=dict(NODES), later={"nodes": {"rp-e": ("cmp3", "cmp3-n1")}})
    admitted = run(hosts, make_spec(requested_destination=Destination(node="cmp3-n1")))
    assert admitted.destination_providers == ("rp-e",)
    assert admitted.refusal is None
    assert hosts.catch_ups == 1


def test_a_destination_of_aggregates_only_needs_no_provider() -> None:
    hosts = FakeHosts()
    admitted = run(hosts, make_spec(requested_destination=Destination(aggregates=("agg-1",))))
    assert admitted.refusal is None and admitted.destination_providers == ()
    assert hosts.catch_ups == 0
