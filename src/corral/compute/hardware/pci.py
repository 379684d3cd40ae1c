"""PCI device pools: Nova's PciDeviceStats.support_requests, over a copy of the pools.

A host's pools are Nova's PciDevicePool dicts as the scheduler sees them
(`product_id`, `vendor_id`, `numa_node`, `count` and the tags flattened in:
`dev_type`, `physical_network`, `remote_managed`, `rp_uuid`, ...; a nested
`tags` dict is flattened the same way). A request is Nova's
InstancePCIRequest (`count`, `spec` list of dicts, `alias_name`,
`request_id`, `requester_id`, `numa_policy`).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oslo_utils import strutils

from corral.compute.hardware.numa import HostTopology, InstanceCell
from corral.compute.hardware.primitives import data, unwrap

Pool = dict[str, Any]

REMOTE_MANAGED_TAG = "remote_managed"
SRIOV_PF = "type-PF"
VDPA = "vdpa"

LEGACY = "legacy"
REQUIRED = "required"
PREFERRED = "preferred"
SOCKET = "socket"

# Matched by Placement's allocation candidates, not here (Nova's ignored tags).
IGNORED_SPEC_TAGS = frozenset({"resource_class", "traits", "rp_uuids"})


@dataclass(frozen=True, slots=True)
class PciRequest:
    count: int
    spec: tuple[Mapping[str, Any], ...]
    alias_name: str | None = None
    request_id: str | None = None
    requester_id: str | None = None
    numa_policy: str | None = None

    @property
    def from_neutron_port(self) -> bool:
        """Nova's InstancePCIRequest.source: port requests carry no alias."""
        return self.alias_name is None

    @classmethod
    def from_data(cls, value: Any) -> PciRequest:
        d = data(value)
        return cls(
            count=int(d["count"]),
            spec=tuple(dict(data(s)) for s in unwrap(d.get("spec")) or ()),
            alias_name=d.get("alias_name"),
            request_id=d.get("request_id"),
            requester_id=d.get("requester_id"),
            numa_policy=d.get("numa_policy"),
        )


def host_pools(pools: Sequence[Mapping[str, Any]]) -> list[Pool]:
    """Fresh, mutable pool dicts, ordered as Nova's PciDeviceStats orders them."""
    out: list[Pool] = []
    for raw in pools:
        pool = dict(data(raw))
        tags = pool.pop("tags", None)
        if isinstance(tags, Mapping):
            pool.update(tags)
        pool["count"] = int(pool.get("count", 0))
        out.append(pool)
    out.sort(key=len)
    return out


def free_devices(pools: Sequence[Mapping[str, Any]]) -> int:
    """Free devices over all pools (the PCIWeigher's measure)."""
    total = 0
    for pool in pools:
        total += int(unwrap(pool).get("count", 0))
    return total


def prop_match(pool: Pool, specs: Sequence[Mapping[str, Any]]) -> bool:
    """Nova's pci.utils.pci_device_prop_match: the pool matches any one spec.

    String values compare case-insensitively; a list in the spec must be
    contained in a list in the pool.
    """

    def matches(spec: Mapping[str, Any]) -> bool:
        for key, want in spec.items():
            have = pool.get(key)
            if isinstance(want, list) and isinstance(have, list):
                if not all(x in have for x in want):
                    return False
            else:
                if isinstance(want, str):
                    want = want.lower()
                if isinstance(have, str):
                    have = have.lower()
                if have != want:
                    return False
        return True

    return any(matches(spec) for spec in specs)


def _count(pools: Sequence[Pool]) -> int:
    return sum(pool["count"] for pool in pools)


def _for_spec(pools: list[Pool], request: PciRequest) -> list[Pool]:
    specs = [{k: v for k, v in s.items() if k not in IGNORED_SPEC_TAGS} for s in request.spec]
    return [pool for pool in pools if prop_match(pool, specs)]


def _on_numa_nodes(pools: list[Pool], nodes: Sequence[int | None]) -> list[Pool]:
    return [p for p in pools if any(prop_match(p, [{"numa_node": n}]) for n in nodes)]


def _for_socket_affinity(
    pools: list[Pool], numa_cells: Sequence[InstanceCell], topology: HostTopology | None
) -> list[Pool]:
    host_cells = topology.cells if topology is not None else ()
    if any(cell.socket is None for cell in host_cells):
        return []
    sockets = {h.socket for g in numa_cells for h in host_cells if g.id == h.id}
    allowed = [h.id for h in host_cells if h.socket in sockets]
    return _on_numa_nodes(pools, allowed)


def _for_numa_cells(
    pools: list[Pool],
    request: PciRequest,
    numa_cells: Sequence[InstanceCell] | None,
    topology: HostTopology | None,
) -> list[Pool]:
    """Nova's _filter_pools_for_numa_cells: required, legacy, preferred, socket."""
    if not numa_cells:
        return pools
    policy = request.numa_policy or LEGACY
    cell_ids: list[int | None] = [cell.id for cell in numa_cells]
    filtered = _on_numa_nodes(pools, cell_ids)
    if policy == REQUIRED or _count(filtered) >= request.count:
        return filtered
    if policy == SOCKET:
        return _for_socket_affinity(pools, numa_cells, topology)
    cell_ids.append(None)  # devices without NUMA affinity suit the legacy policy
    filtered = _on_numa_nodes(pools, cell_ids)
    if policy == LEGACY or _count(filtered) >= request.count:
        return filtered
    return sorted(pools, key=lambda pool: pool.get("numa_node") not in cell_ids)


def _unrequested_pfs(pools: list[Pool], request: PciRequest) -> list[Pool]:
    if all(s.get("dev_type") != SRIOV_PF for s in request.spec):
        return [p for p in pools if p.get("dev_type") != SRIOV_PF]
    return pools


def _unrequested_vdpa(pools: list[Pool], request: PciRequest) -> list[Pool]:
    if all(s.get("dev_type") != VDPA for s in request.spec):
        return [p for p in pools if p.get("dev_type") != VDPA]
    return pools


def _truthy(value: Any) -> bool:
    return bool(strutils.bool_from_string(value))


def _unrequested_remote_managed(pools: list[Pool], request: PciRequest) -> list[Pool]:
    if all(not _truthy(s.get(REMOTE_MANAGED_TAG)) for s in request.spec):
        return [p for p in pools if not _truthy(p.get(REMOTE_MANAGED_TAG))]
    return pools


def _placement_allocation(pools: list[Pool], rp_uuids: list[str]) -> list[Pool]:
    if not rp_uuids:
        return pools
    per_rp = collections.Counter(rp_uuids)
    return [
        p
        for p in pools
        if p.get("rp_uuid") is not None
        and p["rp_uuid"] in per_rp
        and p["count"] >= per_rp[p["rp_uuid"]]
    ]


def _live_migratable(pools: list[Pool], request: PciRequest) -> list[Pool]:
    if all(s.get("live_migratable") == "true" for s in request.spec):
        return [p for p in pools if p.get("live_migratable") == "true"]
    if all(s.get("live_migratable") == "false" for s in request.spec):
        return [p for p in pools if p.get("live_migratable") == "false"]
    return pools


def filter_pools(
    pools: list[Pool],
    request: PciRequest,
    numa_cells: Sequence[InstanceCell] | None,
    rp_uuids: list[str],
    topology: HostTopology | None,
) -> list[Pool] | None:
    """Nova's _filter_pools: the pools that can serve the request, or None."""
    pools = _for_spec(pools, request)
    if _count(pools) < request.count:
        return None
    pools = _for_numa_cells(pools, request, numa_cells, topology)
    if _count(pools) < request.count:
        return None
    pools = _unrequested_pfs(pools, request)
    if _count(pools) < request.count:
        return None
    pools = _unrequested_vdpa(pools, request)
    pools = _unrequested_remote_managed(pools, request)
    pools = _placement_allocation(pools, rp_uuids)
    pools = _live_migratable(pools, request)
    if _count(pools) < request.count:
        return None
    return pools


def _one_pool_per_rp(pools: list[Pool]) -> bool:
    per_rp: dict[Any, int] = collections.Counter(p["rp_uuid"] for p in pools if "rp_uuid" in p)
    return all(n <= 1 for n in per_rp.values())


def _apply(
    pools: list[Pool],
    request: PciRequest,
    rp_uuids: list[str],
    numa_cells: Sequence[InstanceCell] | None,
    topology: HostTopology | None,
) -> bool:
    """Nova's _apply_request: consume the request from `pools` (in place)."""
    filtered = filter_pools(pools, request, numa_cells, rp_uuids, topology)
    if not filtered:
        return False
    if not rp_uuids:
        count = request.count
        for pool in filtered:
            if pool["count"] > count:
                pool["count"] -= count
                count = 0
            else:
                count -= pool["count"]
                pools.remove(pool)
            if not count:
                break
        return True
    if not _one_pool_per_rp(pools):
        return False
    wanted = collections.Counter(rp_uuids)
    for pool in filtered:
        pool["count"] -= wanted[pool["rp_uuid"]]
        wanted.pop(pool["rp_uuid"], None)
        if pool["count"] == 0:
            pools.remove(pool)
    return True


def rp_uuids_for(request: PciRequest, provider_mapping: Mapping[str, Sequence[str]]) -> list[str]:
    """Nova's _get_rp_uuids_for_request: providers Placement picked, one per device."""
    if request.from_neutron_port:
        return []
    if not provider_mapping:
        joined = request.spec[0].get("rp_uuids") if request.spec else None
        return str(joined).split(",") if joined else []
    if request.request_id is None:
        return []
    return [
        uuids[0]
        for group, uuids in provider_mapping.items()
        if group.startswith(request.request_id) and uuids
    ]


def apply_requests(
    pools: Sequence[Mapping[str, Any]],
    requests: Sequence[PciRequest],
    provider_mapping: Mapping[str, Sequence[str]],
    numa_cells: Sequence[InstanceCell] | None = None,
    topology: HostTopology | None = None,
) -> list[Pool] | None:
    """Nova's PciDeviceStats.apply_requests, on a copy: the pools left once
    every request took its devices (emptied pools dropped, as Nova drops
    them), or None where Nova raises PciDeviceRequestFailed."""
    work = host_pools(pools)
    for request in requests:
        rp_uuids = rp_uuids_for(request, provider_mapping)
        if not _apply(work, request, rp_uuids, numa_cells, topology):
            return None
    return work


def support_requests(
    pools: Sequence[Mapping[str, Any]],
    requests: Sequence[PciRequest],
    provider_mapping: Mapping[str, Sequence[str]],
    numa_cells: Sequence[InstanceCell] | None = None,
    topology: HostTopology | None = None,
) -> bool:
    """Nova's PciDeviceStats.support_requests: every request served, in order."""
    return apply_requests(pools, requests, provider_mapping, numa_cells, topology) is not None
