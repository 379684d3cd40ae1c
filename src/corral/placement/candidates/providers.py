"""GET /resource_providers filtering over the index: the same masks as the
candidate search, one provider at a time (no trees, no sharing).

Upstream's rules: a provider matches when it is in the in_tree provider's
tree, has (itself) at least one trait of every required set and none of the
forbidden ones, is (itself) in at least one aggregate of every member_of set
and in none of the forbidden ones, and has room for every requested amount.
Names and uuids come resolved (`ProviderFilter`); `name` is matched on the
rows, as the index does not hold names.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection

from corral.placement.index.state import IndexState
from corral.store import snapshot
from corral.store.provider_filters import ProviderFilter
from corral.store.providers import ProviderRow


def matching_slots(state: IndexState, flt: ProviderFilter) -> np.ndarray:
    n = state.size
    mask = state.alive[:n].copy()
    if flt.uuid is not None:
        only = np.zeros(n, dtype=np.bool_)
        slot = state.slot_of_uuid.get(flt.uuid)
        if slot is not None:
            only[slot] = True
        mask &= only
    if flt.in_tree is not None:
        slot = state.slot_of_uuid.get(flt.in_tree)
        if slot is None:
            return np.zeros(0, dtype=np.intp)
        mask &= state.root[:n] == state.root[slot]
    if flt.required_traits:
        mask &= state.traits.all_of_any(flt.required_traits, n)
    if flt.forbidden_traits:
        mask &= ~state.traits.any_of(flt.forbidden_traits, n)
    known = state.aggregate_id_of_uuid
    for any_of in flt.member_of:
        mask &= state.aggregates.any_of([known[u] for u in any_of if u in known], n)
    if flt.forbidden_aggregates:
        bad = [known[u] for u in flt.forbidden_aggregates if u in known]
        mask &= ~state.aggregates.any_of(bad, n)
    for rc_id, amount in flt.resources.items():
        column = state.column(rc_id)
        if column is None:
            return np.zeros(0, dtype=np.intp)
        mask &= column.fits_mask(amount, n)
    return np.flatnonzero(mask)


def list_providers(conn: Connection, state: IndexState, flt: ProviderFilter) -> list[ProviderRow]:
    """The providers matching every filter, oldest first (the index and `conn`
    must come from one `PlacementIndex.session`)."""
    slots = matching_slots(state, flt)
    ids = [state.provider_id[s] for s in slots.tolist()]
    rows = snapshot.provider_rows(conn, ids)
    if flt.name is not None:
        rows = [row for row in rows if row.name == flt.name]
    return rows
