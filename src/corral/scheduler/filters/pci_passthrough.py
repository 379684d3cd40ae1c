"""PciPassthroughFilter: hosts with the PCI devices the request asks for."""

from __future__ import annotations

import numpy as np

from corral.compute.hardware import pci
from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import CandidateFilter, HostByHostFilter
from corral.scheduler.filters.candidates import mappings
from corral.scheduler.spec import RequestSpec

_BAD_DATA = (ValueError, KeyError, TypeError)


class PciPassthroughFilter(HostByHostFilter, CandidateFilter):
    """Nova: with PCI requests (flavor aliases, SR-IOV ports), a host passes when
    its device pools can serve all of them (PciDeviceStats.support_requests:
    vendor/product and tags, PFs, VFs, vDPA and remote-managed kept apart,
    live-migratable, the providers Placement picked) for one of its
    allocation candidates. NUMA affinity is left to NUMATopologyFilter.
    """

    name = "PciPassthroughFilter"
    reason = "lacks the requested PCI devices"

    def prepare(self, spec: RequestSpec) -> tuple[pci.PciRequest, ...] | str:
        try:
            return tuple(pci.PciRequest.from_data(r) for r in spec.pci_requests)
        except _BAD_DATA as exc:
            return f"unreadable PCI request: {exc}"

    def check(
        self,
        batch: HostBatch,
        row: int,
        spec: RequestSpec,
        prepared: tuple[pci.PciRequest, ...] | str,
    ) -> str | None:
        reason, _ = self._evaluate(batch, row, prepared, first_only=True)
        return reason

    def passing_candidates(self, batch: HostBatch, row: int, spec: RequestSpec) -> list[int]:
        """Indexes of the host's allocation candidates whose devices serve the request."""
        return self._evaluate(batch, row, self.prepare(spec), first_only=False)[1]

    def _evaluate(
        self,
        batch: HostBatch,
        row: int,
        prepared: tuple[pci.PciRequest, ...] | str,
        first_only: bool,
    ) -> tuple[str | None, list[int]]:
        if isinstance(prepared, str):
            return prepared, []
        candidates = mappings(batch, row)
        if not prepared:
            return None, list(range(len(candidates)))
        good: list[int] = []
        for index, mapping in enumerate(candidates):
            try:
                ok = pci.support_requests(batch.pci_stats[row], prepared, mapping)
            except _BAD_DATA:
                ok = False
            if ok:
                good.append(index)
                if first_only:
                    break
        return (None if good else self.reason), good

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        if not spec.pci_requests:
            return np.ones(len(batch), dtype=np.bool_)
        return super().host_mask(batch, spec)
