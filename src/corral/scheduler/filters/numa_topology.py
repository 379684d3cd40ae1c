"""NUMATopologyFilter: the requested guest NUMA topology must fit the host's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from corral.compute.hardware import numa, pci
from corral.compute.hardware.fit import fit_instance_to_host
from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import CandidateFilter, HostByHostFilter
from corral.scheduler.filters.candidates import mappings
from corral.scheduler.spec import LimitValue, RequestSpec

_BAD_DATA = (ValueError, KeyError, TypeError)


@dataclass(frozen=True, slots=True)
class _Request:
    topology: numa.InstanceTopology | None
    pci_requests: tuple[pci.PciRequest, ...]
    network: numa.NetworkMetadata | None
    dedicated: bool
    require_threads: bool
    error: str | None = None


class NUMATopologyFilter(HostByHostFilter, CandidateFilter):
    """Nova: a request with a NUMA topology needs a host with one that it fits
    (hardware.numa_fit_instance_to_host: cells, page sizes, pinned CPUs and
    thread policies, emulator threads, per-cell CPU and RAM allocation ratios,
    PCI NUMA affinity and network NUMA affinity) for one of its allocation
    candidates. Also, `hw:cpu_policy=dedicated` with
    `hw:cpu_thread_policy=require` (flavor or image) needs a host with SMT.

    A host it passes for a request with a NUMA topology gets Nova's
    `host_state.limits['numa_topology']`: NUMATopologyLimits with the host's
    CPU and RAM allocation ratios, and the request's network metadata when
    it has one; the compute's NUMA claim checks the instance against them.
    (Nova's HostState outlives the request, so its limits linger on a host
    later asked without a NUMA topology, where the compute ignores them;
    corral gives them only where this request set them.)
    """

    name = "NUMATopologyFilter"
    sets_limits = True

    def prepare(self, spec: RequestSpec) -> _Request:
        extra = spec.flavor.extra_specs
        image = spec.image.properties
        dedicated = "dedicated" in (extra.get("hw:cpu_policy"), image.get("hw_cpu_policy"))
        require = "require" in (
            extra.get("hw:cpu_thread_policy"),
            image.get("hw_cpu_thread_policy"),
        )
        try:
            topology = numa.instance_topology(spec.numa_topology) if spec.numa_topology else None
            requests = tuple(pci.PciRequest.from_data(r) for r in spec.pci_requests)
            network = (
                numa.NetworkMetadata.from_data(spec.network_metadata)
                if spec.network_metadata is not None
                else None
            )
        except _BAD_DATA as exc:
            return _Request(None, (), None, dedicated, require, f"unreadable NUMA request: {exc}")
        if topology is not None and not topology.cells:
            topology = None
        return _Request(topology, requests, network, dedicated, require)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        prepared = self.prepare(spec)
        if (
            prepared.topology is None
            and prepared.error is None
            and not (prepared.dedicated and prepared.require_threads)
        ):
            return np.ones(len(batch), dtype=np.bool_)
        return super().host_mask(batch, spec)

    def host_limits(
        self, batch: HostBatch, row: int, spec: RequestSpec
    ) -> Mapping[str, LimitValue]:
        """Nova's `host_state.limits['numa_topology'] = limits`, set where the
        request's topology and the host's were both there and fitted."""
        prepared = self.prepare(spec)
        if prepared.error is not None or prepared.topology is None:
            return {}
        raw = batch.numa_topology[row]
        if raw is None:
            return {}
        return {"numa_topology": self._limits(batch, row, prepared)}

    @staticmethod
    def _limits(batch: HostBatch, row: int, prepared: _Request) -> numa.Limits:
        return numa.Limits(
            cpu_allocation_ratio=float(batch.cpu_allocation_ratio[row]),
            ram_allocation_ratio=float(batch.ram_allocation_ratio[row]),
            network_metadata=prepared.network,
        )

    def check(
        self, batch: HostBatch, row: int, spec: RequestSpec, prepared: _Request
    ) -> str | None:
        return self._evaluate(batch, row, prepared, first_only=True)[0]

    def passing_candidates(self, batch: HostBatch, row: int, spec: RequestSpec) -> list[int]:
        """Indexes of the host's allocation candidates the request fits with."""
        return self._evaluate(batch, row, self.prepare(spec), first_only=False)[1]

    def _evaluate(
        self, batch: HostBatch, row: int, prepared: _Request, first_only: bool
    ) -> tuple[str | None, list[int]]:
        """(why the host fails or None, the candidates that fit)."""
        if prepared.error:
            return prepared.error, []
        raw = batch.numa_topology[row]
        try:
            host = numa.host_topology(raw) if raw is not None else numa.HostTopology(())
        except _BAD_DATA:
            return "unreadable host NUMA topology", []
        if host.cells and prepared.dedicated and prepared.require_threads and not host.has_threads:
            return "no SMT threads for the require CPU thread policy", []
        candidates = mappings(batch, row)
        if prepared.topology is None:
            return None, list(range(len(candidates)))
        if not host.cells:
            return "host has no NUMA topology", []
        limits = self._limits(batch, row, prepared)
        good: list[int] = []
        for index, mapping in enumerate(candidates):
            try:
                placed = fit_instance_to_host(
                    host,
                    prepared.topology,
                    limits=limits,
                    pci_requests=prepared.pci_requests,
                    pci_pools=batch.pci_stats[row],
                    provider_mapping=mapping,
                )
            except _BAD_DATA:
                placed = None
            if placed is not None:
                good.append(index)
                if first_only:
                    break
        return (None if good else "instance NUMA topology does not fit"), good
