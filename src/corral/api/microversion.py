"""Placement microversions: parsing the header and gating handlers by version."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_TYPE = "placement"
HEADER = "openstack-api-version"
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 39)


class VersionParseError(ValueError):
    """The header is there but its value is not a version string (400)."""


class VersionNotAvailable(ValueError):
    """A well-formed version outside MIN..MAX (406)."""


@dataclass(frozen=True, order=True, slots=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        """True when the request version is 1.minor or newer."""
        return (self.major, self.minor) >= (1, minor)


MIN = Version(*MIN_VERSION)
MAX = Version(*MAX_VERSION)


def parse(value: str) -> Version:
    value = value.strip()
    if value == "latest":
        return MAX
    parts = value.split(".", 1)
    try:
        if len(parts) != 2:
            raise ValueError("needs major.minor")
        version = Version(int(parts[0]), int(parts[1]))
    except ValueError as exc:
        raise VersionParseError(f"invalid version string: {value}; {exc}") from None
    if version.major != 1 or not MIN <= version <= MAX:
        raise VersionNotAvailable(f"Unacceptable version header: {value}")
    return version


def from_header(header_value: str | None) -> Version:
    """The version asked for in `OpenStack-API-Version` (minimum when absent).

    The header may name several services (`compute 2.1, placement 1.5`); only
    the last `placement` entry counts, as in microversion-parse.
    """
    if not header_value:
        return MIN
    for part in reversed(header_value.split(",")):
        words = part.strip().split(None, 1)
        if len(words) == 2 and words[0].lower() == SERVICE_TYPE:
            return parse(words[1])
    return MIN
