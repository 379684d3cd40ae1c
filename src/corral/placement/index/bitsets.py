"""Membership bitsets: one row of 64-bit words per provider slot, one bit per id.

Used for traits and for aggregates. Bits are handed out the first time an id
is attached to any provider, so the width follows what the cloud uses, not
how many traits exist (os-traits has hundreds). Each row also keeps its ids
as an interned frozenset, which summaries and the sharing-provider logic read
without decoding bits.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

_EMPTY: frozenset[int] = frozenset()

BoolArray = npt.NDArray[np.bool_]


class BitMatrix:
    def __init__(self, rows: int = 0) -> None:
        self.words: npt.NDArray[np.uint64] = np.zeros((max(rows, 16), 1), dtype=np.uint64)
        self._bit_of: dict[int, int] = {}
        self._sets: list[frozenset[int]] = [_EMPTY] * max(rows, 16)
        # Many providers share one set of ids (racks of identical hosts):
        # keep one frozenset object per distinct set.
        self._interned: dict[frozenset[int], frozenset[int]] = {_EMPTY: _EMPTY}
        # How many rows carry each id, so `holders` can answer "nobody" cheaply.
        self._count: dict[int, int] = {}

    # --- shape ---------------------------------------------------------------

    def ensure_rows(self, rows: int) -> None:
        have = self.words.shape[0]
        if rows <= have:
            return
        new_rows = max(rows, have * 2)
        grown = np.zeros((new_rows, self.words.shape[1]), dtype=np.uint64)
        grown[:have] = self.words
        self.words = grown
        self._sets.extend([_EMPTY] * (new_rows - have))

    def _bit(self, ident: int) -> int:
        bit = self._bit_of.get(ident)
        if bit is None:
            bit = len(self._bit_of)
            self._bit_of[ident] = bit
            if bit // 64 >= self.words.shape[1]:
                wider = np.zeros((self.words.shape[0], self.words.shape[1] + 1), dtype=np.uint64)
                wider[:, : self.words.shape[1]] = self.words
                self.words = wider
        return bit

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes)

    # --- writes --------------------------------------------------------------

    def set_row(self, row: int, ids: Iterable[int]) -> None:
        """Replace the row's ids."""
        new = frozenset(ids)
        old = self._sets[row]
        if new == old:
            return
        for ident in old - new:
            self._count[ident] -= 1
        for ident in new - old:
            self._count[ident] = self._count.get(ident, 0) + 1
        self.words[row, :] = 0
        for ident in new:
            bit = self._bit(ident)
            self.words[row, bit >> 6] |= np.uint64(1 << (bit & 63))
        self._sets[row] = self._interned.setdefault(new, new)

    def clear_row(self, row: int) -> None:
        self.set_row(row, _EMPTY)

    def load(self, rows: npt.NDArray[np.intp], ids: npt.NDArray[np.int64]) -> None:
        """Fill an empty matrix from (row, id) pairs at once: a full load's
        traits or aggregates, where one set_row per provider cost most of the
        fold at 100,000 providers."""
        if len(rows) == 0:
            return
        self.ensure_rows(int(rows.max()) + 1)
        if self._bit_of:
            for row, ident in zip(rows.tolist(), ids.tolist(), strict=True):
                self.set_row(row, self._sets[row] | {ident})
            return
        pairs = np.unique(np.stack([rows.astype(np.int64), ids.astype(np.int64)]), axis=1)
        rows = pairs[0].astype(np.intp)
        distinct, bits = np.unique(pairs[1], return_inverse=True)
        for ident in distinct.tolist():
            self._bit(int(ident))  # widens the words as it goes; bits follow id order
        masks = np.left_shift(np.uint64(1), (bits & 63).astype(np.uint64))
        np.bitwise_or.at(self.words, (rows, bits >> 6), masks)
        self._count = dict(
            zip(distinct.tolist(), np.bincount(bits, minlength=len(distinct)).tolist(), strict=True)
        )
        # Rows with the same words share one set: decode each distinct row once.
        used = np.unique(rows)
        patterns, which = np.unique(self.words[used], axis=0, return_inverse=True)
        id_of_bit = distinct.tolist()
        decoded = [
            self._interned.setdefault(s, s)
            for s in (frozenset(id_of_bit[b] for b in _bits_of(p)) for p in patterns)
        ]
        for row, pattern in zip(used.tolist(), which.reshape(-1).tolist(), strict=True):
            self._sets[row] = decoded[pattern]

    # --- reads ---------------------------------------------------------------

    def ids(self, row: int) -> frozenset[int]:
        return self._sets[row]

    def holders_any(self) -> bool:
        """Whether any row carries any id."""
        return any(self._count.values())

    def holders(self, ident: int) -> int:
        """How many rows carry `ident`."""
        return self._count.get(ident, 0)

    def _word_masks(self, ids: Iterable[int]) -> dict[int, int]:
        masks: dict[int, int] = {}
        for ident in ids:
            bit = self._bit_of.get(ident)
            if bit is not None:
                masks[bit >> 6] = masks.get(bit >> 6, 0) | (1 << (bit & 63))
        return masks

    def any_of(self, ids: Iterable[int], rows: int) -> BoolArray:
        """Rows [0, rows) that carry at least one of `ids`."""
        out = np.zeros(rows, dtype=np.bool_)
        for word, mask in self._word_masks(ids).items():
            out |= (self.words[:rows, word] & np.uint64(mask)) != 0
        return out

    def all_of_any(self, groups: Iterable[Iterable[int]], rows: int) -> BoolArray:
        """Rows that carry at least one id of every group."""
        out = np.ones(rows, dtype=np.bool_)
        for group in groups:
            out &= self.any_of(group, rows)
        return out

    def union_satisfies(
        self, row_sets: list[npt.NDArray[np.intp]], groups: Iterable[Iterable[int]]
    ) -> BoolArray:
        """For each position i, whether the ids of rows row_sets[0][i], row_sets[1][i], ...
        taken together hit every group (each group: at least one of its ids)."""
        size = len(row_sets[0]) if row_sets else 0
        union = np.zeros((size, self.words.shape[1]), dtype=np.uint64)
        for rows in row_sets:
            union |= self.words[rows]
        out = np.ones(size, dtype=np.bool_)
        for group in groups:
            hit = np.zeros(size, dtype=np.bool_)
            for word, mask in self._word_masks(group).items():
                hit |= (union[:, word] & np.uint64(mask)) != 0
            out &= hit
        return out


def _bits_of(words: npt.NDArray[np.uint64]) -> list[int]:
    """The set bits of one row of words, ascending."""
    out: list[int] = []
    for word_index, word in enumerate(words.tolist()):
        while word:
            low = word & -word
            out.append(word_index * 64 + low.bit_length() - 1)
            word ^= low
    return out
