"""Checks and decodes Nova versioned-object primitives, without Nova.

A primitive is what oslo.versionedobjects' `obj_to_primitive` makes of an
object and JSON carries:

    {"nova_object.name": "Flavor", "nova_object.namespace": "nova",
     "nova_object.version": "1.2", "nova_object.data": {...},
     "nova_object.changes": [...]}

`decode()` checks the envelope (a known name where that name is expected,
namespace "nova", a version corral understands), then every field against
corral.rpc.objects: no unknown field, the right type, bounded sizes, objects
nested no deeper than MAX_OBJECT_DEPTH. The first problem raises
InvalidMessage with the path of the offending value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from corral.rpc.errors import InvalidMessage
from corral.rpc.fields import MAX_OBJECT_DEPTH, NovaObject, ObjectSchema
from corral.rpc.objects import OPAQUE_MAJORS, SCHEMAS

NAME_KEY = "nova_object.name"
NAMESPACE_KEY = "nova_object.namespace"
VERSION_KEY = "nova_object.version"
DATA_KEY = "nova_object.data"
CHANGES_KEY = "nova_object.changes"
ENVELOPE_KEYS = frozenset({NAME_KEY, NAMESPACE_KEY, VERSION_KEY, DATA_KEY, CHANGES_KEY})
NAMESPACE = "nova"

_VERSION = re.compile(r"^(\d{1,4})\.(\d{1,4})$")
# Field names a newer minor version may add (Nova's are snake_case).
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
MAX_FIELDS = 512

# Bounds on the data of an opaque object, which is not read field by field.
OPAQUE_MAX_NODES = 100_000
OPAQUE_MAX_DEPTH = 32
OPAQUE_MAX_STRING = 1_048_576


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _expected(names: frozenset[str]) -> str:
    return " or ".join(sorted(names))


class PrimitiveDecoder:
    """Decodes primitives by the schemas of corral.rpc.objects."""

    def __init__(
        self,
        schemas: Mapping[str, ObjectSchema] = SCHEMAS,
        opaque_majors: Mapping[str, int] = OPAQUE_MAJORS,
        max_depth: int = MAX_OBJECT_DEPTH,
    ) -> None:
        self.schemas = schemas
        self.opaque_majors = opaque_majors
        self.max_depth = max_depth

    def decode(self, value: object, names: frozenset[str] | str, path: str) -> NovaObject:
        """The top-level object of an RPC argument."""
        expected = frozenset({names}) if isinstance(names, str) else names
        return self.decode_object(value, expected, path, 1)

    # -- the envelope -----------------------------------------------------------

    def _envelope(
        self, value: object, names: frozenset[str], path: str, depth: int
    ) -> tuple[str, tuple[int, int], dict[str, object]]:
        if depth > self.max_depth:
            raise InvalidMessage(path, f"objects nested more than {self.max_depth} deep")
        if not isinstance(value, dict):
            raise InvalidMessage(
                path, f"expected a Nova object ({_expected(names)}), got {_type_name(value)}"
            )
        unknown = set(value) - ENVELOPE_KEYS
        if unknown:
            shown = ", ".join(sorted(str(k)[:40] for k in unknown)[:5])
            raise InvalidMessage(path, f"not a Nova object primitive (unexpected keys: {shown})")
        missing = [k for k in (NAME_KEY, NAMESPACE_KEY, VERSION_KEY, DATA_KEY) if k not in value]
        if missing:
            raise InvalidMessage(path, f"not a Nova object primitive (no {', '.join(missing)})")
        name = value[NAME_KEY]
        if not isinstance(name, str) or name not in names:
            shown = repr(name)[:60] if isinstance(name, str) else _type_name(name)
            raise InvalidMessage(path, f"expected a {_expected(names)} object, got {shown}")
        if value[NAMESPACE_KEY] != NAMESPACE:
            raise InvalidMessage(
                path, f"{name}: namespace {str(value[NAMESPACE_KEY])[:60]!r}, expected 'nova'"
            )
        raw_version = value[VERSION_KEY]
        match = _VERSION.match(raw_version) if isinstance(raw_version, str) else None
        if match is None:
            raise InvalidMessage(path, f"{name}: malformed version {str(raw_version)[:20]!r}")
        version = (int(match.group(1)), int(match.group(2)))
        data = value[DATA_KEY]
        if not isinstance(data, dict):
            raise InvalidMessage(path, f"{name}: data is a {_type_name(data)}, not an object")
        if len(data) > MAX_FIELDS:
            raise InvalidMessage(path, f"{name}: {len(data)} fields")
        changes = value.get(CHANGES_KEY, [])
        if (
            not isinstance(changes, list)
            or len(changes) > MAX_FIELDS
            or not all(isinstance(c, str) and len(c) <= 128 for c in changes)
        ):
            raise InvalidMessage(path, f"{name}: changes must be a list of field names")
        return name, version, data

    # -- decoding ---------------------------------------------------------------

    def decode_object(
        self, value: object, names: frozenset[str], path: str, depth: int
    ) -> NovaObject:
        name, version, data = self._envelope(value, names, path, depth)
        schema = self.schemas.get(name)
        if schema is None:  # a schema names a child that is not modelled
            raise InvalidMessage(path, f"{name} objects are not accepted here")
        newer = version[1] > schema.minor
        if version[0] != schema.major or (newer and not schema.newer_minor_ok):
            raise InvalidMessage(
                path,
                f"{name} version {version[0]}.{version[1]} is not supported "
                f"(corral understands {schema.major}.0 to {schema.version})",
            )
        out: dict[str, object] = {}
        for key, raw in data.items():
            where = f"{path}.{key}"
            spec = schema.fields.get(key)
            if spec is None:
                if newer and schema.extra_field is not None and _FIELD_NAME.match(key):
                    out[key] = schema.extra_field.decode(raw, where, self, depth)
                    continue
                raise InvalidMessage(where, f"{name} {version[0]}.{version[1]} has no such field")
            if raw is None:
                if not spec.nullable:
                    raise InvalidMessage(where, "may not be null")
                out[key] = None
                continue
            out[key] = spec.kind.decode(raw, where, self, depth)
        decoded = NovaObject(name, version, out)
        if schema.check is not None:
            schema.check(decoded.data, path)
        return decoded

    def check_opaque(self, value: object, names: frozenset[str], path: str, depth: int) -> None:
        name, version, data = self._envelope(value, names, path, depth)
        major = self.opaque_majors.get(name)
        if major is None or version[0] != major:
            raise InvalidMessage(path, f"{name} version {version[0]}.{version[1]} is not supported")
        _check_bounded(data, path, depth=0, budget=[OPAQUE_MAX_NODES])


def _check_bounded(value: object, path: str, *, depth: int, budget: list[int]) -> None:
    """Plain JSON, not too deep, not too many values, no huge strings."""
    budget[0] -= 1
    if budget[0] < 0:
        raise InvalidMessage(path, f"more than {OPAQUE_MAX_NODES} values")
    if depth > OPAQUE_MAX_DEPTH:
        raise InvalidMessage(path, f"nested more than {OPAQUE_MAX_DEPTH} deep")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > 255:
                raise InvalidMessage(path, "keys must be short strings")
            _check_bounded(item, path, depth=depth + 1, budget=budget)
    elif isinstance(value, list):
        for item in value:
            _check_bounded(item, path, depth=depth + 1, budget=budget)
    elif isinstance(value, str):
        if len(value) > OPAQUE_MAX_STRING:
            raise InvalidMessage(path, f"a string of {len(value)} characters")
    elif value is not None and not isinstance(value, int | float | bool):
        raise InvalidMessage(path, f"unexpected {_type_name(value)}")


def plain(value: object) -> object:
    """Decoded objects as nested plain data (what corral.compute.hardware reads)."""
    if isinstance(value, NovaObject):
        return {k: plain(v) for k, v in value.data.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


DECODER = PrimitiveDecoder()
