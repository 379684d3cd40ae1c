"""The consume stage: what a chosen host gives up before the next instance.

Nova's HostState.consume_from_request, and the server group's new member:
the next instance of the same request (or of the same round's class) sees
the host's usage, instance count and io_ops with this instance in, its NUMA
cells' memory, pages and pinned CPUs and its PCI pools with this instance's
share taken (so NUMATopologyFilter and PciPassthroughFilter judge the next
instance on what is left), and its group's hosts with this host added, so
affinity and anti-affinity hold between the instances of one request.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from corral.compute.hardware import numa, pci
from corral.compute.hardware.fit import consume_instance
from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import LimitValue, RequestSpec
from corral.scheduler.stages.search import Search

LOG = logging.getLogger(__name__)

_BAD_DATA = (ValueError, KeyError, TypeError)


def consume(
    search: Search,
    batch: HostBatch,
    row: int,
    spec: RequestSpec,
    uuid: str | None,
    limits: Mapping[str, LimitValue] | None = None,
) -> RequestSpec:
    """Take the host's first (the claimed) candidate out of `batch`'s figures;
    the spec the next instance is ranked with. `limits`: what the filters
    set for the host (Nova fits the instance again with
    `host_state.limits['numa_topology']`)."""
    provider = batch.provider_uuid[row]
    candidates = search.offered.get(provider) or ()
    taken = candidates[0].allocations.get(provider, {}) if candidates else {}
    batch.consume(row, taken, None if uuid is None else (uuid, spec.project_id or ""))
    if spec.numa_topology or spec.pci_requests:
        mapping = candidates[0].mappings if candidates else {}
        _consume_devices(batch, row, spec, mapping, limits or {})
    group = spec.instance_group
    if group is None:
        return spec
    members = group.members if uuid is None or uuid in group.members else (*group.members, uuid)
    grown = dataclasses.replace(group, hosts=(*group.hosts, batch.host[row]), members=members)
    return dataclasses.replace(spec, instance_group=grown)


def _consume_devices(
    batch: HostBatch,
    row: int,
    spec: RequestSpec,
    mapping: Mapping[str, Sequence[str]],
    limits: Mapping[str, LimitValue],
) -> None:
    """The NUMA and PCI part of Nova's _locked_consume_from_request, into the
    batch's row (the cache's values are replaced, never changed in place)."""
    try:
        topology = numa.instance_topology(spec.numa_topology) if spec.numa_topology else None
        requests = tuple(pci.PciRequest.from_data(r) for r in spec.pci_requests)
    except _BAD_DATA:
        return  # the NUMA and PCI filters refused it already; nothing to consume
    if topology is not None and not topology.cells:
        topology = None
    numa_limits = limits.get("numa_topology")
    provider_mapping = {group: tuple(providers) for group, providers in mapping.items()}
    try:
        consumed = consume_instance(
            batch.numa_topology[row],
            batch.pci_stats[row],
            topology,
            requests,
            numa_limits if isinstance(numa_limits, numa.Limits) else None,
            provider_mapping,
        )
    except _BAD_DATA as exc:
        # An unreadable host topology fails NUMATopologyFilter anyway.
        LOG.debug("host %s: NUMA/PCI usage not consumed: %s", batch.host[row], exc)
        return
    batch.numa_topology[row] = consumed.numa_topology
    batch.pci_stats[row] = consumed.pci_stats
