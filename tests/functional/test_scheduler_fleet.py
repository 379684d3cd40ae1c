"""1,000 instances onto 100 hosts, then every invariant checked from the database.

The cloud: 100 hosts of three hardware kinds (reserved amounts and
allocation ratios differ), availability zones az1 (h000-h039) and az2
(h040-h079) as host aggregates, h080-h099 in the default zone, and an
aggregate of ten hosts (h035-h044, five in each zone) set aside for the
project `gold` by `filter_tenant_id` metadata.

Tenant isolation takes both halves Nova offers, because the invariant has
two directions: the request filter ([scheduler]
limit_tenants_to_placement_aggregate = True) keeps `gold` inside its
aggregate, and the host filter AggregateMultiTenancyIsolation (added to
[filter_scheduler] enabled_filters) keeps every other project out of it. The
request filter alone would let other projects fill the gold hosts; the host
filter alone would let `gold` land anywhere.

Requests mix flavors (1/2/4 vCPUs, 512..8192 MB, 0..40 GB of disk), zones,
projects, multi-instance requests (2..10 instances), affinity and
anti-affinity server groups (one with max_server_per_host = 2), named by
RequestSpec.instance_group or by the `group` hint. The demand is sized above
what the cloud holds, so the last requests get NoValidHost: they are counted
and must leave nothing behind. The requests come one at a time, or from 16
callers at once, which the scheduler decides in rounds (equivalence classes,
claims of a round in one transaction).

Afterwards, read back through the Placement and scheduler APIs: no provider
uses more than (total - reserved) * allocation_ratio of a class; the
instances recorded are exactly the ones that got a Selection, each on the
chosen host, holding its flavor on its host's provider and nothing else;
every allocation's consumer is a recorded instance; group policies, zones
and the tenant aggregate hold.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from corral.conf.scheduler import DEFAULT_ENABLED_FILTERS
from corral.scheduler.engine import Scheduler
from corral.scheduler.spec import Flavor, InstanceGroup, NoValidHost, RequestSpec, Selection
from tests.conftest import PlacementClient
from tests.functional.scheduler_rows import ROOT, compute_host
from tests.functional.served_app import app_with_options

HOSTS = 100
INSTANCES = 1000
SEED = 20240604

AZ1 = [f"h{n:03d}" for n in range(0, 40)]
AZ2 = [f"h{n:03d}" for n in range(40, 80)]
GOLD_HOSTS = [f"h{n:03d}" for n in range(35, 45)]
GOLD = "gold"
PROJECTS = ("p1", "p2", "p3", "p4")

# (VCPU, MEMORY_MB, DISK_GB): (total, reserved, allocation_ratio)
KINDS: tuple[dict[str, tuple[int, int, float]], ...] = (
    {"VCPU": (16, 2, 2.0), "MEMORY_MB": (24576, 1024, 1.0), "DISK_GB": (400, 20, 1.0)},
    {"VCPU": (24, 0, 1.0), "MEMORY_MB": (16384, 512, 1.5), "DISK_GB": (300, 0, 1.0)},
    {"VCPU": (8, 0, 4.0), "MEMORY_MB": (32768, 0, 1.0), "DISK_GB": (600, 50, 0.9)},
)

FLAVORS = (
    Flavor(vcpus=1, memory_mb=512, root_gb=0, name="tiny"),
    Flavor(vcpus=1, memory_mb=1024, root_gb=10, name="small"),
    Flavor(vcpus=2, memory_mb=2048, root_gb=20, name="medium"),
    Flavor(vcpus=2, memory_mb=4096, root_gb=20, name="medium-mem"),
    Flavor(vcpus=4, memory_mb=4096, root_gb=40, name="large"),
    Flavor(vcpus=4, memory_mb=8192, root_gb=40, name="xlarge"),
    Flavor(vcpus=1, memory_mb=2048, root_gb=10, ephemeral_gb=10, swap=1024, name="eph"),
)


def _resources(flavor: Flavor) -> dict[str, int]:
    """What the flavor claims in Placement (corral.scheduler.resources)."""
    disk = flavor.root_gb + flavor.ephemeral_gb + -(-flavor.swap // 1024)
    out = {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.memory_mb}
    if disk:
        out["DISK_GB"] = disk
    return out


@dataclass
class Group:
    uuid: str
    policy: str
    max_per_host: int = 1
    members: list[str] = field(default_factory=list)


@dataclass
class Placed:
    host: str
    provider: str
    project: str
    zone: str | None
    resources: dict[str, int]


@dataclass
class Outcome:
    placed: dict[str, Placed] = field(default_factory=dict)
    # instances of requests that got NoValidHost
    refused: list[str] = field(default_factory=list)
    refused_requests: int = 0
    requests: int = 0


@pytest.fixture
def fleet(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """The app with tenant isolation on (both halves, see the module docstring)."""
    yield from app_with_options(
        database_url,
        {
            ("scheduler", "limit_tenants_to_placement_aggregate"): True,
            ("filter_scheduler", "enabled_filters"): [
                *DEFAULT_ENABLED_FILTERS,
                "AggregateMultiTenancyIsolation",
            ],
        },
    )


@pytest.fixture
def ram_weighed(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """The app ranking hosts by free RAM alone, so the test below knows the order."""
    yield from app_with_options(
        database_url, {("filter_scheduler", "weight_classes"): ["RAMWeigher"]}
    )


def _ok(resp: Any) -> Any:
    assert resp.status_code in (200, 201, 204), resp.text
    return resp.json() if resp.status_code != 204 else None


def _build_cloud(api: PlacementClient) -> dict[str, str]:
    """Hosts, zones and the gold aggregate; host -> root provider uuid."""
    providers: dict[str, str] = {}
    for n in range(HOSTS):
        host = f"h{n:03d}"
        inventories = {
            rc: {"total": total, "reserved": reserved, "allocation_ratio": ratio}
            for rc, (total, reserved, ratio) in KINDS[n % len(KINDS)].items()
        }
        providers[host] = compute_host(api, host, inventories)
    for name, zone, hosts in (("az1-hosts", "az1", AZ1), ("az2-hosts", "az2", AZ2)):
        agg = _ok(
            api.post(
                f"{ROOT}/aggregates", json={"aggregate": {"name": name, "availability_zone": zone}}
            )
        )["aggregate"]
        for host in hosts:
            _ok(
                api.post(f"{ROOT}/aggregates/{agg['id']}/action", json={"add_host": {"host": host}})
            )
    gold = _ok(api.post(f"{ROOT}/aggregates", json={"aggregate": {"name": "gold"}}))["aggregate"]
    for host in GOLD_HOSTS:
        _ok(api.post(f"{ROOT}/aggregates/{gold['id']}/action", json={"add_host": {"host": host}}))
    _ok(
        api.post(
            f"{ROOT}/aggregates/{gold['id']}/action",
            json={"set_metadata": {"metadata": {"filter_tenant_id": GOLD}}},
        )
    )
    return providers


def _create_group(api: PlacementClient, name: str, policy: str, max_per_host: int = 0) -> Group:
    body: dict[str, Any] = {"name": name, "policy": policy}
    if max_per_host:
        body["rules"] = {"max_server_per_host": max_per_host}
    row = _ok(api.post(f"{ROOT}/server_groups", json={"server_group": body}))["server_group"]
    return Group(row["id"], policy, max_per_host or 1)


@dataclass(frozen=True)
class Request:
    flavor: Flavor
    count: int
    project: str
    zone: str | None
    group: Group | None = None


def _requests(rng: random.Random, groups: list[Group]) -> list[Request]:
    """Requests totalling INSTANCES instances, group requests spread through them."""
    out: list[Request] = []
    total = 0
    group_turns = {g.uuid: 0 for g in groups}
    while total < INSTANCES:
        roll = rng.random()
        flavor = rng.choice(FLAVORS)
        if roll < 0.08 and groups:
            group = rng.choice(groups)
            if group_turns[group.uuid] >= 3:
                continue
            group_turns[group.uuid] += 1
            if group.policy == "affinity":
                count, flavor = rng.randint(1, 3), rng.choice(FLAVORS[:3])
            else:
                count = rng.randint(2, 10) if group.max_per_host == 1 else rng.randint(4, 10)
            request = Request(flavor, count, rng.choice(PROJECTS), None, group)
        else:
            count = rng.randint(2, 10) if roll < 0.2 else 1
            project = GOLD if rng.random() < 0.1 else rng.choice(PROJECTS)
            zone = rng.choice(("az1", "az2", None))
            request = Request(flavor, count, project, zone)
        count = min(request.count, INSTANCES - total)
        out.append(Request(request.flavor, count, request.project, request.zone, request.group))
        total += count
    return out


def _spec(scheduler: Scheduler, request: Request, index: int) -> RequestSpec:
    group: InstanceGroup | None = None
    hints: dict[str, tuple[str, ...]] = {}
    if request.group is not None:
        # Both ways a caller names a group: Nova's RequestSpec field, or the hint.
        if index % 2:
            group = scheduler.hosts.instance_group(request.group.uuid)
            assert group is not None
        else:
            hints["group"] = (request.group.uuid,)
    return RequestSpec(
        flavor=request.flavor,
        num_instances=request.count,
        project_id=request.project,
        user_id="u-" + request.project,
        availability_zone=request.zone,
        scheduler_hints=hints,
        instance_group=group,
    )


def _schedule(
    scheduler: Scheduler, requests: list[Request], providers: dict[str, str], callers: int
) -> Outcome:
    """Every request, from `callers` threads at once (the scheduler decides
    concurrent ones in rounds); the outcome is gathered in request order."""

    def call(index: int) -> tuple[list[str], list[list[Selection]] | NoValidHost]:
        request = requests[index]
        uuids = [str(uuid.uuid4()) for _ in range(request.count)]
        try:
            return uuids, scheduler.select_destinations(_spec(scheduler, request, index), uuids)
        except NoValidHost as exc:
            return uuids, exc

    with ThreadPoolExecutor(callers) as pool:
        answers = list(pool.map(call, range(len(requests))))
    outcome = Outcome()
    for request, (uuids, answer) in zip(requests, answers, strict=True):
        outcome.requests += 1
        if isinstance(answer, NoValidHost):
            assert "hosts available" in answer.explanation
            outcome.refused.extend(uuids)
            outcome.refused_requests += 1
            continue
        assert len(answer) == request.count
        for instance, choices in zip(uuids, answer, strict=True):
            chosen = choices[0]
            assert chosen.compute_node_uuid == providers[chosen.service_host]
            if request.zone is not None:
                assert chosen.availability_zone == request.zone
            outcome.placed[instance] = Placed(
                host=chosen.service_host,
                provider=chosen.compute_node_uuid,
                project=request.project,
                zone=request.zone,
                resources=_resources(request.flavor),
            )
            if request.group is not None:
                request.group.members.append(instance)
    return outcome


def _all_instances(api: PlacementClient) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    marker = ""
    while True:
        page = _ok(api.get(f"{ROOT}/instances?limit=1000{marker}"))["instances"]
        for row in page:
            assert row["uuid"] not in out
            out[row["uuid"]] = row
        if len(page) < 1000:
            return out
        marker = f"&marker={page[-1]['uuid']}"


@pytest.mark.parametrize("callers", [1, 16], ids=["one-by-one", "rounds"])
def test_thousand_instances_on_a_hundred_hosts(
    fleet: tuple[PlacementClient, Scheduler], callers: int
) -> None:
    api, scheduler = fleet
    rng = random.Random(SEED)
    providers = _build_cloud(api)
    groups = [
        *(_create_group(api, f"aff{n}", "affinity") for n in range(5)),
        *(_create_group(api, f"anti{n}", "anti-affinity") for n in range(5)),
        _create_group(api, "anti-two", "anti-affinity", max_per_host=2),
    ]
    # The groups were made after the scheduler last caught up with the store.
    scheduler.hosts.catch_up()
    requests = _requests(rng, groups)
    assert sum(r.count for r in requests) == INSTANCES
    assert any(r.count > 1 for r in requests if r.group is None)

    outcome = _schedule(scheduler, requests, providers, callers)

    placed = outcome.placed
    assert len(placed) + len(outcome.refused) == INSTANCES
    # The demand exceeds the cloud: most instances fit, the last ones do not.
    assert len(placed) >= INSTANCES * 0.7, (len(placed), outcome.refused_requests)
    assert outcome.refused, "the cloud never filled: the run proves less than it should"
    host_of_provider = {rp: host for host, rp in providers.items()}

    # Capacity, per provider and class, and usage = what its instances hold.
    expected_usage: dict[str, Counter[str]] = defaultdict(Counter)
    for where in placed.values():
        expected_usage[where.provider].update(where.resources)
    consumers_seen: set[str] = set()
    for host, rp in providers.items():
        inventories = _ok(api.get(f"/resource_providers/{rp}/inventories"))["inventories"]
        usages = _ok(api.get(f"/resource_providers/{rp}/usages"))["usages"]
        for rc, used in usages.items():
            inv = inventories[rc]
            capacity = int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
            assert used <= capacity, (host, rc, used, inv)
        assert {rc: n for rc, n in usages.items() if n} == dict(expected_usage[rp]), host
        allocations = _ok(api.get(f"/resource_providers/{rp}/allocations"))["allocations"]
        for consumer, alloc in allocations.items():
            # Every consumer is a recorded instance of this host, holding its flavor.
            assert consumer in placed, (host, consumer)
            assert placed[consumer].provider == rp
            assert alloc["resources"] == placed[consumer].resources
        consumers_seen.update(allocations)
    assert consumers_seen == set(placed)

    # The instance records are exactly the successes, where the Selection said.
    recorded = _all_instances(api)
    assert set(recorded) == set(placed)
    for instance, row in recorded.items():
        assert row["host"] == placed[instance].host
        assert row["provider_uuid"] == placed[instance].provider
        assert row["project_id"] == placed[instance].project
    # A refused request was given back whole: no record, no allocation.
    for instance in outcome.refused:
        assert api.get(f"{ROOT}/instances/{instance}").status_code == 404
        assert _ok(api.get(f"/allocations/{instance}"))["allocations"] == {}

    # Zones and the gold aggregate, as the aggregates API reports them.
    aggregates = {a["name"]: a for a in _ok(api.get(f"{ROOT}/aggregates"))["aggregates"]}
    zone_hosts = {
        a["availability_zone"]: set(a["hosts"])
        for a in aggregates.values()
        if a["availability_zone"]
    }
    assert zone_hosts == {"az1": set(AZ1), "az2": set(AZ2)}
    gold_hosts = set(aggregates["gold"]["hosts"])
    assert aggregates["gold"]["metadata"]["filter_tenant_id"] == GOLD
    for instance, where in placed.items():
        if where.zone is not None:
            assert where.host in zone_hosts[where.zone], (instance, where)
        assert (where.host in gold_hosts) == (where.project == GOLD), (instance, where)
    assert any(p.project == GOLD for p in placed.values())

    # Server groups: members as recorded, policies held.
    for group in groups:
        shown = _ok(api.get(f"{ROOT}/server_groups/{group.uuid}"))["server_group"]
        assert sorted(shown["members"]) == sorted(group.members), group.uuid
        hosts = Counter(placed[m].host for m in group.members)
        if group.policy == "affinity":
            assert len(hosts) <= 1, (group.uuid, hosts)
        else:
            assert max(hosts.values(), default=0) <= group.max_per_host, (group.uuid, hosts)
    assert any(len(g.members) > 1 for g in groups if g.policy == "affinity")
    assert {host_of_provider[p.provider] for p in placed.values()} <= set(providers)


def test_reserved_vcpus_count_while_filling_hosts(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    """Three RAM-rich hosts with 2 usable VCPUs each (10 total, 8 reserved) and
    one small host with 8: seven 1-VCPU instances in one request fit (6 + 1).

    The engine's room check for the later instances of a request must count
    VCPU `reserved`, as Placement does and as it already does for MEMORY_MB
    and DISK_GB; otherwise the three full hosts stay at the top of the
    ranking, their claims fail, max_attempts runs out, and the request gets
    NoValidHost with 8 VCPUs free on the fourth host.
    """
    api, scheduler = ram_weighed
    for name, vcpu, reserved, memory in (
        *((f"a{n}", 10, 8, 65536) for n in range(3)),
        ("d", 8, 0, 4096),
    ):
        compute_host(
            api, name, {"VCPU": {"total": vcpu, "reserved": reserved}, "MEMORY_MB": memory}
        )
    spec = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=128), num_instances=7)
    selections = scheduler.select_destinations(spec, [str(uuid.uuid4()) for _ in range(7)])
    hosts = Counter(choices[0].service_host for choices in selections)
    assert hosts == {"a0": 2, "a1": 2, "a2": 2, "d": 1}
