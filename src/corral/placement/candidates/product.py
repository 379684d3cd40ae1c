"""Cartesian products per anchor, vectorised and in bounded chunks.

Given K lists whose entries each carry an anchor (the root provider of the
tree they serve), enumerate, for every anchor present in all K lists, every
way of picking one entry from each list: the same combinations
`itertools.product` would give per anchor, but as index arrays, a chunk at a
time, so a tree with millions of combinations neither blocks the way for
others nor needs memory for all of them at once.

Order: anchors ascending, then per anchor the product order of
`itertools.product` (the last list varies fastest), entries of one anchor in
their original order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Index = npt.NDArray[np.intp]

# Combinations materialised at once.
CHUNK = 262_144
# Per-anchor counts beyond this are clipped: nobody can enumerate them anyway,
# and clipping keeps the int64 arithmetic exact.
_HUGE = 1 << 60


@dataclass(frozen=True)
class ProductChunk:
    anchor: Index  # anchor of each combination
    positions: list[Index]  # per list, the entry picked for each combination


def _runs(ordered: Index) -> tuple[Index, Index, Index]:
    """Distinct values of a sorted array, where each run starts, and its length."""
    flags = np.empty(len(ordered), dtype=np.bool_)
    flags[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=flags[1:])
    start = np.flatnonzero(flags)
    count = np.diff(np.append(start, len(ordered)))
    return ordered[start], start, count


def anchored_product(anchors: list[Index], chunk: int = CHUNK) -> Iterator[ProductChunk]:
    if not anchors:
        return
    if any(len(a) == 0 for a in anchors):
        return
    top = max(int(a.max()) for a in anchors) + 1
    per_list = [np.bincount(a, minlength=top) for a in anchors]
    present = per_list[0] > 0
    for c in per_list[1:]:
        present &= c > 0
    common_anchors = np.flatnonzero(present)
    if all(bool((c[common_anchors] == 1).all()) for c in per_list):
        # One entry per list and anchor (flat clouds): no sorting, no arithmetic.
        where = []
        for a in anchors:
            at = np.full(top, -1, dtype=np.intp)
            at[a] = np.arange(len(a), dtype=np.intp)
            where.append(at)
        for lo in range(0, len(common_anchors), chunk):
            part = common_anchors[lo : lo + chunk]
            yield ProductChunk(anchor=part, positions=[at[part] for at in where])
        return
    orders = [np.argsort(a, kind="stable") for a in anchors]
    starts: list[Index] = []
    counts: list[Index] = []
    uniques: list[Index] = []
    for a, order in zip(anchors, orders, strict=True):
        uniq, start, count = _runs(a[order])
        uniques.append(uniq)
        starts.append(start)
        counts.append(count)
    # Anchors are slots (small non-negative ints): count list membership.
    seen = np.zeros(int(max(int(u[-1]) for u in uniques)) + 1, dtype=np.int32)
    for uniq in uniques:
        seen[uniq] += 1
    common: Index = np.flatnonzero(seen == len(anchors))
    if len(common) == 0:
        return
    st: list[Index] = []
    ct: list[Index] = []
    for uniq, start, count in zip(uniques, starts, counts, strict=True):
        pos = np.searchsorted(uniq, common)
        st.append(start[pos].astype(np.int64))
        ct.append(count[pos].astype(np.int64))
    per_anchor = np.ones(len(common), dtype=np.int64)
    for c in ct:
        per_anchor = np.minimum(per_anchor * c, _HUGE)
    ends = np.cumsum(per_anchor)
    total = int(ends[-1])
    begins = ends - per_anchor
    lo = 0
    while lo < total:
        hi = min(total, lo + chunk)
        flat = np.arange(lo, hi, dtype=np.int64)
        which = np.searchsorted(ends, flat, side="right")
        offset = flat - begins[which]
        picks: list[Index] = [np.zeros(0, dtype=np.intp)] * len(anchors)
        for k in range(len(anchors) - 1, -1, -1):
            size = ct[k][which]
            digit = offset % size
            offset //= size
            picks[k] = orders[k][st[k][which] + digit]
        yield ProductChunk(anchor=common[which], positions=picks)
        lo = hi
