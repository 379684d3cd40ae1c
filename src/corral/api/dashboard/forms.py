"""Bounded reading of the dashboard's query strings and forms: a bad value is a 400 page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from corral.errors import BadRequest

# Nova's own bounds for a flavor (nova.api.validation.parameter_types).
MAX_VCPUS = 2**31 - 1
MAX_MEMORY_MB = 2**31 - 1
MAX_DISK_GB = 2**31 - 1
MAX_PAGE = 10_000
# As the scheduler API's host and zone names (corral.api.scheduler.schemas).
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


def integer(
    values: Mapping[str, str], name: str, *, low: int, high: int, default: int | None = None
) -> int | None:
    """`values[name]` as an int within [low, high]; `default` when absent or blank."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,10}", raw):
        raise BadRequest(f"{name} must be a whole number from {low} to {high:,}, not {raw!r}.")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high:,}, not {value:,}.")
    return value


def name(values: Mapping[str, str], key: str) -> str | None:
    """A name (zone, host, project, search text): 1 to 255 printable characters, or None."""
    raw = values.get(key, "").strip()
    if not raw:
        return None
    if not _NAME.match(raw):
        raise BadRequest(f"{key} must be 1 to 255 printable characters.")
    return raw


def page_number(values: Mapping[str, str]) -> int:
    number = integer(values, "page", low=1, high=MAX_PAGE, default=1)
    assert number is not None
    return number


@dataclass(frozen=True)
class Shape:
    """A flavor's size as the explain and host forms ask it."""

    vcpus: int
    memory_mb: int
    disk_gb: int

    def label(self) -> str:
        return f"{self.vcpus} VCPU, {self.memory_mb:,} MB RAM, {self.disk_gb:,} GB disk"


def shape(values: Mapping[str, str], *, required: bool) -> Shape | None:
    """The vcpus / memory_mb / disk_gb fields; None when none is given and none is required."""
    given = any(values.get(k, "").strip() for k in ("vcpus", "memory_mb", "disk_gb"))
    if not given and not required:
        return None
    vcpus = integer(values, "vcpus", low=1, high=MAX_VCPUS, default=1)
    memory = integer(values, "memory_mb", low=1, high=MAX_MEMORY_MB, default=512)
    disk = integer(values, "disk_gb", low=0, high=MAX_DISK_GB, default=0)
    assert vcpus is not None and memory is not None and disk is not None
    return Shape(vcpus, memory, disk)


@dataclass(frozen=True)
class Pages:
    """One page of a long list."""

    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def start(self) -> int:
        return (min(self.number, self.count) - 1) * self.size

    @property
    def stop(self) -> int:
        return min(self.start + self.size, self.total)
