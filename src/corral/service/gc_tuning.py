"""Garbage-collector thresholds for a worker process (API or RPC).

The in-memory indexes hold many long-lived objects and each search makes
thousands of short-lived ones; at CPython's default thresholds the full
collections that follow pause requests for 100 ms and more. Here a full
collection comes once per some 100 million net allocations (10,000 x 50 x
200). The youngest generation is still collected every 10,000: a larger
first threshold means rarer but longer pauses (at 50,000, one pause held a
whole round of decisions for 15-40 ms in bench/schedule.py's burst).
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 50, 200)


def tune_gc() -> None:
    gc.set_threshold(*THRESHOLDS)
