"""Concurrent select_destinations calls decided in rounds, on both backends.

Identical single-instance requests share one search and their claims land in
one transaction; a claim another writer beat in the meantime is decided
again on its own and lands elsewhere. (The fleet and concurrency tests run
whole clouds through rounds and check every invariant afterwards.)
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import REGISTRY

from corral.placement import allocations as allocation_writes
from corral.scheduler.engine import Scheduler
from corral.scheduler.spec import Flavor, NoValidHost, RequestSpec
from corral.scheduler.stages import claim
from tests.conftest import PlacementClient
from tests.functional.placement_rows import allocate
from tests.functional.scheduler_rows import ROOT, compute_host
from tests.functional.served_app import app_with_options

FLAVOR = Flavor(vcpus=1, memory_mb=1024, root_gb=10, name="small", flavorid="1")


@pytest.fixture
def ram_weighed(database_url: str) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """Hosts ranked by free RAM alone, so the test knows which host is first."""
    yield from app_with_options(
        database_url, {("filter_scheduler", "weight_classes"): ["RAMWeigher"]}
    )


def hosts(
    api: PlacementClient, sizes: dict[str, dict[str, int | dict[str, Any]]]
) -> dict[str, str]:
    return {name: compute_host(api, name, inventory) for name, inventory in sizes.items()}


def spec(instance: str) -> RequestSpec:
    return RequestSpec(flavor=FLAVOR, project_id="p1", user_id="u1", instance_uuid=instance)


def rounds_seen() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("corral_scheduler_round_size_count") or 0.0
    total = REGISTRY.get_sample_value("corral_scheduler_round_size_sum") or 0.0
    return count, total


def test_identical_requests_are_decided_together(
    ram_weighed: tuple[PlacementClient, Scheduler],
) -> None:
    api, scheduler = ram_weighed
    # Room for 4 + 4 + 4 instances of the flavor (VCPU binds).
    cloud = hosts(
        api, {f"cmp{n}": {"VCPU": 4, "MEMORY_MB": 16384, "DISK_GB": 100} for n in range(3)}
    )
    scheduler.hosts.catch_up()
    start = threading.Barrier(16)
    before = rounds_seen()

    def call(n: int) -> tuple[str, Any]:
        instance = str(uuid.uuid4())
        if n < 16:
            start.wait()
        try:
            return instance, scheduler.select_destinations(spec(instance), [instance])
        except NoValidHost as exc:
            return instance, exc

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(call, range(20)))
    count, total = (now - then for now, then in zip(rounds_seen(), before, strict=True))
    assert total == 20
    assert count < 20, "every request was decided alone"

    placed = {i: a[0][0].service_host for i, a in answers if not isinstance(a, NoValidHost)}
    refused = [i for i, a in answers if isinstance(a, NoValidHost)]
    assert len(placed) == 12 and len(refused) == 8
    # Each chosen host's room was consumed before the next choice: 4 per host.
    assert Counter(placed.values()) == {"cmp0": 4, "cmp1": 4, "cmp2": 4}
    for instance, host in placed.items():
        allocations = api.get(f"/allocations/{instance}").json()["allocations"]
        assert {rp: a["resources"] for rp, a in allocations.items()} == {
            cloud[host]: {"VCPU": 1, "MEMORY_MB": 1024, "DISK_GB": 10}
        }
        assert api.get(f"{ROOT}/instances/{instance}").json()["instance"]["host"] == host
    for instance in refused:
        assert api.get(f"{ROOT}/instances/{instance}").status_code == 404
        assert api.get(f"/allocations/{instance}").json()["allocations"] == {}


def test_a_claim_beaten_in_its_round_is_decided_again(
    ram_weighed: tuple[PlacementClient, Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, scheduler = ram_weighed
    cloud = hosts(
        api,
        {
            "big": {"VCPU": 2, "MEMORY_MB": 32768, "DISK_GB": 100},
            "small": {"VCPU": 2, "MEMORY_MB": 8192, "DISK_GB": 100},
        },
    )
    scheduler.hosts.catch_up()
    rival: list[str] = []
    run_write = allocation_writes.run_write

    def beaten_once(db: Any, retries: int, work: Any) -> Any:
        # Another writer fills `big` after the round chose it, before its claim.
        if not rival:
            rival.append(allocate(api, cloud["big"], {"VCPU": 2}))
        return run_write(db, retries, work)

    monkeypatch.setattr(claim, "run_write", beaten_once)
    instance = str(uuid.uuid4())
    [[chosen, *_alternates]] = scheduler.select_destinations(spec(instance), [instance])

    assert rival, "the round never claimed"
    assert chosen.service_host == "small"
    assert set(api.get(f"/allocations/{instance}").json()["allocations"]) == {cloud["small"]}
    big = api.get(f"/resource_providers/{cloud['big']}/allocations").json()["allocations"]
    assert set(big) == set(rival)
    assert api.get(f"{ROOT}/instances/{instance}").json()["instance"]["host"] == "small"
