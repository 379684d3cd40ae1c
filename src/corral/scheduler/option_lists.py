"""Nova's scheduler.utils.parse_options: `key=value` list options, bad items skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def parse_options(
    items: Iterable[str], converter: Callable[[str], T], sep: str = "="
) -> list[tuple[str, T]]:
    """(key, converted value) for each well-formed `key<sep>value`, in order.

    As Nova: an item without the separator, with an empty key or a value the
    converter refuses (ValueError) is ignored.
    """
    good: list[tuple[str, T]] = []
    for item in items:
        key, seen_sep, raw = item.partition(sep)
        try:
            value = converter(raw)
        except ValueError:
            continue
        if key and seen_sep and value is not None:
            good.append((key, value))
    return good
