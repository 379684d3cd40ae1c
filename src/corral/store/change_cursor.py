"""Where a change-log follower stands in the log, allowing for gaps.

Used by corral.store.change_feed, which every in-memory follower (the
placement index, the scheduler's host cache) reads the log through.

On PostgreSQL a sequence number is taken when a row is inserted but becomes
visible when its transaction commits, so seq 12 can be visible while seq 11
is not yet (its transaction is still running) and shows up later. The cursor
remembers such holes ("gaps") and asks for them again on every catch-up,
until they fill or grow old enough that the transaction must have rolled
back (a rolled-back sequence number never appears).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Gaps remembered at most; past this the oldest are dropped (a burst of
# rollbacks must not make every catch-up query unbounded).
MAX_GAPS = 1000


@dataclass
class ChangeCursor:
    gap_timeout: float
    high: int = 0  # highest sequence number applied
    gaps: dict[int, float] = field(default_factory=dict)  # missing seq -> when noticed

    def reset(self, high: int, present: Iterable[int], window_low: int, now: float) -> None:
        """Start over at `high` after a full load. `present` are the sequence numbers
        seen in (window_low, high]; the missing ones may belong to transactions
        still in flight and become gaps."""
        self.high = high
        seen = set(present)
        self.gaps = {s: now for s in range(window_low + 1, high) if s not in seen}
        self._bound()

    def accept(self, seqs: Iterable[int], now: float) -> set[int]:
        """Record rows read after `high` or in a gap; return those not applied before."""
        fresh: set[int] = set()
        newest = self.high
        for seq in sorted(set(seqs)):
            if seq in self.gaps:
                del self.gaps[seq]
                fresh.add(seq)
            elif seq > self.high:
                fresh.add(seq)
                newest = max(newest, seq)
        for seq in range(max(self.high + 1, newest - 2 * MAX_GAPS), newest):
            if seq not in fresh:
                self.gaps[seq] = now
        self.high = newest
        self._bound()
        return fresh

    def expire(self, now: float) -> list[int]:
        """Forget gaps older than the timeout (their transactions rolled back)."""
        old = [s for s, seen in self.gaps.items() if now - seen > self.gap_timeout]
        for seq in old:
            del self.gaps[seq]
        return old

    def _bound(self) -> None:
        if len(self.gaps) > MAX_GAPS:
            for seq in sorted(self.gaps)[: len(self.gaps) - MAX_GAPS]:
                del self.gaps[seq]
