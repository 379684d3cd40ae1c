"""Moves, rebuilds and claim walks, on both backends, as Nova 34 decides them.

- a rebuild with a new image (`_nova_check_type` rebuild) asks Placement
  nothing and claims nothing: only the RUN_ON_REBUILD filters judge the
  instance's own host (nova.scheduler.manager select_destinations);
- a claim for a consumer that holds allocations (an evacuation) doubles
  them up: the source stays, the destination is added, under the consumer
  generation read (nova.scheduler.client.report claim_resources); a
  consumer changed meanwhile fails the request (AllocationUpdateFailed);
- claims walk the whole ranking until one lands, and alternates leave out
  every host the request chose (SchedulerManager._schedule,
  _get_alternate_hosts);
- a server group, same_host/different_host hints or a destination host with
  several nodes lift `max_placement_results` (`res_req._limit = None`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from corral.compute.instances import PlacedInstance, record_placed
from corral.scheduler.engine import Scheduler
from corral.scheduler.spec import Destination, Flavor, Image, NoValidHost, RequestSpec
from corral.scheduler.stages.claim import Claimer
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.placement_rows import allocate
from tests.functional.scheduler_rows import ROOT, compute_host, create_provider, register
from tests.functional.served_app import app_with_options

FLAVOR = Flavor(vcpus=2, memory_mb=2048, root_gb=10, name="m1.small", flavorid="2")
TAKEN = {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}


def room(ram_mb: int, vcpus: int = 8) -> dict[str, int]:
    return {"VCPU": vcpus, "MEMORY_MB": ram_mb, "DISK_GB": 100}


def app(database_url: str, **options: Any) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """Hosts ranked by free RAM alone, so a test knows which host is first."""
    overrides: dict[tuple[str, str], Any] = {("filter_scheduler", "weight_classes"): ["RAMWeigher"]}
    for key, value in options.items():
        group, name = key.split("__")
        overrides[(group, name)] = value
    yield from app_with_options(database_url, overrides)


@pytest.fixture
def ram_weighed(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    yield from app(database_url)


def spec(**fields: Any) -> RequestSpec:
    return RequestSpec(**{"flavor": FLAVOR, "project_id": "p1", "user_id": "u1", **fields})


def place(scheduler: Scheduler, instance: str, **fields: Any) -> list[str]:
    """Schedule the instance; its chosen host, then its alternates."""
    [chosen] = scheduler.select_destinations(spec(instance_uuid=instance, **fields), [instance])
    return [s.service_host for s in chosen]


def allocations(api: PlacementClient, consumer: str) -> tuple[dict[str, Any], int | None]:
    body = api.get(f"/allocations/{consumer}").json()
    held = {rp: part["resources"] for rp, part in body["allocations"].items()}
    return held, body.get("consumer_generation")


def usage(api: PlacementClient, rp: str) -> dict[str, int]:
    return dict(api.get(f"/resource_providers/{rp}/usages").json()["usages"])


def recorded_host(api: PlacementClient, instance: str) -> str:
    resp = api.get(f"{ROOT}/instances/{instance}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["instance"]["host"])


# --- rebuild -----------------------------------------------------------------


def rebuild(host: str, instance: str, image: Image | None = None) -> RequestSpec:
    """The spec Nova's compute API sends for a rebuild with a new image."""
    return spec(
        instance_uuid=instance,
        image=image or Image(id="new-image"),
        scheduler_hints={"_nova_check_type": ("rebuild",)},
        force_hosts=(host,),
        force_nodes=(host,),
    )


def test_rebuild_on_a_full_host_claims_nothing(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    # Room for exactly one instance of the flavor.
    rp = compute_host(api, "cmp1", room(2048, vcpus=2))
    compute_host(api, "cmp2", room(8192))
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    assert place(scheduler, instance, ignore_hosts=("cmp2",))[0] == "cmp1"
    before = allocations(api, instance), usage(api, rp)

    [[chosen]] = scheduler.select_destinations(
        rebuild("cmp1", instance), [instance], return_alternates=False
    )
    assert (chosen.service_host, chosen.nodename, chosen.compute_node_uuid) == ("cmp1", "cmp1", rp)
    assert chosen.allocation_request is None
    # Nothing written: not the allocations, not the consumer generation.
    assert (allocations(api, instance), usage(api, rp)) == before
    assert recorded_host(api, instance) == "cmp1"


def test_rebuild_runs_only_the_rebuild_filters(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    rp = create_provider(api, "cmp1", room(8192))
    register(api, "cmp1", rp, supported_instances=[["x86_64", "kvm", "hvm"]])
    # ComputeFilter does not run on rebuild: a disabled host still answers.
    resp = api.put(f"{ROOT}/hosts/cmp1/service", json={"disabled": True})
    assert resp.status_code in (200, 204), resp.text
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    with pytest.raises(NoValidHost):
        place(scheduler, instance)
    [[chosen]] = scheduler.select_destinations(rebuild("cmp1", instance), [instance])
    assert (chosen.service_host, chosen.allocation_request) == ("cmp1", None)
    # ImagePropertiesFilter does: an image for another architecture fits nowhere.
    arm = Image(id="arm-image", properties={"hw_architecture": "aarch64"})
    with pytest.raises(NoValidHost):
        scheduler.select_destinations(rebuild("cmp1", instance, arm), [instance])
    assert allocations(api, instance) == ({}, None)


# --- evacuate: the doubled-up claim ------------------------------------------------


def test_evacuate_doubles_up_the_allocations(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    source = compute_host(api, "cmp1", room(16384))
    dest = compute_host(api, "cmp2", room(8192))
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    assert place(scheduler, instance)[0] == "cmp1"
    _, generation = allocations(api, instance)
    source_usage = usage(api, source)

    # Nova's conductor evacuates with the source host in ignore_hosts.
    chosen = place(scheduler, instance, ignore_hosts=("cmp1",))
    assert chosen[0] == "cmp2"
    held, after = allocations(api, instance)
    assert held == {source: TAKEN, dest: TAKEN}
    assert generation is not None and after == generation + 1
    assert usage(api, source) == source_usage
    assert usage(api, dest) == TAKEN
    # The instance stays on its source until the compute reports the move.
    assert recorded_host(api, instance) == "cmp1"


def test_a_doubled_up_claim_still_checks_capacity(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    source = compute_host(api, "cmp1", room(16384))
    # Placement offers cmp2, but its room goes before the claim: cmp3 is taken.
    full = compute_host(api, "cmp2", room(8192))
    dest = compute_host(api, "cmp3", room(4096))
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    assert place(scheduler, instance)[0] == "cmp1"
    real_held = Claimer.held
    calls = []

    def fill_then_read(self: Claimer, uuid_: str) -> Any:
        if not calls:
            allocate(api, full, {"VCPU": 8})
        calls.append(uuid_)
        return real_held(self, uuid_)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Claimer, "held", fill_then_read)
        chosen = place(scheduler, instance, ignore_hosts=("cmp1",))
    assert chosen[0] == "cmp3"
    assert allocations(api, instance)[0] == {source: TAKEN, dest: TAKEN}
    assert usage(api, full)["VCPU"] == 8


def test_a_consumer_changed_during_the_claim_fails_the_request(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    source = compute_host(api, "cmp1", room(16384))
    dest = compute_host(api, "cmp2", room(8192))
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    assert place(scheduler, instance)[0] == "cmp1"
    real_held = Claimer.held

    def read_then_race(self: Claimer, uuid_: str) -> Any:
        seen = real_held(self, uuid_)
        # Another writer changes the consumer after the read (a new generation).
        _, generation = allocations(api, uuid_)
        resp = api.put(
            f"/allocations/{uuid_}",
            json={
                "allocations": {source: {"resources": {"VCPU": 1, "MEMORY_MB": 1024}}},
                "project_id": "p1",
                "user_id": "u1",
                "consumer_generation": generation,
                "consumer_type": "INSTANCE",
            },
        )
        assert resp.status_code == 204, resp.text
        return seen

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Claimer, "held", read_then_race)
        with pytest.raises(NoValidHost, match="Failed to update allocations"):
            place(scheduler, instance, ignore_hosts=("cmp1",))
    # The other writer's allocations stand; nothing went to the destination.
    assert allocations(api, instance)[0] == {source: {"VCPU": 1, "MEMORY_MB": 1024}}
    assert usage(api, dest)["VCPU"] == 0


def test_a_failed_request_gives_a_moving_instance_its_source_back(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    source = compute_host(api, "cmp1", room(16384))
    dest = compute_host(api, "cmp2", room(8192, vcpus=2))
    scheduler.hosts.catch_up()
    moving, new = str(uuid.uuid4()), str(uuid.uuid4())
    assert place(scheduler, moving)[0] == "cmp1"
    # Two instances, the second finds no room: the first's claim is given back.
    request = spec(ignore_hosts=("cmp1",))
    with pytest.raises(NoValidHost):
        scheduler.select_destinations(request, [moving, new])
    assert allocations(api, moving)[0] == {source: TAKEN}
    assert usage(api, dest)["VCPU"] == 0
    assert allocations(api, new) == ({}, None)
    assert recorded_host(api, moving) == "cmp1"


# --- walking the ranking, alternates ----------------------------------------------


@pytest.fixture
def one_attempt(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    yield from app(database_url, scheduler__max_attempts=1)


def test_claims_walk_past_max_attempts(one_attempt: tuple[PlacementClient, Scheduler]) -> None:
    api, scheduler = one_attempt
    first = compute_host(api, "cmp1", room(16384))
    compute_host(api, "cmp2", room(8192))
    scheduler.hosts.catch_up()
    real_held = Claimer.held

    def fill_first(self: Claimer, uuid_: str) -> Any:
        # Another process fills cmp1 after the search saw it empty.
        if usage(api, first)["VCPU"] == 0:
            allocate(api, first, {"VCPU": 8})
        return real_held(self, uuid_)

    instances = [str(uuid.uuid4()), str(uuid.uuid4())]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Claimer, "held", fill_first)
        answer = scheduler.select_destinations(spec(), instances)
    # Each instance's claim on cmp1 (best by the search's figures) is refused,
    # and the walk goes on to cmp2 although max_attempts is 1.
    assert [[s.service_host for s in chosen] for chosen in answer] == [["cmp2"], ["cmp2"]]
    assert [recorded_host(api, i) for i in instances] == ["cmp2", "cmp2"]


def test_alternates_leave_out_every_chosen_host(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    for n, ram in enumerate((16000, 15000, 14000, 13000)):
        compute_host(api, f"cmp{n}", room(ram))
    scheduler.hosts.catch_up()
    instances = [str(uuid.uuid4()), str(uuid.uuid4())]
    flavor = dataclasses.replace(FLAVOR, memory_mb=4096)
    answer = scheduler.select_destinations(spec(flavor=flavor), instances)
    hosts = [[s.service_host for s in chosen] for chosen in answer]
    # cmp0 for the first (16000 free), then cmp1 (15000 beats cmp0's 11904).
    assert hosts == [["cmp0", "cmp2", "cmp3"], ["cmp1", "cmp2", "cmp3"]]


# --- unlimited allocation candidates ------------------------------------------------


@pytest.fixture
def one_candidate(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    yield from app(
        database_url,
        scheduler__max_placement_results=1,
        filter_scheduler__enabled_filters=[
            "ComputeFilter",
            "ServerGroupAffinityFilter",
            "SameHostFilter",
        ],
    )


def test_a_group_lifts_the_candidate_limit(
    one_candidate: tuple[PlacementClient, Scheduler], database: Database
) -> None:
    api, scheduler = one_candidate
    compute_host(api, "cmp1", room(8192))
    compute_host(api, "cmp2", room(8192))
    resp = api.post(
        f"{ROOT}/server_groups", json={"server_group": {"name": "web", "policy": "affinity"}}
    )
    assert resp.status_code == 200, resp.text
    group = resp.json()["server_group"]["id"]
    member = str(uuid.uuid4())
    record_placed(database, [PlacedInstance(member, "cmp2", "cmp2", "p1", "u1")], group)
    scheduler.hosts.catch_up()
    # Without a hint one candidate comes back, and it is not the member's host.
    assert place(scheduler, str(uuid.uuid4())) == ["cmp1"]
    assert place(scheduler, str(uuid.uuid4()), scheduler_hints={"group": (group,)}) == ["cmp2"]
    same = {"same_host": (member,)}
    assert place(scheduler, str(uuid.uuid4()), scheduler_hints=same) == ["cmp2"]


def test_a_destination_with_several_nodes_lifts_the_candidate_limit(
    one_candidate: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = one_candidate
    compute_host(api, "cmp1", room(8192))
    for node in ("node-a", "node-b"):
        register(api, "ironic", create_provider(api, node, room(8192)), node=node)
    assert api.post(f"{ROOT}/hosts/ironic/heartbeat").status_code in (200, 204)
    scheduler.hosts.catch_up()
    instance = str(uuid.uuid4())
    [chosen] = scheduler.select_destinations(
        spec(requested_destination=Destination(host="ironic")), [instance]
    )
    # Both nodes were offered: one chosen, the other its alternate.
    assert {(s.service_host, s.nodename) for s in chosen} == {
        ("ironic", "node-a"),
        ("ironic", "node-b"),
    }


# --- cells ----------------------------------------------------------------------

CELL1, CELL2 = str(uuid.uuid4()), str(uuid.uuid4())


def test_a_move_stays_in_the_requested_cell(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    for name, ram, cell in (("cmp1", 16384, CELL1), ("cmp2", 8192, CELL2), ("cmp3", 4096, CELL2)):
        register(api, name, create_provider(api, name, room(ram)), cell_uuid=cell)
        assert api.post(f"{ROOT}/hosts/{name}/heartbeat").status_code in (200, 204)
    scheduler.hosts.catch_up()
    # cmp1 is best, but the move may not leave cell 2: nor may its alternates.
    in_cell2 = Destination(cell_uuid=CELL2)
    assert place(scheduler, str(uuid.uuid4()), requested_destination=in_cell2) == [
        "cmp2",
        "cmp3",
    ]
    crossing = Destination(cell_uuid=CELL2, allow_cross_cell_move=True)
    assert place(scheduler, str(uuid.uuid4()), requested_destination=crossing)[0] == "cmp1"
