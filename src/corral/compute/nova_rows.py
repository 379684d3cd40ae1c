"""Nova's compute_nodes, instance_extra and instance_group_policy rows, validated
and turned into corral's records (corral.store.compute_hosts.NodeValues, the
flavor form the RPC casts record, server group rules).

Mirrors what nova.objects.ComputeNode._from_db_object decodes (cpu_info,
stats, metrics, numa_topology, pci_stats, supported_instances JSON columns),
with bounds Nova's objects leave to the database: a row that does not
validate raises BadRow and the feed skips its host rather than guess.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from typing import Any

from corral.compute.hardware import numa, pci
from corral.compute.hardware.primitives import unwrap
from corral.store.compute_hosts import NodeValues
from corral.store.nova_db.reader import NovaGroup, NovaNode

# Nova's integer columns are 32-bit; anything above is not a real count.
MAX_COUNT = 2**31 - 1
MAX_NAME = 255
NOVA_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


class BadRow(ValueError):
    """A Nova row corral will not believe."""


# --- validating Nova's rows ------------------------------------------------------


def _load(value: str | None, what: str, kind: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise BadRow(f"{what} is not JSON ({exc})") from None
    decoded = unwrap(decoded)
    if decoded is None:
        return default
    if not isinstance(decoded, kind):
        raise BadRow(f"{what} is not of the JSON type expected")
    return decoded


def _count(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRow(f"{what} is not an integer: {value!r}") from None
    if not 0 <= number <= MAX_COUNT:
        raise BadRow(f"{what} out of bounds: {number}")
    return number


def _stats(node: NovaNode) -> tuple[dict[str, Any], int, int]:
    """Nova's stats (ComputeCapabilitiesFilter's view), num_io_ops and failed_builds."""
    stats = _load(node.stats, "stats", dict, {})
    for key, value in stats.items():
        if not isinstance(key, str) or len(key) > MAX_NAME:
            raise BadRow(f"stats key {key!r} is not a name")
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise BadRow(f"stats[{key}] is not a scalar")
    # nova.compute.stats: io_workload is Nova's num_io_ops, failed_builds its own key.
    io_ops = _count(stats.get("io_workload", 0), "stats io_workload")
    failed = _count(stats.get("failed_builds", 0), "stats failed_builds")
    return stats, io_ops, failed


def _metrics(node: NovaNode) -> dict[str, float]:
    """Nova's MonitorMetricList JSON: [{"name": ..., "value": ...}, ...]."""
    raw = _load(node.metrics, "metrics", list, [])
    out: dict[str, float] = {}
    for item in raw:
        item = unwrap(item)
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise BadRow("metrics entry without a name")
        try:
            value = float(item.get("value"))  # type: ignore[arg-type]  # TypeError caught
        except (TypeError, ValueError):
            raise BadRow(f"metric {item['name']} is not a number") from None
        if not math.isfinite(value):
            raise BadRow(f"metric {item['name']} is not finite")
        out[item["name"]] = value
    return out


def _numa(node: NovaNode) -> dict[str, Any] | None:
    topology = _load(node.numa_topology, "numa_topology", dict, None)
    if topology is None:
        return None
    try:
        parsed = numa.host_topology(topology)
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRow(f"numa_topology does not parse ({exc!r})") from None
    for cell in parsed.cells:
        sizes = (cell.id, cell.memory, cell.cpu_usage, cell.memory_usage)
        if min(sizes, default=0) < 0 or any(c < 0 for c in cell.cpuset | cell.pcpuset):
            raise BadRow(f"numa_topology cell {cell.id} has a negative number")
        if any(p.size_kb <= 0 or p.total < 0 or p.used < 0 for p in cell.mempages):
            raise BadRow(f"numa_topology cell {cell.id} has a bad page count")
    return topology


def _pci(node: NovaNode) -> list[dict[str, Any]]:
    """PciDevicePoolList: {"nova_object.data": {"objects": [pool, ...]}} or a list."""
    if node.pci_stats is None or node.pci_stats == "":
        return []
    raw = _load(node.pci_stats, "pci_stats", dict | list, [])
    if isinstance(raw, Mapping):
        raw = unwrap(raw.get("objects")) or []
    if not isinstance(raw, list):
        raise BadRow("pci_stats is not a list of pools")
    pools = [dict(unwrap(p)) if isinstance(unwrap(p), Mapping) else p for p in raw]
    try:
        parsed = pci.host_pools(pools)
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRow(f"pci_stats does not parse ({exc!r})") from None
    if any(int(p["count"]) < 0 for p in parsed):
        raise BadRow("pci_stats has a negative count")
    return pools


def _supported(node: NovaNode) -> list[list[str]]:
    raw = _load(node.supported_instances, "supported_instances", list, [])
    if not all(
        isinstance(s, list) and len(s) == 3 and all(isinstance(x, str) for x in s) for s in raw
    ):
        raise BadRow("supported_instances is not a list of [arch, hv_type, vm_mode]")
    return [list(s) for s in raw]


def _host_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadRow(f"host_ip {value!r} is not an address") from None


def node_values(node: NovaNode, cell_uuid: str) -> NodeValues:
    """corral's record of one compute_nodes row; BadRow when it does not validate."""
    if not node.uuid or not node.hypervisor_hostname:
        raise BadRow("compute node without uuid or hypervisor_hostname")
    # Sizes are Placement's (inventories Nova's compute reports); they are
    # checked only so that a corrupt row is noticed rather than half-believed.
    for name in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used"):
        value = getattr(node, name)
        if value is not None:
            _count(value, name)
    for name in ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio"):
        ratio = getattr(node, name)
        if ratio is not None and (not math.isfinite(ratio) or ratio < 0):
            raise BadRow(f"{name} out of bounds: {ratio}")
    stats, io_ops, failed = _stats(node)
    return NodeValues(
        provider_uuid=node.uuid,
        hypervisor_type=(node.hypervisor_type or "")[:MAX_NAME],
        hypervisor_version=_count(node.hypervisor_version or 0, "hypervisor_version"),
        hypervisor_hostname=node.hypervisor_hostname,
        cpu_info=_load(node.cpu_info, "cpu_info", dict, {}),
        capabilities=stats,
        metrics=_metrics(node),
        supported_instances=_supported(node),
        host_ip=_host_ip(node.host_ip),
        numa_topology=_numa(node),
        pci_stats=_pci(node),
        num_io_ops=io_ops,
        failed_builds=failed,
        cell_uuid=cell_uuid,
    )


def flavor_of(extra: str | None) -> dict[str, Any] | None:
    """The current flavor from instance_extra.flavor ({"cur": Flavor primitive, ...}),
    in the form the RPC casts record (corral.rpc.reports); None when unreadable."""
    try:
        outer = json.loads(extra) if extra else None
        cur = unwrap(outer.get("cur")) if isinstance(outer, Mapping) else None
    except (TypeError, ValueError):
        return None
    if not isinstance(cur, Mapping):
        return None
    out: dict[str, Any] = {}
    for key in ("vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap"):
        try:
            out[key] = _count(cur.get(key, 0), key)
        except BadRow:
            return None
    out["name"] = str(cur.get("name") or "")
    out["flavorid"] = str(cur.get("flavorid") or "")
    specs = cur.get("extra_specs") or {}
    out["extra_specs"] = (
        {str(k): str(v) for k, v in specs.items()} if isinstance(specs, Mapping) else {}
    )
    return out


def group_rules(group: NovaGroup) -> dict[str, Any]:
    rules = _load(group.rules, "rules", dict, {})
    if group.policy not in NOVA_POLICIES:
        raise BadRow(f"policy {group.policy!r} is not one of Nova's")
    return rules
