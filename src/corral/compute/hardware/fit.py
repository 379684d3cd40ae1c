"""Nova's numa_fit_instance_to_host: instance cells onto host cells, PCI and networks too."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
    fit: set[tuple[int, int]] = set()
    for permutation in itertools.permutations(host.cells, len(instance.cells)):
        chosen_host: list[HostCell] = []
        chosen: list[InstanceCell] = []
        for host_cell, inst_cell in zip(permutation, instance.cells, strict=True):
            pair = (host_cell.id, inst_cell.id)
            if pair in not_fit:
                break
            if pair in fit:
                chosen_host.append(host_cell)
                chosen.append(replace(inst_cell, id=host_cell.id))
                continue
            # Isolated emulator threads take one more pCPU, on the first cell.
            reserved = 1 if instance.emulator_threads_isolated and not chosen else 0
            got = fit_instance_cell(host_cell, inst_cell, limits, reserved)
            if got is None:
                not_fit.add(pair)
                break
            chosen_host.append(host_cell)
            chosen.append(got)
            fit.add(pair)
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
