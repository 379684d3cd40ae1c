"""The change-log cursor: holes in the sequence are waited for, then given up on."""

from __future__ import annotations

from corral.store.change_cursor import MAX_GAPS, ChangeCursor


def test_in_order_rows_advance_without_gaps() -> None:
    cursor = ChangeCursor(gap_timeout=10)
    assert cursor.accept([1, 2, 3], now=0) == {1, 2, 3}
    assert cursor.high == 3
    assert cursor.gaps == {}


def test_a_hole_is_remembered_and_filled_later() -> None:
    cursor = ChangeCursor(gap_timeout=10)
    assert cursor.accept([1, 2, 4, 6], now=0) == {1, 2, 4, 6}
    assert set(cursor.gaps) == {3, 5}
    # The late transaction commits: its row shows up below `high`.
    assert cursor.accept([3, 7], now=1) == {3, 7}
    assert set(cursor.gaps) == {5}
    # Rows already applied are not applied again.
    assert cursor.accept([4, 6], now=2) == set()


def test_old_gaps_expire() -> None:
    cursor = ChangeCursor(gap_timeout=10)
    cursor.accept([1, 3], now=0)
    assert cursor.expire(now=5) == []
    assert cursor.expire(now=11) == [2]
    assert cursor.gaps == {}


def test_reset_after_full_load_treats_missing_recent_numbers_as_gaps() -> None:
    cursor = ChangeCursor(gap_timeout=10)
    cursor.reset(high=10, present=[6, 7, 9, 10], window_low=5, now=0)
    assert cursor.high == 10
    assert set(cursor.gaps) == {8}


def test_gaps_are_bounded() -> None:
    cursor = ChangeCursor(gap_timeout=10)
    cursor.accept([1, 5 * MAX_GAPS], now=0)
    assert len(cursor.gaps) <= MAX_GAPS
    assert max(cursor.gaps) == 5 * MAX_GAPS - 1
