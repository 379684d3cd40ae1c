"""Capacity and unit rules of an inventory, as pure functions (no SQL).

The one capacity rule, upstream Placement's: what a provider can hand out for a
class is `int((total - reserved) * allocation_ratio)`, truncated toward zero as
upstream's `Inventory.capacity` (objects/inventory.py, checked by the inventory
handlers) and its provider summaries (`allocation_candidate._build_provider_summaries`)
do. Upstream's claim check (`allocation._check_capacity_exceeded`) and candidate
SQL (`research_context._capacity_check_clause`) compare `used + amount` with the
untruncated product instead; since `used + amount` is a whole number of at least
1 there, "<= x" and "<= int(x)" agree, so one truncated figure serves all of
them. `capacity` is the rule for one inventory, `capacities` the same rule (same
truncation) over numpy arrays, for the in-memory index and the scheduler's
batches. A single allocation must also lie within `min_unit..max_unit` and be a
multiple of `step_size`. Claims, inventory changes and the candidate search all
use these, so they agree on what fits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def capacity(total: int, reserved: int, allocation_ratio: float) -> int:
    """What can be allocated in all: int((total - reserved) * allocation_ratio)."""
    return int((total - reserved) * allocation_ratio)


def capacities(total: IntArray, reserved: IntArray, allocation_ratio: FloatArray) -> IntArray:
    """`capacity` element-wise: truncated toward zero like int(), as int64."""
    return np.trunc((total - reserved) * allocation_ratio).astype(np.int64)


def fits_units(amount: int, min_unit: int, max_unit: int, step_size: int) -> bool:
    """Whether one allocation of `amount` respects min_unit, max_unit and step_size."""
    return min_unit <= amount <= max_unit and amount % step_size == 0


def fits(amount: int, used: int, cap: int) -> bool:
    """Whether `amount` more fits next to `used` within capacity `cap`."""
    return used + amount <= cap
