"""corral.store.capacity: one rule, the same in its scalar and its numpy form,
and the same decisions as upstream's untruncated comparisons."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.placement.index.columns import ResourceColumn
from corral.store.capacity import capacities, capacity, fits
from tests.unit.scheduler_fixtures import make_batch

# What an inventory may hold: upstream's schema bounds total, reserved and the
# ratio; reserved may exceed total in stored rows only through older releases.
totals = st.integers(min_value=0, max_value=2**31)
ratios = st.floats(min_value=0.0, max_value=65535.0, allow_nan=False, width=32)
inventory = st.tuples(totals, totals, ratios)


def test_capacity_truncates_like_upstream_inventory_capacity() -> None:
    assert capacity(10, 2, 1.5) == 12
    assert capacity(3, 0, 0.5) == 1  # 1.5 -> 1
    assert capacity(1, 2, 0.5) == 0  # -0.5 -> 0, toward zero as int()
    assert capacity(1, 3, 1.0) == -2


@settings(max_examples=300, deadline=None)
@given(st.lists(inventory, min_size=1, max_size=40))
def test_capacities_is_capacity_elementwise(rows: list[tuple[int, int, float]]) -> None:
    total = np.array([r[0] for r in rows], dtype=np.int64)
    reserved = np.array([r[1] for r in rows], dtype=np.int64)
    ratio = np.array([r[2] for r in rows], dtype=np.float64)
    got = capacities(total, reserved, ratio)
    assert got.dtype == np.int64
    assert got.tolist() == [capacity(t, r, a) for t, r, a in rows]


@settings(max_examples=300, deadline=None)
@given(inventory, st.integers(min_value=0, max_value=2**32), st.integers(1, 2**32))
def test_truncated_capacity_decides_as_upstreams_float_compare(
    inv: tuple[int, int, float], used: int, amount: int
) -> None:
    total, reserved, ratio = inv
    # allocation._check_capacity_exceeded and the candidate SQL compare with the
    # untruncated product; the amount of a checked allocation is at least 1.
    assert fits(amount, used, capacity(total, reserved, ratio)) == (
        used + amount <= (total - reserved) * ratio
    )


def test_index_column_loads_and_sets_the_same_capacity() -> None:
    fields: dict[str, npt.NDArray[np.generic]] = {
        "total": np.array([10, 3, 7], dtype=np.int64),
        "reserved": np.array([2, 0, 7], dtype=np.int64),
        "min_unit": np.ones(3, dtype=np.int64),
        "max_unit": np.full(3, 100, dtype=np.int64),
        "step_size": np.ones(3, dtype=np.int64),
        "ratio": np.array([1.5, 0.5, 16.0]),
    }
    loaded = ResourceColumn(0, 3)
    loaded.load(np.arange(3, dtype=np.intp), fields)
    one_by_one = ResourceColumn(0, 3)
    for p in range(3):
        one_by_one.set_inventory(
            p,
            total=int(fields["total"][p]),
            reserved=int(fields["reserved"][p]),
            min_unit=1,
            max_unit=100,
            step_size=1,
            ratio=float(fields["ratio"][p]),
        )
    assert loaded.capacity[:3].tolist() == one_by_one.capacity[:3].tolist() == [12, 1, 0]
    assert [loaded.capacity_used(p) for p in range(3)] == [(12, 0), (1, 0), (0, 0)]


def test_host_batch_uses_the_same_rule() -> None:
    batch = make_batch(
        [
            {"vcpus_total": 3, "cpu_allocation_ratio": 0.5, "vcpus_used": 0},
            {"vcpus_total": 10, "vcpus_reserved": 2, "cpu_allocation_ratio": 1.5, "vcpus_used": 5},
        ]
    )
    assert [batch.fits(0, {"VCPU": n}) for n in (1, 2)] == [True, False]
    assert [batch.fits(1, {"VCPU": n}) for n in (7, 8)] == [True, False]
    # Classes the batch does not carry are the claim's to check.
    assert batch.fits(0, {"VCPU": 1, "CUSTOM_GPU": 99})
