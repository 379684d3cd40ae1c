"""Host aggregate metadata as the filters and weighers read it (Nova's helpers).

Nova reads aggregate metadata host by host. Hosts share their aggregates, so
here every answer is computed once per distinct set of aggregates in a batch
and spread to the rows that have that set: a 100k-host batch in a few dozen
aggregate combinations costs a few dozen lookups.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar

from corral.scheduler.batch import Aggregate, HostBatch

T = TypeVar("T")
N = TypeVar("N", int, float)


def values_from_key(aggregates: Iterable[Aggregate], key: str) -> set[str]:
    """Nova's filters.utils.aggregate_values_from_key: the raw values of `key`."""
    return {agg.metadata[key] for agg in aggregates if key in agg.metadata}


def metadata_by_host(aggregates: Iterable[Aggregate]) -> dict[str, set[str]]:
    """Nova's filters.utils.aggregate_metadata_get_by_host (no key).

    Every key of every aggregate, each value split on commas and stripped.
    """
    metadata: dict[str, set[str]] = defaultdict(set)
    for agg in aggregates:
        for key, value in agg.metadata.items():
            metadata[key].update(part.strip() for part in value.split(","))
    return dict(metadata)


def validate_num_values(values: set[str], default: N, cast: Callable[[str], N]) -> N:
    """Nova's filters.utils.validate_num_values with based_on=min.

    No values: the default. Otherwise the smallest, cast; a value that does
    not cast raises ValueError (callers fall back to the default, as Nova).
    Unlike Nova, a non-finite float ("nan", "inf") is refused too, so sums of
    weights stay finite.
    """
    if not values:
        return default
    numbers = [cast(v) for v in values]
    if any(isinstance(n, float) and not math.isfinite(n) for n in numbers):
        raise ValueError(f"not a finite number: {sorted(values)}")
    return min(numbers)


def per_aggregate_set(batch: HostBatch, compute: Callable[[list[Aggregate]], T]) -> list[T]:
    """compute(aggregates of the host) for every row, once per distinct aggregate set."""
    cache = {
        ids: compute([batch.aggregates[i] for i in sorted(ids)]) for ids in set(batch.aggregate_ids)
    }
    return list(map(cache.__getitem__, batch.aggregate_ids))


def any_aggregate_has(batch: HostBatch, key: str) -> bool:
    return any(key in agg.metadata for agg in batch.aggregates.values())


def number_per_host(batch: HostBatch, key: str, default: N, cast: Callable[[str], N]) -> list[N]:
    """Per host: the smallest value of aggregate metadata `key`, else `default`.

    Nova's pattern for per-aggregate settings (AggregateIoOpsFilter,
    AggregateNumInstancesFilter, utils.get_weight_multiplier): an undecodable
    value means the configured default.
    """

    if not any_aggregate_has(batch, key):
        return [default] * len(batch)

    def one(aggregates: list[Aggregate]) -> N:
        try:
            return validate_num_values(values_from_key(aggregates, key), default, cast)
        except ValueError:
            return default

    return per_aggregate_set(batch, one)
