"""A read-only view of the placement index for code outside placement.

The scheduler needs a little of what Placement knows about each compute
node's provider tree: where a provider sits in the index, one resource
class's inventory and usage, the names of a provider's traits, the root of
a provider. In Nova it gets these from Placement's HTTP answers
(allocation candidates, provider summaries); here it reads them from the
in-memory index, through this view, so that the index's arrays stay
placement's own. A view is handed out by `PlacementIndex.session()` and
`.viewing()` and is valid while that context is open (the caller holds the
read side of the index's lock).

Slots are the index's row numbers; -1 stands for a provider the index does
not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corral.placement.index.state import IndexState

Slots = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class ResourceColumn:
    """One resource class of some providers, by slot."""

    total: npt.NDArray[np.int64]
    reserved: npt.NDArray[np.int64]
    used: npt.NDArray[np.int64]
    ratio: npt.NDArray[np.float64]


class TraitNames:
    """Per slot, the names of its traits, kept while the index's topology
    stands (one frozenset per distinct set, shared between views: rebuilding
    it costs a pass over every provider)."""

    def __init__(self) -> None:
        self._cached: tuple[object, npt.NDArray[np.object_]] | None = None

    def of(self, state: IndexState) -> npt.NDArray[np.object_]:
        key = (state, state.topology_version)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        names: dict[frozenset[int], frozenset[str]] = {}
        out = np.empty(state.size + 1, dtype=object)  # the last entry: slot -1
        for slot in range(state.size):
            ids = state.traits.ids(slot)
            named = names.get(ids)
            if named is None:
                named = frozenset(state.trait_name.get(t, str(t)) for t in ids)
                names[ids] = named
            out[slot] = named
        out[state.size] = frozenset()
        # One assignment: a reader racing this one sees the old pair or the new.
        self._cached = (key, out)
        return out


class IndexView:
    """What the scheduler may read of the index."""

    __slots__ = ("_state", "_traits")

    def __init__(self, state: IndexState, traits: TraitNames | None = None) -> None:
        self._state = state
        self._traits = TraitNames() if traits is None else traits

    @property
    def topology(self) -> object:
        """Changes whenever slots, trees, traits or aggregates may have changed,
        so a reader can cache what it worked out from slots until then."""
        return (self._state, self._state.topology_version)

    def slots_of(self, uuids: Sequence[str | None]) -> Slots:
        """The slot of each provider (-1: not in the index, or None)."""
        lookup = self._state.slot_of_uuid.get
        return np.fromiter(
            (lookup(u, -1) if u is not None else -1 for u in uuids),
            dtype=np.intp,
            count=len(uuids),
        )

    def root_slots(self, uuids: Sequence[str]) -> Slots:
        """The slot of each provider's root (every uuid must be in the index)."""
        slot_of = self._state.slot_of_uuid
        slots = np.fromiter((slot_of[u] for u in uuids), dtype=np.intp, count=len(uuids))
        return self._state.root[slots].astype(np.intp, copy=False)

    def uuids_of(self, slots: Iterable[int]) -> list[str]:
        uuid = self._state.uuid
        return [uuid[s] for s in slots]

    def resources(self, rc_id: int, slots: Slots) -> ResourceColumn:
        """One resource class of the providers at `slots`: no inventory reads as
        0 total, 0 reserved, ratio 1 (usage without inventory is still usage)."""
        n = len(slots)
        column = self._state.column(rc_id)
        if column is None or n == 0:
            zeros = np.zeros(n, dtype=np.int64)
            return ResourceColumn(zeros, zeros.copy(), zeros.copy(), np.ones(n, dtype=np.float64))
        known = (slots >= 0) & (slots < len(column.slot_of))
        entry = np.full(n, -1, dtype=np.intp)
        entry[known] = column.slot_of[slots[known]]
        has = entry >= 0
        at = np.where(has, entry, 0)
        live = has & column.live[at]
        return ResourceColumn(
            total=np.where(live, column.total[at], 0).astype(np.int64, copy=False),
            reserved=np.where(live, column.reserved[at], 0).astype(np.int64, copy=False),
            used=np.where(has, column.used[at], 0).astype(np.int64, copy=False),
            ratio=np.where(live, column.ratio[at], 1.0).astype(np.float64, copy=False),
        )

    def trait_names(self, slots: Slots) -> list[frozenset[str]]:
        """The names of the traits of the providers at `slots` (none for -1)."""
        picked: list[frozenset[str]] = self._traits.of(self._state)[slots].tolist()
        return picked


def viewed_state(view: IndexView) -> IndexState:
    """The state behind a view, for placement's own modules (the candidate
    search, its explanations) that a caller hands a view to."""
    return view._state
