"""The bounds Nova object fields are held to, and the helpers that declare schemas.

Shared by corral.rpc.objects (what scheduling reads) and
corral.rpc.cast_objects (what Nova's casts to the scheduler carry).
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.rpc.fields import (
    Bool,
    DateTime,
    Field,
    Int,
    Kind,
    ListOf,
    ObjectSchema,
    Str,
    Uuid,
    obj,
)

# Bounds. Names (hosts, nodes, traits, resource classes) are 255 in Nova's and
# Placement's tables; free text is bounded by what Nova's API accepts.
NAME = Str()
TEXT = Str(max_length=65_535)
# JSON documents Nova keeps in string fields (a compute node's cpu_info, say).
DOCUMENT = Str(max_length=1_048_576)
URL = Str(max_length=4096)
NAMES = ListOf(NAME)
HOSTS = ListOf(NAME, max_items=10_000)
COUNT = Int(0)
# An aggregate uuid, in fields Nova types as strings.
AGGREGATE_UUID = Uuid(name="str")
SMALL_COUNT = Int(0, 1_000_000)


def f(kind: Kind, nullable: bool = False) -> Field:
    return Field(kind, nullable)


def schema(name: str, version: str, fields: Mapping[str, Field]) -> ObjectSchema:
    major, minor = (int(p) for p in version.split("."))
    return ObjectSchema(name, major, minor, dict(fields))


def list_of(name: str, version: str, item: str, max_items: int = 10_000) -> ObjectSchema:
    """An ObjectListBase: `objects`, a list of one object type."""
    return schema(name, version, {"objects": f(ListOf(obj(item), max_items))})


# NovaPersistentObject's fields, on Flavor, InstanceGroup, Aggregate, ...
PERSISTENT = {
    "created_at": f(DateTime(), True),
    "updated_at": f(DateTime(), True),
    "deleted_at": f(DateTime(), True),
    "deleted": f(Bool()),
}
