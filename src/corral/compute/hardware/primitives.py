"""Reading Nova object data: plain dicts, or versioned-object primitives.

Nova serialises objects as {"nova_object.name": ..., "nova_object.data": {...}};
the loader may keep that form or store the data alone. Both read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DATA = "nova_object.data"


def unwrap(value: Any) -> Any:
    """The object data of a primitive, or the value itself."""
    if isinstance(value, Mapping) and DATA in value:
        return value[DATA]
    return value


def data(value: Any) -> Mapping[str, Any]:
    value = unwrap(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return value


def int_set(value: Any) -> frozenset[int]:
    """A Nova SetOfIntegersField: a list (JSON) or set of ints."""
    value = unwrap(value)
    if value is None:
        return frozenset()
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise ValueError(f"expected a set of integers, got {value!r}")
    return frozenset(int(v) for v in value)


def optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
