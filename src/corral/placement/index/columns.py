"""Inventory and usage of one resource class, as parallel numpy arrays.

One entry per provider that has (or had) inventory or allocations of the
class; `slot_of[provider]` finds a provider's entry. Entries are never moved,
so a provider's position stays valid for the life of the index; an entry
whose inventory went away has `live` False but keeps its usage (a reader can
see allocations before the inventory that goes with them).

The capacity check runs on every search, so the column keeps what makes it
cheap: `capacity` per entry, by the one rule (corral.store.capacity: upstream's
int((total - reserved) * allocation_ratio)) so the check is an integer compare, and the
column-wide extremes of min_unit, max_unit and step_size, so that the unit
rules are only evaluated per entry when some entry could fail them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from corral.store.capacity import capacities, capacity

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class ResourceColumn:
    _INT_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "used", "capacity")
    _FLOAT_FIELDS = ("ratio",)

    def __init__(self, rc_id: int, providers: int = 0) -> None:
        self.rc_id = rc_id
        self.count = 0
        size = 16
        self.slot_of: npt.NDArray[np.int32] = np.full(max(providers, 16), -1, dtype=np.int32)
        self.provider: npt.NDArray[np.int32] = np.zeros(size, dtype=np.int32)
        self.total: IntArray = np.zeros(size, dtype=np.int64)
        self.reserved: IntArray = np.zeros(size, dtype=np.int64)
        self.min_unit: IntArray = np.zeros(size, dtype=np.int64)
        self.max_unit: IntArray = np.zeros(size, dtype=np.int64)
        self.step_size: IntArray = np.ones(size, dtype=np.int64)
        self.used: IntArray = np.zeros(size, dtype=np.int64)
        self.ratio: npt.NDArray[np.float64] = np.ones(size, dtype=np.float64)
        self.capacity: IntArray = np.zeros(size, dtype=np.int64)
        self.live: BoolArray = np.zeros(size, dtype=np.bool_)
        self.live_count = 0
        # True while entry i belongs to provider slot i (a cloud loaded in
        # order): then a mask over entries is a mask over slots.
        self.aligned = True
        self._bounds: tuple[int, int, int] | None = None

    # --- shape ---------------------------------------------------------------

    def ensure_providers(self, providers: int) -> None:
        have = len(self.slot_of)
        if providers > have:
            grown = np.full(max(providers, have * 2), -1, dtype=np.int32)
            grown[:have] = self.slot_of
            self.slot_of = grown

    def _reserve(self, entries: int) -> None:
        if entries <= len(self.provider):
            return
        size = max(entries, len(self.provider) * 2)
        for name in ("provider", "live", *self._INT_FIELDS, *self._FLOAT_FIELDS):
            old = getattr(self, name)
            new = np.ones(size, dtype=old.dtype) if name in ("step_size", "ratio") else None
            if new is None:
                new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _slot(self, provider: int) -> int:
        slot = int(self.slot_of[provider])
        if slot < 0:
            self._reserve(self.count + 1)
            slot = self.count
            self.count += 1
            self.slot_of[provider] = slot
            self.provider[slot] = provider
            self.aligned = self.aligned and slot == provider
        return slot

    @property
    def nbytes(self) -> int:
        names = ("slot_of", "provider", "live", *self._INT_FIELDS, *self._FLOAT_FIELDS)
        return int(sum(getattr(self, n).nbytes for n in names))

    # --- writes --------------------------------------------------------------

    def set_inventory(
        self,
        provider: int,
        total: int,
        reserved: int,
        min_unit: int,
        max_unit: int,
        step_size: int,
        ratio: float,
    ) -> None:
        slot = self._slot(provider)
        self.total[slot] = total
        self.reserved[slot] = reserved
        self.min_unit[slot] = min_unit
        self.max_unit[slot] = max_unit
        self.step_size[slot] = step_size if step_size > 0 else 1
        self.ratio[slot] = ratio
        self.capacity[slot] = capacity(total, reserved, ratio)
        if not self.live[slot]:
            self.live[slot] = True
            self.live_count += 1
        self._bounds = None

    def load(
        self,
        providers: npt.NDArray[np.intp],
        fields: dict[str, npt.NDArray[np.generic]],
    ) -> None:
        """Bulk version of `set_inventory` for providers without an entry yet
        (a full load): one array per field, aligned with `providers`."""
        start = self.count
        end = start + len(providers)
        self._reserve(end)
        self.provider[start:end] = providers
        self.slot_of[providers] = np.arange(start, end, dtype=np.int32)
        for name in ("total", "reserved", "min_unit", "max_unit", "step_size", "ratio"):
            getattr(self, name)[start:end] = fields[name]
        self.step_size[start:end][self.step_size[start:end] <= 0] = 1
        self.capacity[start:end] = capacities(
            self.total[start:end], self.reserved[start:end], self.ratio[start:end]
        )
        self.live[start:end] = True
        self.live_count += len(providers)
        self.count = end
        self.aligned = self.aligned and bool(
            (self.provider[:end] == np.arange(end, dtype=np.int32)).all()
        )
        self._bounds = None

    def drop_inventory(self, provider: int) -> None:
        slot = int(self.slot_of[provider]) if provider < len(self.slot_of) else -1
        if slot >= 0 and self.live[slot]:
            self.live[slot] = False
            self.live_count -= 1
            self._bounds = None

    def set_used(self, provider: int, used: int) -> None:
        if used == 0 and (provider >= len(self.slot_of) or self.slot_of[provider] < 0):
            return
        self.used[self._slot(provider)] = used

    def clear_inventory(self) -> None:
        """Forget all inventory (entries and usage stay)."""
        self.live[: self.count] = False
        self.live_count = 0
        self._bounds = None

    def clear_usage(self) -> None:
        self.used[: self.count] = 0

    # --- reads ---------------------------------------------------------------

    def has(self, provider: int) -> bool:
        if provider >= len(self.slot_of):
            return False
        slot = int(self.slot_of[provider])
        return slot >= 0 and bool(self.live[slot])

    def capacity_used(self, provider: int) -> tuple[int, int] | None:
        """(capacity, used) as provider summaries show them, or None without inventory."""
        if provider >= len(self.slot_of):
            return None
        s = int(self.slot_of[provider])
        if s < 0 or not self.live[s]:
            return None
        return int(self.capacity[s]), int(self.used[s])

    def _unit_bounds(self) -> tuple[int, int, int]:
        """(largest min_unit, smallest max_unit, largest step_size) over live entries."""
        if self._bounds is None:
            live = self.live[: self.count]
            if live.any():
                self._bounds = (
                    int(self.min_unit[: self.count][live].max()),
                    int(self.max_unit[: self.count][live].min()),
                    int(self.step_size[: self.count][live].max()),
                )
            else:
                self._bounds = (0, 0, 1)
        return self._bounds

    def _fits_entries(self, amount: int) -> BoolArray:
        """Per entry: can it take `amount` more, by upstream's rule:
        used + amount <= capacity, and
        min_unit <= amount <= max_unit, and amount a multiple of step_size."""
        n = self.count
        ok = (self.used[:n] + amount) <= self.capacity[:n]
        ok &= self.live[:n]
        biggest_min, smallest_max, biggest_step = self._unit_bounds()
        if amount < biggest_min:
            ok &= self.min_unit[:n] <= amount
        if amount > smallest_max:
            ok &= self.max_unit[:n] >= amount
        if biggest_step > 1:
            ok &= amount % self.step_size[:n] == 0
        return ok

    def fits(self, amount: int) -> npt.NDArray[np.int32]:
        """Providers (slots) that can take `amount` more."""
        return self.provider[: self.count][self._fits_entries(amount)]

    def fits_mask(self, amount: int, providers: int) -> BoolArray:
        """`fits` as a mask over provider slots [0, providers)."""
        ok = self._fits_entries(amount)
        if self.aligned and self.count <= providers:
            if self.count == providers:
                return ok
            mask = np.zeros(providers, dtype=np.bool_)
            mask[: self.count] = ok
            return mask
        mask = np.zeros(providers, dtype=np.bool_)
        mask[self.provider[: self.count][ok]] = True
        return mask

    def room_for(self, providers: npt.NDArray[np.intp], amounts: IntArray) -> BoolArray:
        """Per position: can providers[i] take amounts[i] more (capacity and max_unit only,
        as upstream re-checks merged requests)? Providers without inventory: False."""
        slots = self.slot_of[providers]
        has = slots >= 0
        s = np.where(has, slots, 0)
        ok = has & self.live[s]
        ok &= (self.used[s] + amounts) <= self.capacity[s]
        ok &= amounts <= self.max_unit[s]
        return ok
