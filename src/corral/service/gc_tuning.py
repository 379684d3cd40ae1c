"""Garbage-collector thresholds for a worker process (API or RPC).

The in-memory indexes hold many long-lived objects and each search makes
thousands of short-lived ones; at CPython's default thresholds the full
collections that follow pause requests for 100 ms and more.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.set_threshold(*THRESHOLDS)
