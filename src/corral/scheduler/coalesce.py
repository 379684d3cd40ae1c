"""Concurrent calls decided together, in rounds (flat combining).

Each caller queues its item and waits. Whichever waiting caller finds no
round running takes up to `max_round` queued items (its own among them or
not), decides them with one call, hands every caller its outcome and wakes
them; the next round starts as soon as it ends. There is no thread of its
own to start or stop: the callers' threads do the work, one at a time. A
lone caller is a round of one, so nothing waits for company.

The callers a round answers come back together with their next items a
moment later. A round that started before they did would split them into
two cohorts that alternate for good, each paying the round's fixed costs.
So a round that finds fewer items queued than the last round answered waits
for them, up to a quarter of the last round's time and never more than
`linger` seconds (a lone caller never waits: its next item is the one
queued).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

# The most a round waits for the last round's callers, as a share of its time.
LINGER_SHARE = 0.25

T = TypeVar("T")
R = TypeVar("R")


class _Pending:
    """Marks a slot whose round has not run yet."""


_PENDING = _Pending()


@dataclass(slots=True)
class _Slot(Generic[T, R]):
    item: T
    # the caller waits on this (over the Coalescer's lock): woken when its
    # outcome is in, or when it is next to run a round
    wake: threading.Condition
    outcome: R | BaseException | _Pending = _PENDING


class Coalescer(Generic[T, R]):
    """`submit(item)` returns decide([..., item, ...])'s outcome for the item,
    or raises the exception decided for it.

    `decide` gets the items of one round in arrival order and returns one
    outcome per item: a result, or an exception to raise in that caller.
    """

    def __init__(
        self,
        decide: Callable[[Sequence[T]], Sequence[R | BaseException]],
        max_round: int,
        linger: float = 0.010,
    ) -> None:
        if max_round < 1:
            raise ValueError("max_round must be at least 1")
        self.max_round = max_round
        self.linger = linger
        self._decide = decide
        self._lock = threading.Lock()
        self._grew = threading.Condition(self._lock)  # an item was queued
        self._queue: list[_Slot[T, R]] = []
        self._busy = False
        self._last_round = 0
        self._last_round_s = 0.0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item, threading.Condition(self._lock))
        with self._lock:
            self._queue.append(slot)
            self._grew.notify()
            try:
                while slot.outcome is _PENDING:
                    if self._busy:
                        slot.wake.wait()
                        continue
                    self._busy = True
                    try:
                        self._wait_for_company()
                    except BaseException:
                        self._busy = False
                        raise
                    self._run_round()
            except BaseException:  # interrupted while waiting
                # Nobody will read its outcome, so it is not decided (unless a
                # round took it already); another caller runs the next round.
                self._queue = [s for s in self._queue if s is not slot]
                self._wake_next()
                raise
        outcome = slot.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    def _wait_for_company(self) -> None:
        """Give the callers the last round answered `linger` seconds to queue again."""
        wanted = min(self._last_round, self.max_round)
        if len(self._queue) >= wanted:
            return
        deadline = time.monotonic() + min(self.linger, self._last_round_s * LINGER_SHARE)
        while len(self._queue) < wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._grew.wait(left)

    def _run_round(self) -> None:
        """Decide the oldest queued items; called and returns with the lock held."""
        taken = self._queue[: self.max_round]
        del self._queue[: self.max_round]
        self._lock.release()
        started = time.monotonic()
        outcomes: Sequence[R | BaseException]
        try:
            outcomes = self._decide([s.item for s in taken])
            if len(outcomes) != len(taken):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(taken)} items")
        except BaseException as exc:  # every caller of the round must wake up
            outcomes = [exc] * len(taken)
        finally:
            self._lock.acquire()
            self._busy = False
        for slot, outcome in zip(taken, outcomes, strict=True):
            slot.outcome = outcome
            slot.wake.notify()
        self._last_round = len(taken)
        self._last_round_s = time.monotonic() - started
        self._wake_next()

    def _wake_next(self) -> None:
        """Wake the oldest waiting caller to run the next round (only the
        callers with an outcome and this one are woken: waking every waiting
        thread costs the round's thread a GIL hand-off each)."""
        if self._queue:
            self._queue[0].wake.notify()
