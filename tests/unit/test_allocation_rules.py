"""Property tests of the claim check (`corral.placement.allocations.check_claims`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.placement.allocations import Claim, InvalidInventory, check_claims
from corral.store.allocations import InventoryLimits

KEYS = [(1, 0), (1, 1), (2, 0)]  # (provider id, class id)
NAMES = {0: "VCPU", 1: "MEMORY_MB"}


@st.composite
def limits(draw: st.DrawFn) -> InventoryLimits:
    total = draw(st.integers(1, 200))
    min_unit = draw(st.integers(1, 8))
    return InventoryLimits(
        total=total,
        reserved=draw(st.integers(0, total)),
        min_unit=min_unit,
        max_unit=draw(st.integers(min_unit, 300)),
        step_size=draw(st.integers(1, 4)),
        allocation_ratio=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 16.0])),
    )


@dataclass(frozen=True)
class Scenario:
    limits: dict[tuple[int, int], InventoryLimits]
    others: dict[tuple[int, int], int]  # usage by consumers the write does not touch
    mine_before: dict[tuple[int, int], int]  # what the written consumers held before
    claims: list[Claim]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    inventories = {k: draw(limits()) for k in KEYS if draw(st.booleans())}
    others = {k: draw(st.integers(0, 400)) for k in inventories if draw(st.booleans())}
    mine = {k: draw(st.integers(1, 100)) for k in inventories if draw(st.booleans())}
    claims = [
        Claim(
            consumer_uuid=draw(st.sampled_from(["c1", "c2"])),
            provider_id=k[0],
            provider_uuid=f"rp{k[0]}",
            class_id=k[1],
            class_name=NAMES[k[1]],
            used=draw(st.integers(0, 300)),
        )
        for k in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6))
    ]
    return Scenario(inventories, others, mine, claims)


def capacity(inv: InventoryLimits) -> int:
    return int((inv.total - inv.reserved) * inv.allocation_ratio)


def units_ok(inv: InventoryLimits, used: int) -> bool:
    return inv.min_unit <= used <= inv.max_unit and used % inv.step_size == 0


def oracle(s: Scenario) -> bool:
    """Upstream's rule, stated over the final totals."""
    class_ids = {c.class_id for c in s.claims}
    with_inventory = {p for (p, rc) in s.limits if rc in class_ids}
    if any(c.provider_id not in with_inventory for c in s.claims):
        return False
    wanted: dict[tuple[int, int], int] = {}
    for c in s.claims:
        key = (c.provider_id, c.class_id)
        wanted[key] = wanted.get(key, 0) + c.used
        if c.used == 0:
            continue
        inv = s.limits.get(key)
        if inv is None or not units_ok(inv, c.used):
            return False
    for key, amount in wanted.items():
        if amount == 0:
            continue
        base = s.others.get(key, 0)
        before = _before(s, key)
        fits = base + amount <= capacity(s.limits[key])
        no_worse = before is not None and base + amount <= before
        if not (fits or no_worse):
            return False
    return True


def _before(s: Scenario, key: tuple[int, int]) -> int | None:
    if key not in s.others and key not in s.mine_before:
        return None
    return s.others.get(key, 0) + s.mine_before.get(key, 0)


def run(s: Scenario) -> bool:
    before = {k: v for k in KEYS if (v := _before(s, k)) is not None}
    try:
        check_claims(s.claims, s.limits, dict(s.others), before)
    except InvalidInventory:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_check_matches_upstream_rule(s: Scenario) -> None:
    assert run(s) == oracle(s)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_accepted_claims_never_grow_usage_past_capacity(s: Scenario) -> None:
    """What is accepted fits, or leaves an over-full inventory no fuller."""
    if not run(s):
        return
    totals: dict[tuple[int, int], int] = {}
    for c in s.claims:
        key = (c.provider_id, c.class_id)
        totals[key] = totals.get(key, 0) + c.used
    for key, amount in totals.items():
        if amount == 0:
            continue
        after = s.others.get(key, 0) + amount
        before = _before(s, key) or 0
        assert after <= max(capacity(s.limits[key]), before)


def _claim(used: int, provider: int = 1, rc: int = 0) -> Claim:
    return Claim("c1", provider, f"rp{provider}", rc, NAMES[rc], used)


INV = InventoryLimits(
    total=10, reserved=2, min_unit=2, max_unit=6, step_size=2, allocation_ratio=1.5
)


@pytest.mark.parametrize(
    ("claims", "used", "message"),
    [
        ([_claim(4), _claim(4)], 0, None),  # 8 <= int(8 * 1.5) == 12
        ([_claim(6), _claim(6)], 2, "exceed the capacity"),
        ([_claim(3)], 0, "violate inventory constraints"),
        ([_claim(8)], 0, "violate inventory constraints"),
        ([_claim(1, rc=1)], 0, "Inventory for 'MEMORY_MB' on resource provider 'rp1' invalid."),
        ([_claim(2, provider=2)], 0, "Inventory for 'VCPU' on resource provider 'rp2' invalid."),
        # Giving everything back never needs inventory rules.
        ([_claim(0)], 50, None),
    ],
)
def test_examples(claims: list[Claim], used: int, message: str | None) -> None:
    limits_ = {(1, 0): INV}
    if message is None:
        check_claims(claims, limits_, {(1, 0): used}, {(1, 0): used})
        return
    with pytest.raises(InvalidInventory) as exc:
        check_claims(claims, limits_, {(1, 0): used}, {(1, 0): used})
    assert message in exc.value.detail
