"""Hosts best first, sorting only as far as anyone reads.

A decision reads the first few hosts of the ranking (the pick, the
alternates); sorting all of a 1,000-host batch for that is most of the
cost of ranking it. The head, every host scoring at least the head_size-th
best score, is sorted at once; the tail only when someone reads past the
head. The order is numpy's stable sort by descending score either way, so
ties keep batch order as in Nova.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from corral.scheduler.batch import Floats


class Ranking:
    """Batch rows best first. `head` may be reordered in place (the engine moves
    its pick to the front); it always holds the same rows."""

    def __init__(self, scores: Floats, head_size: int) -> None:
        self._scores = scores
        n = len(scores)
        self._tail: list[int] | None = None
        if n <= head_size * 4:
            self.head: list[int] = np.argsort(-scores, kind="stable").tolist()
            self._tail = []
            return
        kth = np.partition(scores, n - head_size)[n - head_size]
        rows = np.flatnonzero(scores >= kth)
        self.head = rows[np.argsort(-scores[rows], kind="stable")].tolist()

    def tail(self) -> list[int]:
        if self._tail is None:
            full = np.argsort(-self._scores, kind="stable")
            self._tail = full[len(self.head) :].tolist()
        return self._tail

    def __iter__(self) -> Iterator[int]:
        yield from self.head
        yield from self.tail()

    def __len__(self) -> int:
        return len(self._scores)

    def first(self, n: int) -> list[int]:
        if n <= len(self.head):
            return self.head[:n]
        return (self.head + self.tail())[:n]
