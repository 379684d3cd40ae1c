"""Capacity and unit rules of an inventory, as pure functions (no SQL).

Upstream Placement's definitions: the capacity a provider can hand out for
a class is `int((total - reserved) * allocation_ratio)`, and a single
allocation must lie within `min_unit..max_unit` and be a multiple of
`step_size`. Claims, inventory changes and the candidate search all use
these, so they agree on what fits.
"""

from __future__ import annotations


def capacity(total: int, reserved: int, allocation_ratio: float) -> int:
    """What can be allocated in all: int((total - reserved) * allocation_ratio)."""
    return int((total - reserved) * allocation_ratio)


def fits_units(amount: int, min_unit: int, max_unit: int, step_size: int) -> bool:
    """Whether one allocation of `amount` respects min_unit, max_unit and step_size."""
    return min_unit <= amount <= max_unit and amount % step_size == 0


def fits(amount: int, used: int, cap: int) -> bool:
    """Whether `amount` more fits next to `used` within capacity `cap`."""
    return used + amount <= cap
