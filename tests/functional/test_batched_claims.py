"""Claims of many new consumers in one transaction (the scheduler's rounds), on
both backends: each claim is accepted or refused on its own, first come first
served, and nothing refused leaves a trace."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.errors import BadRequest
from corral.placement.allocations import ConsumerWrite, InvalidInventory, ResourceClassNotFound
from corral.placement.batched_claims import BatchOutcome, ConsumerExists, claim_each_in
from corral.placement.consumers import ConsumerSpec, Defaults, resolve_owners
from corral.store import tables
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.placement_rows import allocate, create_rp, generation, put_inventories

DEFAULTS = Defaults("p0", "u0")


def write(provider: str, vcpus: int, consumer: str | None = None) -> ConsumerWrite:
    spec = ConsumerSpec(
        uuid=consumer or str(uuid.uuid4()),
        project_id="p1",
        user_id="u1",
        consumer_type="INSTANCE",
    )
    return ConsumerWrite(spec, {provider: {"VCPU": vcpus}})


def claim(db: Database, writes: list[ConsumerWrite]) -> BatchOutcome:
    owners = resolve_owners(db, [w.consumer for w in writes], DEFAULTS)
    with db.write() as conn:
        return claim_each_in(conn, writes, owners)


def vcpu_used(api: PlacementClient, rp: str) -> int:
    resp = api.get(f"/resource_providers/{rp}/usages")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["usages"].get("VCPU", 0))


@pytest.fixture
def host(api: PlacementClient) -> str:
    """A provider with room for 4 VCPU: (6 - 2 reserved) x 1.0."""
    rp = create_rp(api, "cmp1")
    resp = put_inventories(api, rp, 0, {"VCPU": {"total": 6, "reserved": 2, "max_unit": 3}})
    assert resp.status_code == 200, resp.text
    return rp


def test_claims_land_until_the_provider_is_full(
    api: PlacementClient, database: Database, host: str
) -> None:
    writes = [write(host, 1), write(host, 2), write(host, 2), write(host, 1)]
    before = generation(api, host)
    outcome = claim(database, writes)
    uuids = [w.consumer.uuid for w in writes]
    # 1 + 2 fit; the next 2 would make 5 > 4 and is refused; the last 1 still fits.
    assert outcome.accepted == [uuids[0], uuids[1], uuids[3]]
    assert set(outcome.refused) == {uuids[2]}
    assert isinstance(outcome.refused[uuids[2]], InvalidInventory)
    assert "would exceed the capacity" in str(outcome.refused[uuids[2]])
    assert vcpu_used(api, host) == 4
    assert generation(api, host) > before
    for uuid_, landed in zip(uuids, (True, True, False, True), strict=True):
        resp = api.get(f"/allocations/{uuid_}")
        allocations = resp.json()["allocations"]
        if landed:
            assert allocations[host]["resources"] == {"VCPU": writes[uuids.index(uuid_)]
                                                      .allocations[host]["VCPU"]}  # fmt: skip
            assert resp.json()["consumer_generation"] == 1
        else:
            assert allocations == {}


def test_each_bad_claim_is_refused_alone(
    api: PlacementClient, database: Database, host: str
) -> None:
    held = allocate(api, host, {"VCPU": 1})
    missing_provider = str(uuid.uuid4())
    existing = write(host, 1, consumer=held)
    unknown_class = write(host, 1)
    unknown_class.allocations[host] = {"CUSTOM_NOPE": 1}
    too_big = write(host, 4)  # max_unit 3
    good = write(host, 3)
    writes = [existing, write(missing_provider, 1), unknown_class, too_big, good]
    outcome = claim(database, writes)
    assert outcome.accepted == [good.consumer.uuid]
    refused = outcome.refused
    assert isinstance(refused[held], ConsumerExists)
    assert isinstance(refused[writes[1].consumer.uuid], BadRequest)
    assert isinstance(refused[unknown_class.consumer.uuid], ResourceClassNotFound)
    assert "inventory constraints" in str(refused[too_big.consumer.uuid])
    # The existing consumer kept what it had; the good claim landed.
    assert api.get(f"/allocations/{held}").json()["allocations"][host]["resources"] == {"VCPU": 1}
    assert vcpu_used(api, host) == 4


def test_a_consumer_named_twice_is_a_programming_error(database: Database, host: str) -> None:
    twice = write(host, 1)
    with pytest.raises(ValueError, match="twice"):
        claim(database, [twice, write(host, 1, consumer=twice.consumer.uuid)])


# --- the rule, checked against a reference over random inventories and claims --------

inventories = st.lists(
    st.tuples(
        st.integers(1, 16),  # total
        st.integers(0, 4),  # reserved
        st.sampled_from([1.0, 1.5, 2.0]),  # allocation ratio
        st.integers(1, 2),  # min unit
        st.integers(1, 16),  # max unit
        st.integers(1, 2),  # step size
    ).filter(lambda inv: inv[1] <= inv[0] and inv[3] <= inv[4]),
    min_size=3,
    max_size=3,
)
claims = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 8)), min_size=1, max_size=12)


def expected(
    invs: list[tuple[int, int, float, int, int, int]], asked: list[tuple[int, int]]
) -> list[bool]:
    """First come, first served under Placement's rules."""
    used = [0, 0, 0]
    out = []
    for provider, amount in asked:
        total, reserved, ratio, min_unit, max_unit, step = invs[provider]
        fits = (
            min_unit <= amount <= max_unit
            and amount % step == 0
            and used[provider] + amount <= int((total - reserved) * ratio)
        )
        if fits:
            used[provider] += amount
        out.append(fits)
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(invs=inventories, asked=claims)
def test_batches_follow_the_rules_in_order(
    api: PlacementClient,
    database: Database,
    invs: list[tuple[int, int, float, int, int, int]],
    asked: list[tuple[int, int]],
) -> None:
    with database.write() as conn:
        conn.execute(tables.allocations.delete())
        conn.execute(tables.consumers.delete())
    providers = []
    for i, (total, reserved, ratio, min_unit, max_unit, step) in enumerate(invs):
        name = f"prop{i}"
        found = api.get("/resource_providers", params={"name": name}).json()["resource_providers"]
        rp = found[0]["uuid"] if found else create_rp(api, name)
        inventory = {"total": total, "reserved": reserved, "allocation_ratio": ratio,
                     "min_unit": min_unit, "max_unit": max_unit, "step_size": step}  # fmt: skip
        resp = put_inventories(api, rp, generation(api, rp), {"VCPU": inventory})
        assert resp.status_code == 200, resp.text
        providers.append(rp)
    writes = [write(providers[p], amount) for p, amount in asked]
    outcome = claim(database, writes)
    landed = set(outcome.accepted)
    assert [w.consumer.uuid in landed for w in writes] == expected(invs, asked)
    assert landed.isdisjoint(outcome.refused)
    assert len(landed) + len(outcome.refused) == len(writes)
    for rp, (total, reserved, ratio, *_units) in zip(providers, invs, strict=True):
        assert vcpu_used(api, rp) <= int((total - reserved) * ratio)
