"""Long IN (...) lists, split to stay under the backends' parameter limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

# SQLite allows 32,766 host parameters and PostgreSQL 65,535; stay well under both.
IN_CHUNK = 5000

T = TypeVar("T", int, str)


def in_chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """The distinct values, sorted, in lists of at most `size`."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
