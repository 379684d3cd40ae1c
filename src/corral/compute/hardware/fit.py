"""Nova's numa_fit_instance_to_host: instance cells onto host cells, PCI and networks too."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.compute.hardware import pci
from corral.compute.hardware.numa import (
    HostCell,
    HostTopology,
    InstanceCell,
    InstanceTopology,
    Limits,
    cells_support_network_metadata,
    fit_instance_cell,
    host_topology,
    topology_data,
    usage_from_instance,
)


def fit_instance_to_host(
    host: HostTopology,
    instance: InstanceTopology,
    limits: Limits | None = None,
    pci_requests: Sequence[pci.PciRequest] = (),
    pci_pools: Sequence[Mapping[str, Any]] | None = None,
    provider_mapping: Mapping[str, Sequence[str]] | None = None,
) -> list[InstanceCell] | None:
    """The instance cells placed on host cells (ids set to the host cells'), or None.

    Every permutation of host cells is tried, as Nova does, remembering which
    (host cell, instance cell) pairs fit or not; a permutation also has to
    serve the PCI requests with NUMA affinity to its cells and, when the
    limits carry network metadata, the physnet/tunnel affinity.
    """
    if not host.cells or not instance.cells or len(host.cells) < len(instance.cells):
        return None
    network = limits.network_metadata if limits is not None else None
    not_fit: set[tuple[int, int]] = set()
    # a pair that fitted -> the instance cell as fitted (its pinning too): Nova
    # reuses the cell its first fit pinned.
    fit: dict[tuple[int, int], InstanceCell] = {}
    for permutation in itertools.permutations(host.cells, len(instance.cells)):
        chosen_host: list[HostCell] = []
        chosen: list[InstanceCell] = []
        for host_cell, inst_cell in zip(permutation, instance.cells, strict=True):
            pair = (host_cell.id, inst_cell.id)
            if pair in not_fit:
                break
            cached = fit.get(pair)
            if cached is not None:
                chosen_host.append(host_cell)
                chosen.append(cached)
                continue
            # Isolated emulator threads take one more pCPU, on the first cell.
            reserved = 1 if instance.emulator_threads_isolated and not chosen else 0
            got = fit_instance_cell(host_cell, inst_cell, limits, reserved)
            if got is None:
                not_fit.add(pair)
                break
            chosen_host.append(host_cell)
            chosen.append(got)
            fit[pair] = got
        if len(chosen) != len(permutation):
            continue
        if (
            pci_requests
            and pci_pools is not None
            and not pci.support_requests(
                pci_pools, pci_requests, provider_mapping or {}, chosen, host
            )
        ):
            continue
        if network is not None and not cells_support_network_metadata(host, chosen_host, network):
            continue
        return chosen
    return None


@dataclass(frozen=True, slots=True)
class Consumed:
    """A host's NUMA topology and PCI pools once one more instance is in."""

    numa_topology: Mapping[str, Any] | None
    pci_stats: Sequence[Mapping[str, Any]]


def consume_instance(
    host_numa: Mapping[str, Any] | None,
    pci_pools: Sequence[Mapping[str, Any]],
    instance: InstanceTopology | None,
    pci_requests: Sequence[pci.PciRequest],
    limits: Limits | None,
    provider_mapping: Mapping[str, Sequence[str]],
) -> Consumed:
    """Nova's HostState._locked_consume_from_request, its NUMA and PCI part.

    The instance is fitted again (numa_fit_instance_to_host with the limits
    NUMATopologyFilter set, None without the filter, and the claimed
    candidate's mapping) and its cells' usage added
    (numa_usage_from_instance_numa); then its PCI requests take their
    devices from the pools (PciDeviceStats.apply_requests), on the cells it
    was fitted to. Nova raises PciDeviceRequestFailed where the devices are
    not there (only possible without PciPassthroughFilter); here the pools
    stay as they were: the compute's claim decides. ValueError when the
    host's topology is unreadable.
    """
    # Nova's HostState always has its PciDeviceStats, so requests count even
    # against a host with no pools.
    requests = tuple(pci_requests)
    host = host_topology(host_numa) if host_numa is not None else None
    cells: list[InstanceCell] | None = None
    if host is not None and host.cells and instance is not None:
        cells = fit_instance_to_host(
            host,
            instance,
            limits=limits,
            pci_requests=requests,
            pci_pools=pci_pools,
            provider_mapping=provider_mapping,
        )
        if cells is not None:
            host_numa = topology_data(usage_from_instance(host, cells))
    pools: Sequence[Mapping[str, Any]] = pci_pools
    if requests:
        # PCI NUMA affinity (sockets) reads the host as Nova's PciDeviceStats
        # holds it: the compute node's topology, not the consumed one.
        left = pci.apply_requests(pci_pools, requests, provider_mapping, cells, host)
        if left is not None:
            pools = left
    return Consumed(host_numa, pools)
