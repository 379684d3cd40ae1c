"""The index's arrays: growth, updates in place, removal."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.placement.index.bitsets import BitMatrix
from corral.placement.index.columns import ResourceColumn
from corral.placement.index.state import IndexState
from corral.store.snapshot import InventoryTuple, ProviderTuple, UsageTuple


def test_bitmatrix_grows_in_rows_and_bits() -> None:
    bits = BitMatrix(2)
    bits.ensure_rows(100)
    for row in range(100):
        bits.set_row(row, range(row % 130, row % 130 + 3))
    bits.set_row(99, [500, 1, 2])
    assert bits.words.shape[1] >= 2
    assert bits.ids(99) == frozenset({500, 1, 2})
    assert bits.any_of([500], 100).sum() == 1
    assert bits.all_of_any([[1], [2, 999]], 100)[99]
    assert bits.holders(500) == 1
    bits.clear_row(99)
    assert bits.holders(500) == 0
    assert not bits.any_of([500], 100).any()
    # Identical sets are one object.
    bits.set_row(0, [7, 8])
    bits.set_row(1, [8, 7])
    assert bits.ids(0) is bits.ids(1)


def test_bitmatrix_union_of_rows() -> None:
    bits = BitMatrix(4)
    bits.set_row(0, [1])
    bits.set_row(1, [2])
    bits.set_row(2, [3])
    rows_a = np.array([0, 0, 2])
    rows_b = np.array([1, 2, 2])
    got = bits.union_satisfies([rows_a, rows_b], [[1], [2, 3]])
    assert got.tolist() == [True, True, False]


pairs = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 200)), max_size=400)


@settings(max_examples=60, deadline=None)
@given(pairs, st.booleans())
def test_bitmatrix_load_is_set_row_for_every_row(rows: list[tuple[int, int]], warm: bool) -> None:
    """The bulk load of a full index load and one set_row per row agree:
    words, ids, holders and interning, on a fresh matrix and on one whose rows
    were all cleared (its bits already handed out)."""
    loaded, by_row = BitMatrix(4), BitMatrix(4)
    if warm:
        loaded.set_row(0, [5, 150])
        loaded.clear_row(0)
    wanted: dict[int, set[int]] = {}
    for row, ident in rows:
        wanted.setdefault(row, set()).add(ident)
    by_row.ensure_rows(302)
    for row, ids in wanted.items():
        by_row.set_row(row, ids)
    loaded.load(
        np.array([r for r, _ in rows], dtype=np.intp),
        np.array([i for _, i in rows], dtype=np.int64),
    )
    loaded.ensure_rows(302)
    for row in range(302):
        assert loaded.ids(row) == by_row.ids(row)
        for ident in range(0, 201, 7):
            assert bool(loaded.any_of([ident], 302)[row]) == (ident in wanted.get(row, ()))
    for ident in range(201):
        assert loaded.holders(ident) == by_row.holders(ident)
    same = [r for r in wanted if wanted[r] == wanted.get(rows[0][0])] if rows else []
    assert len({id(loaded.ids(r)) for r in same}) <= 1


def test_column_capacity_rule() -> None:
    col = ResourceColumn(0, 4)
    col.set_inventory(1, total=10, reserved=2, min_unit=2, max_unit=6, step_size=2, ratio=1.5)
    col.set_used(1, 5)
    # capacity (10 - 2) * 1.5 = 12, used 5: 7 free, steps of 2, between 2 and 6.
    assert [a for a in range(1, 10) if len(col.fits(a))] == [2, 4, 6]
    col.drop_inventory(1)
    assert len(col.fits(2)) == 0
    assert col.used[col.slot_of[1]] == 5  # usage kept for when inventory returns
    col.set_inventory(1, total=10, reserved=0, min_unit=1, max_unit=10, step_size=1, ratio=1.0)
    assert col.fits(5).tolist() == [1]
    assert col.fits(6).tolist() == []


def test_column_grows() -> None:
    col = ResourceColumn(0)
    col.ensure_providers(1000)
    for p in range(1000):
        col.set_inventory(
            p, total=p + 1, reserved=0, min_unit=1, max_unit=p + 1, step_size=1, ratio=1
        )
    assert len(col.fits(500)) == 501


def _state() -> IndexState:
    state = IndexState()
    state.apply_providers(
        None,
        [
            ProviderTuple(10, "root", None, 10),
            ProviderTuple(11, "child", 10, 10),
            ProviderTuple(12, "grandchild", 11, 10),
            ProviderTuple(20, "other", None, 20),
        ],
    )
    state.rc_name[0] = "VCPU"
    state.apply_inventories(None, [InventoryTuple(12, 0, 4, 0, 1, 4, 1, 1.0)])
    state.apply_usages(None, [UsageTuple(12, 0, 1)])
    return state


def test_state_trees_and_summaries() -> None:
    state = _state()
    assert state.has_trees
    slot = state.slot_of_uuid["grandchild"]
    assert state.ancestors_or_self(slot) == [slot, 1, 0]
    assert state.max_depth() == 2
    members = state.tree_members(np.array([0]))
    assert [state.uuid[s] for s in members] == ["root", "child", "grandchild"]
    summary = state.summary(slot)
    assert summary.resources == (("VCPU", 4, 1),)
    assert summary.parent_uuid == "child" and summary.root_uuid == "root"
    # A usage change gives a new summary; an unchanged provider keeps its object.
    state.apply_usages({12}, [UsageTuple(12, 0, 3)])
    assert state.summary(slot).resources == (("VCPU", 4, 3),)
    other = state.slot_of_uuid["other"]
    assert state.summary(other) is state.summary(other)


def test_state_removal() -> None:
    state = _state()
    state.apply_providers({12, 11}, [ProviderTuple(11, "child", 10, 10)])
    assert "grandchild" not in state.slot_of_uuid
    assert state.column(0) is not None
    assert len(state.column(0).fits(1)) == 0  # type: ignore[union-attr]
    state.apply_providers({11}, [])
    assert not state.has_trees
