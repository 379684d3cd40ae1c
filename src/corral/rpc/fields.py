"""Field kinds of Nova's versioned objects, each with bounds.

A kind checks one primitive value (what oslo.versionedobjects' `to_primitive`
produced and JSON carried) and returns it as a plain Python value: strings,
ints, floats, bools, lists, dicts, and `NovaObject`s for nested objects.
Anything of the wrong type, too long, too many or nested too deep raises
InvalidMessage naming where it was. `describe()` names the kind the way
tools/capture_nova_primitives.py names Nova's field types, so a test can hold
corral's schemas against Nova's.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from corral.rpc.errors import InvalidMessage
from corral.uuids import is_canonical_uuid

# oslo.versionedobjects' IntegerField is a Python int; Nova's columns are 64-bit.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
# Defaults when a field says nothing narrower.
NAME_CHARS = 255
LIST_ITEMS = 10_000
DICT_ITEMS = 1_000
# Objects inside objects: RequestSpec -> SchedulerRetries -> ComputeNodeList ->
# ComputeNode -> PciDevicePoolList -> PciDevicePool is 6 deep; nothing Nova
# sends goes past 8.
MAX_OBJECT_DEPTH = 12

# oslo.versionedobjects' DateTimeField primitive: utils.isotime(), "...Z" or an offset.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class NovaObject:
    """A decoded primitive: its object name, version and checked field values."""

    name: str
    version: tuple[int, int]
    data: Mapping[str, object]

    def get(self, key: str, default: object = None) -> object:
        return self.data.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.data


class Decoder(Protocol):
    """Decodes one nested object primitive; corral.rpc.primitives provides it."""

    def decode_object(
        self, value: object, names: frozenset[str], path: str, depth: int
    ) -> NovaObject: ...

    def check_opaque(self, value: object, names: frozenset[str], path: str, depth: int) -> None: ...


class Kind(Protocol):
    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object: ...

    def describe(self) -> str: ...


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class Str:
    max_length: int = NAME_CHARS
    # Nova's enum fields are strings too; their choices are not checked here.
    name: str = "str"

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, str):
            raise InvalidMessage(path, f"expected a string, got {_type_name(value)}")
        if len(value) > self.max_length:
            raise InvalidMessage(
                path, f"string of {len(value)} characters; at most {self.max_length} allowed"
            )
        return value

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Uuid:
    # Nova types some uuids as plain strings (aggregate uuids in sets of strings).
    name: str = "uuid"

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, str) or not is_canonical_uuid(value):
            shown = repr(value)[:60] if isinstance(value, str) else _type_name(value)
            raise InvalidMessage(path, f"expected a UUID, got {shown}")
        return value.lower()

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Int:
    minimum: int = INT_MIN
    maximum: int = INT_MAX

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidMessage(path, f"expected an integer, got {_type_name(value)}")
        if not self.minimum <= value <= self.maximum:
            raise InvalidMessage(path, f"{value} is out of range {self.minimum}..{self.maximum}")
        return value

    def describe(self) -> str:
        return "int"


@dataclass(frozen=True)
class Float:
    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMessage(path, f"expected a number, got {_type_name(value)}")
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e18:
            raise InvalidMessage(path, f"{value!r} is not a finite number of sane size")
        return number

    def describe(self) -> str:
        return "float"


@dataclass(frozen=True)
class Bool:
    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, bool):
            raise InvalidMessage(path, f"expected true or false, got {_type_name(value)}")
        return value

    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True)
class DateTime:
    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, str) or len(value) > 40 or not _DATETIME.match(value):
            shown = repr(value)[:60] if isinstance(value, str) else _type_name(value)
            raise InvalidMessage(path, f"expected an ISO 8601 time, got {shown}")
        return value

    def describe(self) -> str:
        return "datetime"


@dataclass(frozen=True)
class IpAddress:
    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, str) or len(value) > 64:
            raise InvalidMessage(path, f"expected an IP address, got {_type_name(value)}")
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise InvalidMessage(path, f"{value!r} is not an IP address") from None
        return value

    def describe(self) -> str:
        return "ip"


@dataclass(frozen=True)
class Loose:
    """A field of a newer minor version than corral knows: a scalar, or a short
    list of short scalars; anything richer is refused."""

    max_length: int = 65_535
    max_items: int = 256

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        scalars = (str, int, float, bool)
        if value is None or isinstance(value, scalars):
            if isinstance(value, str) and len(value) > self.max_length:
                raise InvalidMessage(path, f"string of {len(value)} characters is too long")
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidMessage(path, "not a finite number")
            return value
        if isinstance(value, list) and len(value) <= self.max_items:
            for item in value:
                if not isinstance(item, scalars) or (
                    isinstance(item, str) and len(item) > NAME_CHARS
                ):
                    raise InvalidMessage(path, "expected a list of short scalars")
            return list(value)
        raise InvalidMessage(path, "expected a scalar or a short list of scalars")

    def describe(self) -> str:
        return "any"


@dataclass(frozen=True)
class ListOf:
    """A ListOf*/SetOf* field: a JSON list (oslo sends sets as lists)."""

    item: Kind
    max_items: int = LIST_ITEMS

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, list):
            raise InvalidMessage(path, f"expected a list, got {_type_name(value)}")
        if len(value) > self.max_items:
            raise InvalidMessage(path, f"{len(value)} items; at most {self.max_items} allowed")
        return [self.item.decode(v, f"{path}[{i}]", decoder, depth) for i, v in enumerate(value)]

    def describe(self) -> str:
        return f"list:{self.item.describe()}"


@dataclass(frozen=True)
class Nullable:
    """An element that may be null (Nova's DictOfNullableStrings and the like)."""

    item: Kind

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        return None if value is None else self.item.decode(value, path, decoder, depth)

    def describe(self) -> str:
        return self.item.describe()


@dataclass(frozen=True)
class DictOf:
    value: Kind
    max_items: int = DICT_ITEMS
    key_length: int = NAME_CHARS

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        if not isinstance(value, dict):
            raise InvalidMessage(path, f"expected an object, got {_type_name(value)}")
        if len(value) > self.max_items:
            raise InvalidMessage(path, f"{len(value)} keys; at most {self.max_items} allowed")
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > self.key_length:
                raise InvalidMessage(
                    path, f"keys must be strings of 1 to {self.key_length} characters"
                )
            out[key] = self.value.decode(item, f"{path}.{key}", decoder, depth)
        return out

    def describe(self) -> str:
        return f"dict:{self.value.describe()}"


@dataclass(frozen=True)
class Obj:
    """A nested object of one of these names, decoded field by field."""

    names: frozenset[str]

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        return decoder.decode_object(value, self.names, path, depth + 1)

    def describe(self) -> str:
        return "object:" + "|".join(sorted(self.names))


@dataclass(frozen=True)
class Opaque:
    """A nested object corral never reads (an Instance's info cache, say).

    Its envelope is checked (name, namespace, version) and its data only for
    size and depth; it decodes to None, so nothing downstream can use it.
    """

    names: frozenset[str]

    def decode(self, value: object, path: str, decoder: Decoder, depth: int) -> object:
        decoder.check_opaque(value, self.names, path, depth + 1)
        return None

    def describe(self) -> str:
        return "object:" + "|".join(sorted(self.names))


def obj(*names: str) -> Obj:
    return Obj(frozenset(names))


def opaque(*names: str) -> Opaque:
    return Opaque(frozenset(names))


@dataclass(frozen=True)
class Field:
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True)
class ObjectSchema:
    """One Nova object: the version corral knows and its fields at that version.

    Older minor versions are accepted (Nova only ever adds fields in a minor
    version); a newer minor is refused unless `newer_minor_ok`, for objects
    whose later fields corral can carry without understanding them
    (`extra_field` then checks their values). Another major is refused.
    """

    name: str
    major: int
    minor: int
    fields: Mapping[str, Field]
    newer_minor_ok: bool = False
    extra_field: Kind | None = None
    # A hook that checks the decoded data as a whole (one field requires another).
    check: Callable[[Mapping[str, object], str], None] | None = field(default=None, compare=False)

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"
