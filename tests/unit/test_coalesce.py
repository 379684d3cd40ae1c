"""The Coalescer: concurrent callers decided together, each given its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from corral.scheduler.coalesce import Coalescer


class Recorder:
    """A decide function that doubles numbers, refuses odd ones when told, and
    remembers the rounds it was given."""

    def __init__(self, refuse_odd: bool = False, pause: float = 0.0) -> None:
        self.rounds: list[list[int]] = []
        self.refuse_odd = refuse_odd
        self.pause = pause
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(self.pause)
        self.rounds.append(list(items))
        with self._lock:
            self.running -= 1
        return [ValueError(f"odd {i}") if self.refuse_odd and i % 2 else i * 2 for i in items]


def test_a_lone_caller_is_a_round_of_one() -> None:
    decide = Recorder()
    rounds = Coalescer(decide, max_round=8)
    assert [rounds.submit(i) for i in range(3)] == [0, 2, 4]
    assert decide.rounds == [[0], [1], [2]]


def test_concurrent_callers_share_rounds_and_get_their_own_outcome() -> None:
    decide = Recorder(pause=0.01)
    rounds = Coalescer(decide, max_round=5)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(rounds.submit, range(64)))
    assert answers == [i * 2 for i in range(64)]
    assert sorted(i for r in decide.rounds for i in r) == list(range(64))
    assert max(len(r) for r in decide.rounds) == 5  # never more than max_round
    assert len(decide.rounds) < 64  # callers waited for each other's rounds
    assert decide.most_running == 1  # one round at a time


def test_an_outcome_that_is_an_exception_is_raised_in_its_caller_only() -> None:
    rounds = Coalescer(Recorder(refuse_odd=True, pause=0.005), max_round=8)

    def call(i: int) -> int | str:
        try:
            return rounds.submit(i)
        except ValueError as exc:
            return str(exc)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(16)))
    assert answers == [f"odd {i}" if i % 2 else i * 2 for i in range(16)]


def test_a_failing_round_fails_its_callers_and_the_next_round_runs() -> None:
    calls = []

    def decide(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("store down")
        return list(items)

    rounds = Coalescer(decide, max_round=4)
    with pytest.raises(RuntimeError, match="store down"):
        rounds.submit(1)
    assert rounds.submit(2) == 2


def test_a_decide_that_loses_outcomes_fails_the_round() -> None:
    rounds: Coalescer[int, int] = Coalescer(lambda items: [], max_round=4)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        rounds.submit(1)


def test_a_round_waits_briefly_for_the_callers_of_the_last_round() -> None:
    decide = Recorder(pause=0.02)
    rounds = Coalescer(decide, max_round=16, linger=0.05)
    barrier = threading.Barrier(8)

    def caller(i: int) -> None:
        barrier.wait()
        for n in range(5):
            rounds.submit(i * 100 + n)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(caller, range(8)))
    sizes = [len(r) for r in decide.rounds]
    # The first caller may start alone; after that the callers stay together.
    # (Without waiting, the one woken first starts a round of its own each
    # time and the rounds go 1, 8, 1, 7, ...)
    assert 1 not in sizes[1:], sizes


class Interrupted(Exception):
    pass


class InterruptedOnce(Coalescer[int, int]):
    """Its first caller to wait for company is interrupted (a signal, say)."""

    interrupted = False

    def _wait_for_company(self) -> None:
        if not self.interrupted:
            self.interrupted = True
            time.sleep(0.05)  # the others queue meanwhile
            raise Interrupted()
        super()._wait_for_company()


def test_an_interrupted_caller_is_not_decided_and_hands_the_round_over() -> None:
    decide = Recorder()
    rounds = InterruptedOnce(decide, max_round=8)

    def call(i: int) -> int | str:
        try:
            return rounds.submit(i)
        except Interrupted:
            return "interrupted"

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(call, 100)
        time.sleep(0.01)
        others = [pool.submit(call, i) for i in range(3)]
        assert first.result(timeout=5) == "interrupted"
        assert [f.result(timeout=5) for f in others] == [0, 2, 4]
    assert 100 not in [i for r in decide.rounds for i in r]


def test_max_round_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Coalescer(lambda items: list(items), max_round=0)
