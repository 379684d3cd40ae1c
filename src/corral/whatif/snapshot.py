"""A cloud's snapshot: one versioned JSON document (optionally gzip) holding
what the scheduler decides over.

    {"format": "corral-snapshot", "version": 1, "taken_at": ..., "source": ...,
     "resource_classes": [custom class names], "traits": [custom trait names],
     "providers": [{uuid, name, parent_uuid, inventories: {class: {total,
                    reserved, min_unit, max_unit, step_size, allocation_ratio}},
                    traits: [...], aggregates: [uuid...]}],
     "hosts": [{name, disabled, disabled_reason, forced_down, up (its
                service was up when taken),
                nodes: [{nodename, provider_uuid, hypervisor_type, ...}]}],
     "aggregates": [{uuid, name, hosts: [...], metadata: {...}}],
     "server_groups": [{uuid, name, policy, rules, project_id, user_id, members}],
     "instances": [{uuid, host, node, provider_uuid, project_id, user_id,
                    flavor, image_properties}],
     "allocations": [{consumer_uuid, project_id, user_id,
                      allocations: {provider uuid: {class: amount}}}]}

`take` writes one from a running corral over HTTP (corral.client): the
Placement API for providers, inventories, traits, aggregates and allocations,
/scheduler/v1 for hosts, host aggregates, server groups and instances, the same
records `GET` shows there. `load` reads one back and checks it against
`SNAPSHOT_SCHEMA` (bounded sizes, lengths and amounts) and its cross references
before anything uses it: a snapshot is input.
"""

from __future__ import annotations

import datetime
import gzip
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from corral.client import SCHEDULER, CorralClient

FORMAT = "corral-snapshot"
VERSION = 1
# Bounds on what a snapshot may hold: far above any cloud corral serves, low
# enough that a hostile file cannot exhaust memory before it is refused.
MAX_PROVIDERS = 200_000
MAX_INSTANCES = 2_000_000
MAX_GROUPS = 200_000
MAX_AGGREGATES = 10_000
MAX_BYTES = 2 * 1024**3
MAX_INT = 2_147_483_647
MAX_BIG_INT = 2**53 - 1

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_OPT_NAME = {"type": ["string", "null"], "maxLength": 255}
_UUID = {"type": "string", "pattern": "^[0-9a-fA-F-]{32,36}$"}
_CLASS = {"type": "string", "pattern": "^[A-Z0-9_]{1,255}$"}
_AMOUNT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
_OBJECT = {"type": "object", "maxProperties": 1000}
_INVENTORY = {
    "type": "object",
    "required": ["total"],
    "properties": {
        "total": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        "reserved": _AMOUNT,
        "min_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        "max_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        "step_size": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        "allocation_ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 3.4e38},
    },
    "additionalProperties": False,
}
_NODE = {
    "type": "object",
    "required": ["nodename", "provider_uuid"],
    "properties": {
        "nodename": _NAME,
        "provider_uuid": _UUID,
        "hypervisor_type": {"type": "string", "maxLength": 255},
        "hypervisor_version": {"type": "integer", "minimum": 0, "maximum": MAX_BIG_INT},
        "hypervisor_hostname": {"type": "string", "maxLength": 255},
        "cpu_info": _OBJECT,
        "capabilities": _OBJECT,
        "metrics": _OBJECT,
        "supported_instances": {"type": "array", "maxItems": 1000},
        "host_ip": {"type": ["string", "null"], "maxLength": 64},
        "numa_topology": {"type": ["object", "null"]},
        "pci_stats": {"type": "array", "maxItems": 10_000},
        "num_io_ops": _AMOUNT,
        "failed_builds": _AMOUNT,
        "cell_uuid": {"type": ["string", "null"], "maxLength": 36},
    },
}
SNAPSHOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "providers", "hosts"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "taken_at": {"type": "string", "maxLength": 64},
        "source": {"type": "string", "maxLength": 2048},
        "resource_classes": {"type": "array", "items": _CLASS, "maxItems": 10_000},
        "traits": {"type": "array", "items": _CLASS, "maxItems": 10_000},
        "providers": {
            "type": "array",
            "maxItems": MAX_PROVIDERS,
            "items": {
                "type": "object",
                "required": ["uuid", "name"],
                "properties": {
                    "uuid": _UUID,
                    "name": _NAME,
                    "parent_uuid": {"anyOf": [_UUID, {"type": "null"}]},
                    "inventories": {
                        "type": "object",
                        "maxProperties": 1000,
                        "propertyNames": _CLASS,
                        "additionalProperties": _INVENTORY,
                    },
                    "traits": {"type": "array", "items": _CLASS, "maxItems": 1000},
                    "aggregates": {"type": "array", "items": _UUID, "maxItems": 1000},
                },
            },
        },
        "hosts": {
            "type": "array",
            "maxItems": MAX_PROVIDERS,
            "items": {
                "type": "object",
                "required": ["name", "nodes"],
                "properties": {
                    "name": _NAME,
                    "disabled": {"type": "boolean"},
                    "disabled_reason": _OPT_NAME,
                    "forced_down": {"type": "boolean"},
                    "up": {"type": "boolean"},
                    "nodes": {"type": "array", "items": _NODE, "minItems": 1, "maxItems": 10_000},
                },
            },
        },
        "aggregates": {
            "type": "array",
            "maxItems": MAX_AGGREGATES,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "uuid": _UUID,
                    "name": _NAME,
                    "hosts": {"type": "array", "items": _NAME, "maxItems": MAX_PROVIDERS},
                    "metadata": {
                        "type": "object",
                        "maxProperties": 1000,
                        "additionalProperties": {"type": "string", "maxLength": 255},
                    },
                },
            },
        },
        "server_groups": {
            "type": "array",
            "maxItems": MAX_GROUPS,
            "items": {
                "type": "object",
                "required": ["uuid", "name", "policy"],
                "properties": {
                    "uuid": _UUID,
                    "name": _NAME,
                    "policy": {"type": "string", "maxLength": 255},
                    "rules": _OBJECT,
                    "project_id": {"type": "string", "maxLength": 255},
                    "user_id": {"type": "string", "maxLength": 255},
                    "members": {"type": "array", "items": _UUID, "maxItems": 100_000},
                },
            },
        },
        "instances": {
            "type": "array",
            "maxItems": MAX_INSTANCES,
            "items": {
                "type": "object",
                "required": ["uuid", "host", "node"],
                "properties": {
                    "uuid": _UUID,
                    "host": _NAME,
                    "node": _NAME,
                    "provider_uuid": {"anyOf": [_UUID, {"type": "null"}]},
                    "project_id": {"type": "string", "maxLength": 255},
                    "user_id": {"type": "string", "maxLength": 255},
                    "flavor": _OBJECT,
                    "image_properties": _OBJECT,
                },
            },
        },
        "allocations": {
            "type": "array",
            "maxItems": MAX_INSTANCES,
            "items": {
                "type": "object",
                "required": ["consumer_uuid", "allocations"],
                "properties": {
                    "consumer_uuid": _UUID,
                    "project_id": {"type": "string", "maxLength": 255},
                    "user_id": {"type": "string", "maxLength": 255},
                    "allocations": {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1000,
                        "propertyNames": _UUID,
                        "additionalProperties": {
                            "type": "object",
                            "minProperties": 1,
                            "propertyNames": _CLASS,
                            "additionalProperties": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_INT,
                            },
                        },
                    },
                },
            },
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(SNAPSHOT_SCHEMA)


class SnapshotError(ValueError):
    """The file is not a snapshot corral can load; the message says where."""


Snapshot = dict[str, Any]


# --- reading and writing the file ------------------------------------------------


def validate(document: Any) -> Snapshot:
    """The document if it is a snapshot within bounds whose references hold;
    SnapshotError naming the first problem otherwise."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise SnapshotError(f"snapshot {where}: {error.message[:300]}")
    snapshot: Snapshot = document
    providers = {p["uuid"] for p in snapshot["providers"]}
    if len(providers) != len(snapshot["providers"]):
        raise SnapshotError("snapshot providers: a provider uuid appears twice")
    for p in snapshot["providers"]:
        if p.get("parent_uuid") is not None and p["parent_uuid"] not in providers:
            raise SnapshotError(f"snapshot provider {p['uuid']}: unknown parent_uuid")
    hosts = set()
    for host in snapshot["hosts"]:
        if host["name"] in hosts:
            raise SnapshotError(f"snapshot hosts: {host['name']!r} appears twice")
        hosts.add(host["name"])
        for node in host["nodes"]:
            if node["provider_uuid"] not in providers:
                raise SnapshotError(
                    f"snapshot host {host['name']!r}: node {node['nodename']!r} names "
                    f"provider {node['provider_uuid']}, which the snapshot does not hold"
                )
    for aggregate in snapshot.get("aggregates", []):
        unknown = sorted(set(aggregate.get("hosts", [])) - hosts)
        if unknown:
            raise SnapshotError(
                f"snapshot aggregate {aggregate['name']!r}: unknown hosts {unknown[:5]}"
            )
    for consumer in snapshot.get("allocations", []):
        unknown = sorted(set(consumer["allocations"]) - providers)
        if unknown:
            raise SnapshotError(
                f"snapshot allocations of {consumer['consumer_uuid']}: unknown providers "
                f"{unknown[:5]}"
            )
    return snapshot


def load(path: Path | str) -> Snapshot:
    """Read and validate a snapshot file (gzip when it starts with gzip's magic)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SnapshotError(f"{path}: {size} bytes, more than a snapshot may be")
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as stream:
                raw = stream.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                raise SnapshotError(f"{path}: more than {MAX_BYTES} bytes once unpacked")
        document = json.loads(raw)
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc.strerror or exc}") from None
    except (ValueError, EOFError) as exc:
        raise SnapshotError(f"{path}: not a JSON snapshot ({exc})") from None
    return validate(document)


def save(snapshot: Snapshot, path: Path | str) -> None:
    """Write the snapshot; gzip when the name ends in .gz."""
    path = Path(path)
    data = json.dumps(snapshot, separators=(",", ":"), sort_keys=True).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


# --- taking one from a running corral -------------------------------------------------

_NODE_FIELDS = tuple(_NODE["properties"])
_PLACEMENT_PAGE = 1000


def _pages(client: CorralClient, path: str, key: str, marker_of: str) -> list[dict[str, Any]]:
    """Every item of a /scheduler/v1 list, page by page (marker = last item's field)."""
    out: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        query = {"limit": str(_PLACEMENT_PAGE)}
        if marker is not None:
            query["marker"] = marker
        page = client.request("GET", f"{SCHEDULER}/{path}?{urllib.parse.urlencode(query)}")[key]
        out.extend(page)
        if len(page) < _PLACEMENT_PAGE:
            return out
        marker = str(page[-1][marker_of])


def _groups(client: CorralClient) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        query = urllib.parse.urlencode({"limit": _PLACEMENT_PAGE, "offset": len(out)})
        page = client.request("GET", f"{SCHEDULER}/server_groups?{query}")["server_groups"]
        out.extend(page)
        if len(page) < _PLACEMENT_PAGE:
            return out


def take(client: CorralClient, *, step: Callable[[str], None] | None = None) -> Snapshot:
    """The cloud the service at `client` holds now, as a snapshot.

    Several reads, not one transaction: a cloud that changes while it is taken
    may give a snapshot no single moment had (the allocations are read last,
    so a consumer whose instance was deleted meanwhile is left out).
    `step` is told what is being read, for a progress line.
    """
    tell = step or (lambda _what: None)
    tell("resource classes and traits")
    classes = [
        c["name"]
        for c in client.request("GET", "/resource_classes")["resource_classes"]
        if c["name"].startswith("CUSTOM_")
    ]
    traits = [
        t
        for t in client.request("GET", "/traits?name=startswith:CUSTOM_")["traits"]
        if t.startswith("CUSTOM_")
    ]
    tell("resource providers")
    providers: list[dict[str, Any]] = []
    consumers: set[str] = set()
    for rp in client.request("GET", "/resource_providers")["resource_providers"]:
        base = f"/resource_providers/{rp['uuid']}"
        inventories = client.request("GET", f"{base}/inventories")["inventories"]
        providers.append(
            {
                "uuid": rp["uuid"],
                "name": rp["name"],
                "parent_uuid": rp.get("parent_provider_uuid"),
                "inventories": {
                    rc: {
                        k: inv[k]
                        for k in _INVENTORY["properties"]  # type: ignore[attr-defined]
                        if k in inv
                    }
                    for rc, inv in inventories.items()
                },
                "traits": sorted(client.request("GET", f"{base}/traits")["traits"]),
                "aggregates": sorted(client.request("GET", f"{base}/aggregates")["aggregates"]),
            }
        )
        consumers.update(client.request("GET", f"{base}/allocations")["allocations"])
    # Parents before children, so a loader can create them in file order.
    providers = _parents_first(providers)
    tell("compute hosts")
    hosts = []
    for host in _pages(client, "hosts", "hosts", "name"):
        service = host.get("service") or {}
        hosts.append(
            {
                "name": host["name"],
                "disabled": bool(service.get("disabled", False)),
                "disabled_reason": service.get("disabled_reason"),
                "forced_down": bool(service.get("forced_down", False)),
                "up": bool(service.get("up", True)),
                "nodes": [
                    {k: node[k] for k in _NODE_FIELDS if k in node} for node in host["nodes"]
                ],
            }
        )
    tell("aggregates and server groups")
    aggregates = [
        {"uuid": a["uuid"], "name": a["name"], "hosts": a["hosts"], "metadata": a["metadata"]}
        for a in client.request("GET", f"{SCHEDULER}/aggregates")["aggregates"]
    ]
    groups = [
        {
            "uuid": g["id"],
            "name": g["name"],
            "policy": g["policy"],
            "rules": g.get("rules") or {},
            "project_id": g.get("project_id") or "",
            "user_id": g.get("user_id") or "",
            "members": g.get("members") or [],
        }
        for g in _groups(client)
    ]
    tell("instances")
    instances = [
        {
            k: i[k]
            for k in (
                "uuid",
                "host",
                "node",
                "provider_uuid",
                "project_id",
                "user_id",
                "flavor",
                "image_properties",
            )
            if i.get(k) is not None
        }
        for i in _pages(client, "instances", "instances", "uuid")
    ]
    tell("allocations")
    allocations = []
    for consumer in sorted(consumers):
        held = client.request("GET", f"/allocations/{consumer}")
        if not held.get("allocations"):
            continue
        allocations.append(
            {
                "consumer_uuid": consumer,
                "project_id": held.get("project_id") or "",
                "user_id": held.get("user_id") or "",
                "allocations": {
                    rp: dict(part["resources"]) for rp, part in held["allocations"].items()
                },
            }
        )
    snapshot = {
        "format": FORMAT,
        "version": VERSION,
        "taken_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "source": client.url,
        "resource_classes": sorted(classes),
        "traits": sorted(traits),
        "providers": providers,
        "hosts": hosts,
        "aggregates": aggregates,
        "server_groups": groups,
        "instances": instances,
        "allocations": allocations,
    }
    return validate(snapshot)


def _parents_first(providers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_uuid = {p["uuid"]: p for p in providers}
    done: set[str] = set()
    out: list[dict[str, Any]] = []

    def visit(p: dict[str, Any]) -> None:
        chain = []
        while p["uuid"] not in done:
            chain.append(p)
            done.add(p["uuid"])
            parent = p.get("parent_uuid")
            if parent is None or parent not in by_uuid:
                break
            p = by_uuid[parent]
        out.extend(reversed(chain))

    for p in providers:
        visit(p)
    return out
