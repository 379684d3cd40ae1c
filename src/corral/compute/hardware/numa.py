"""NUMA topology fitting: Nova's hardware.numa_fit_instance_to_host, as a predicate.

Host topology: Nova's NUMATopology (`cells` of NUMACell: id, cpuset, pcpuset,
memory and memory_usage in MiB, cpu_usage, pinned_cpus, siblings, mempages of
NUMAPagesTopology, network_metadata, socket). Instance topology: Nova's
InstanceNUMATopology (`cells` of InstanceNUMACell: id, cpuset, pcpuset, memory
in MiB, pagesize, cpu_policy, cpu_thread_policy; emulator_threads_policy).
Either as plain dicts or as versioned-object primitives.

Two deliberate differences from Nova, neither changing whether a host can
take an instance in a way Nova's compute would accept:
- Nova sorts host cells (free memory, CPU usage, PCI) before trying every
  permutation; the sort only picks which fitting permutation comes first,
  and a filter asks only whether one exists, so cells are tried in order.
- Nova writes the host cell id and the page size it picked back into the
  request's cells while it searches, so its (host cell, instance cell)
  caches and later permutations see altered cells and can miss a fitting
  permutation (a randomised comparison with Nova 34 found it in 1 of 15000
  cases: Nova said no where a permutation fits). Here every attempt uses
  the request as given.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from corral.compute.hardware.primitives import data, int_set, optional_int, unwrap

MEMPAGES_SMALL = -1
MEMPAGES_LARGE = -2
MEMPAGES_ANY = -3

DEDICATED = "dedicated"
SHARED = "shared"
MIXED = "mixed"
PINNED_POLICIES = (DEDICATED, MIXED)
FLOATING_POLICIES = (SHARED, MIXED, None)

PREFER = "prefer"
ISOLATE = "isolate"
REQUIRE = "require"


@dataclass(frozen=True, slots=True)
class NetworkMetadata:
    physnets: frozenset[str] = frozenset()
    tunneled: bool = False

    @classmethod
    def from_data(cls, value: Any) -> NetworkMetadata:
        d = data(value)
        physnets = unwrap(d.get("physnets")) or ()
        return cls(frozenset(str(p) for p in physnets), bool(d.get("tunneled", False)))


@dataclass(frozen=True, slots=True)
class Pages:
    """Nova's NUMAPagesTopology: pages of one size in a cell."""

    size_kb: int
    total: int
    used: int = 0
    reserved: int = 0

    @property
    def free_kb(self) -> int:
        return (self.total - self.used - self.reserved) * self.size_kb

    @property
    def total_kb(self) -> int:
        return self.total * self.size_kb


@dataclass(frozen=True, slots=True)
class HostCell:
    """Nova's NUMACell, with its derived properties."""

    id: int
    cpuset: frozenset[int]
    pcpuset: frozenset[int]
    memory: int
    cpu_usage: int = 0
    memory_usage: int = 0
    pinned_cpus: frozenset[int] = frozenset()
    siblings: tuple[frozenset[int], ...] = ()
    mempages: tuple[Pages, ...] = ()
    network_metadata: NetworkMetadata | None = None
    socket: int | None = None

    @property
    def free_pcpus(self) -> frozenset[int]:
        return self.pcpuset - self.pinned_cpus

    @property
    def free_siblings(self) -> list[frozenset[int]]:
        free = self.free_pcpus
        return [sibling & free for sibling in self.siblings]

    @property
    def avail_pcpus(self) -> int:
        return len(self.free_pcpus)

    @property
    def avail_memory(self) -> int:
        return self.memory - self.memory_usage

    @property
    def has_threads(self) -> bool:
        return any(len(s) > 1 for s in self.siblings)

    def can_fit_pagesize(self, pagesize: int, memory_kb: int, use_free: bool = True) -> bool | None:
        """Nova's can_fit_pagesize; None where Nova raises MemoryPageSizeNotSupported."""
        for pages in self.mempages:
            if pages.size_kb == pagesize:
                avail_kb = pages.free_kb if use_free else pages.total_kb
                return memory_kb <= avail_kb and memory_kb % pages.size_kb == 0
        return None


@dataclass(frozen=True, slots=True)
class HostTopology:
    cells: tuple[HostCell, ...]

    @property
    def has_threads(self) -> bool:
        return any(cell.has_threads for cell in self.cells)


@dataclass(frozen=True, slots=True)
class InstanceCell:
    """Nova's InstanceNUMACell, the fields fitting reads."""

    id: int
    cpuset: frozenset[int]
    pcpuset: frozenset[int]
    memory: int
    pagesize: int | None = None
    cpu_policy: str | None = None
    cpu_thread_policy: str | None = None
    # Once fitted: the host pCPUs its vCPUs are pinned to (the values of
    # Nova's cpu_pinning) and those kept for its emulator threads
    # (cpuset_reserved); what consuming the instance pins on the host cell.
    pinned: frozenset[int] = frozenset()
    reserved: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class InstanceTopology:
    cells: tuple[InstanceCell, ...]
    emulator_threads_policy: str | None = None

    @property
    def emulator_threads_isolated(self) -> bool:
        return self.emulator_threads_policy == "isolate"


@dataclass(frozen=True, slots=True)
class Limits:
    """Nova's NUMATopologyLimits."""

    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    network_metadata: NetworkMetadata | None = None


def host_topology(value: Mapping[str, Any]) -> HostTopology:
    """A host's NUMATopology from its data (ValueError when malformed)."""
    cells: list[HostCell] = []
    for raw in unwrap(data(value).get("cells")) or ():
        c = data(raw)
        pages = tuple(
            Pages(
                size_kb=int(p["size_kb"]),
                total=int(p["total"]),
                used=int(p.get("used", 0)),
                reserved=int(p.get("reserved", 0)),
            )
            for p in (data(x) for x in unwrap(c.get("mempages")) or ())
        )
        network = c.get("network_metadata")
        cells.append(
            HostCell(
                id=int(c["id"]),
                cpuset=int_set(c.get("cpuset")),
                pcpuset=int_set(c.get("pcpuset")),
                memory=int(c.get("memory", 0)),
                cpu_usage=int(c.get("cpu_usage", 0)),
                memory_usage=int(c.get("memory_usage", 0)),
                pinned_cpus=int_set(c.get("pinned_cpus")),
                siblings=tuple(int_set(s) for s in unwrap(c.get("siblings")) or ()),
                mempages=pages,
                network_metadata=None if network is None else NetworkMetadata.from_data(network),
                socket=optional_int(c.get("socket")),
            )
        )
    return HostTopology(tuple(cells))


def instance_topology(value: Mapping[str, Any]) -> InstanceTopology:
    """A request's InstanceNUMATopology from its data (ValueError when malformed)."""
    d = data(value)
    cells: list[InstanceCell] = []
    for raw in unwrap(d.get("cells")) or ():
        c = data(raw)
        cells.append(
            InstanceCell(
                id=int(c.get("id", len(cells))),
                cpuset=int_set(c.get("cpuset")),
                pcpuset=int_set(c.get("pcpuset")),
                memory=int(c["memory"]),
                pagesize=optional_int(c.get("pagesize")),
                cpu_policy=c.get("cpu_policy"),
                cpu_thread_policy=c.get("cpu_thread_policy"),
            )
        )
    return InstanceTopology(tuple(cells), d.get("emulator_threads_policy"))


# -- one instance cell on one host cell ------------------------------------


def _supported_pagesize(host_cell: HostCell, inst_cell: InstanceCell) -> int | None:
    """Nova's _numa_cell_supports_pagesize_request: the page size that fits, or None."""
    available = sorted((p.size_kb for p in host_cell.mempages), reverse=True)
    if inst_cell.pagesize == MEMPAGES_SMALL:
        candidates = available[-1:]
    elif inst_cell.pagesize == MEMPAGES_LARGE:
        candidates = available[:-1]
    elif inst_cell.pagesize == MEMPAGES_ANY:
        candidates = available
    else:
        candidates = [int(inst_cell.pagesize or 0)]
    memory_kb = inst_cell.memory * 1024
    for pagesize in candidates:
        fits = host_cell.can_fit_pagesize(pagesize, memory_kb)
        if fits is None:
            return None  # Nova: MemoryPageSizeNotSupported, the pair does not fit
        if fits:
            return pagesize
    return None


def _pinning(
    threads_no: int, sibling_set: Sequence[frozenset[int]], instance_cores: frozenset[int]
) -> list[tuple[int, int]] | None:
    """Nova's _get_pinning: (vCPU, pCPU) pairs using `threads_no` threads per core."""
    if threads_no * len(sibling_set) < len(instance_cores):
        return None
    usable = [sorted(s)[:threads_no] for s in sibling_set]
    return list(zip(sorted(instance_cores), itertools.chain(*usable), strict=False))


def _reserved(
    sibling_set: Sequence[frozenset[int]],
    pinning: list[tuple[int, int]] | None,
    num_cpu_reserved: int,
    isolate: bool = False,
) -> set[int] | None:
    """Nova's _get_reserved: pCPUs left for the emulator threads, or None."""
    if not pinning:
        return None
    usable = [sorted(s) for s in sibling_set]
    if not num_cpu_reserved:
        return None
    for _vcpu, pcpu in pinning:
        for sibling in list(usable):
            if pcpu in sibling:
                if isolate:
                    usable.remove(sibling)
                else:
                    sibling.remove(pcpu)
    return set(list(itertools.chain(*usable))[:num_cpu_reserved]) or None


def _pack_onto_cores(
    host_cell: HostCell, inst_cell: InstanceCell, num_cpu_reserved: int
) -> tuple[frozenset[int], frozenset[int]] | None:
    """Nova's _pack_instance_onto_cores: the pCPUs pinned and those reserved
    for the emulator threads, or None when no pinning exists."""
    threads_per_core = max((len(s) for s in host_cell.siblings), default=0) or 1
    sibling_sets: defaultdict[int, list[frozenset[int]]] = defaultdict(list)
    for sibling in host_cell.free_siblings:
        for threads_no in range(1, len(sibling) + 1):
            sibling_sets[threads_no].append(sibling)

    pinning: list[tuple[int, int]] | None = None
    reserved: set[int] | None = None
    threads_no = 1
    policy = inst_cell.cpu_thread_policy

    if policy == ISOLATE:
        if threads_per_core not in sibling_sets:
            return None
        if threads_per_core != 1 and host_cell.pcpuset != host_cell.cpuset:
            return None  # Nova: bug #1889633, hyperthreads and new-style config
        pinning = _pinning(1, sibling_sets[threads_per_core], inst_cell.pcpuset)
        reserved = _reserved(sibling_sets[1], pinning, num_cpu_reserved, isolate=True)
        if not pinning or (num_cpu_reserved and not reserved):
            pinning, reserved = None, None
    else:
        if policy == REQUIRE and threads_per_core <= 1:
            return None
        for threads_no, sibling_set in sorted(sibling_sets.items(), reverse=True):
            if policy == REQUIRE and threads_no <= 1:
                continue
            pinning = _pinning(threads_no, sibling_set, inst_cell.pcpuset)
            reserved = _reserved(sibling_sets[1], pinning, num_cpu_reserved)
            if pinning is None or (num_cpu_reserved and not reserved):
                continue
            break
        if policy != REQUIRE and not pinning:
            singles = [frozenset([cpu]) for cpu in itertools.chain(*sibling_sets[1])]
            pinning = _pinning(threads_no, singles, inst_cell.pcpuset)
            reserved = _reserved(singles, pinning, num_cpu_reserved)

    if pinning is None or (num_cpu_reserved and not reserved):
        return None
    return frozenset(pcpu for _vcpu, pcpu in pinning), frozenset(reserved or ())


def fit_instance_cell(
    host_cell: HostCell,
    inst_cell: InstanceCell,
    limits: Limits | None,
    cpuset_reserved: int = 0,
) -> InstanceCell | None:
    """Nova's _numa_fit_instance_cell: the instance cell placed on the host cell, or None."""
    if inst_cell.pagesize:
        pagesize = _supported_pagesize(host_cell, inst_cell)
        if not pagesize:
            return None
        inst_cell = replace(inst_cell, pagesize=pagesize)
    elif host_cell.mempages:
        smallest = min(p.size_kb for p in host_cell.mempages)
        # Overcommit is allowed unless CPUs are pinned (Nova's legacy rule).
        use_free = inst_cell.cpu_policy in PINNED_POLICIES
        if not host_cell.can_fit_pagesize(smallest, inst_cell.memory * 1024, use_free=use_free):
            return None
    elif inst_cell.cpu_policy in PINNED_POLICIES:
        if host_cell.avail_memory < inst_cell.memory:
            return None
    elif host_cell.memory < inst_cell.memory:
        return None

    pinned = inst_cell.cpu_policy in PINNED_POLICIES
    floating = inst_cell.cpu_policy in FLOATING_POLICIES
    if pinned and len(inst_cell.pcpuset) + cpuset_reserved > len(host_cell.pcpuset):
        return None
    if floating and len(inst_cell.cpuset) > len(host_cell.cpuset):
        return None
    if pinned:
        if len(inst_cell.pcpuset) + cpuset_reserved > host_cell.avail_pcpus:
            return None
        packed = _pack_onto_cores(host_cell, inst_cell, cpuset_reserved)
        if packed is None:
            return None
        inst_cell = replace(inst_cell, pinned=packed[0], reserved=packed[1])
    if floating and limits is not None:
        cpu_usage = host_cell.cpu_usage + len(inst_cell.cpuset)
        if cpu_usage > len(host_cell.cpuset) * limits.cpu_allocation_ratio:
            return None
        ram_usage = host_cell.memory_usage + inst_cell.memory
        if ram_usage > host_cell.memory * limits.ram_allocation_ratio:
            return None
    return replace(inst_cell, id=host_cell.id)


def cells_support_network_metadata(
    host: HostTopology, chosen: Sequence[HostCell], network: NetworkMetadata | None
) -> bool:
    """Nova's _numa_cells_support_network_metadata: physnet and tunnel NUMA affinity."""
    if network is None:
        return True
    required = set(network.physnets)
    if required:
        for cell in chosen:
            if cell.network_metadata is not None:
                required -= cell.network_metadata.physnets
        for cell in host.cells:
            if cell.network_metadata is not None and required & cell.network_metadata.physnets:
                return False
    if network.tunneled:
        for cell in chosen:
            if cell.network_metadata is not None and cell.network_metadata.tunneled:
                return True
        for cell in host.cells:
            if cell.network_metadata is not None and cell.network_metadata.tunneled:
                return False
    return True


# -- what a placed instance takes from the host ----------------------------


def _pages_used(host_cell: HostCell, inst_cell: InstanceCell) -> tuple[Pages, ...]:
    """Nova's _numa_pagesize_usage_from_cell: the pages of the instance's page
    size (the host cell's smallest when it asks none) count its memory."""
    if not host_cell.mempages:
        return host_cell.mempages
    pagesize = inst_cell.pagesize or min(p.size_kb for p in host_cell.mempages)
    out: list[Pages] = []
    for pages in host_cell.mempages:
        if pages.size_kb == pagesize:
            # Nova divides in floats and its IntegerField keeps int(...).
            used = max(0, int(pages.used + inst_cell.memory * 1024 / pages.size_kb))
            pages = replace(pages, used=used)
        out.append(pages)
    return tuple(out)


def usage_from_instance(host: HostTopology, placed: Sequence[InstanceCell]) -> HostTopology:
    """Nova's numa_usage_from_instance_numa (free=False): the host with a
    fitted instance's cells (ids are host cell ids, as fit_instance_to_host
    returns them) taking memory, pages, shared CPU usage and pinned pCPUs.

    ValueError where Nova's NUMACell.pin_cpus raises (a pCPU outside the
    cell's pcpuset, or one already pinned): the fit and the host disagree.
    """
    cells: list[HostCell] = []
    for host_cell in host.cells:
        memory_usage = host_cell.memory_usage
        cpu_usage = host_cell.cpu_usage
        mempages = host_cell.mempages
        pinned_cpus = host_cell.pinned_cpus
        for inst_cell in placed:
            if inst_cell.id != host_cell.id:
                continue
            mempages = _pages_used(replace(host_cell, mempages=mempages), inst_cell)
            memory_usage += inst_cell.memory
            cpu_usage += len(inst_cell.cpuset)
            if inst_cell.cpu_policy in (None, SHARED):
                continue
            pins = inst_cell.pinned | inst_cell.reserved
            if inst_cell.cpu_thread_policy == ISOLATE:
                # Nova's pin_cpus_with_siblings: an isolated vCPU's core is whole.
                pins = frozenset().union(*(s for s in host_cell.siblings if s & pins)) or pins
            if pins - host_cell.pcpuset or pins & pinned_cpus:
                raise ValueError(f"cannot pin {sorted(pins)} on host NUMA cell {host_cell.id}")
            pinned_cpus = pinned_cpus | pins
        cells.append(
            replace(
                host_cell,
                memory_usage=max(0, memory_usage),
                cpu_usage=max(0, cpu_usage),
                mempages=mempages,
                pinned_cpus=pinned_cpus,
            )
        )
    return HostTopology(tuple(cells))


def topology_data(host: HostTopology) -> dict[str, Any]:
    """A host topology as the plain data `host_topology` reads back."""
    cells: list[dict[str, Any]] = []
    for cell in host.cells:
        out: dict[str, Any] = {
            "id": cell.id,
            "cpuset": sorted(cell.cpuset),
            "pcpuset": sorted(cell.pcpuset),
            "memory": cell.memory,
            "cpu_usage": cell.cpu_usage,
            "memory_usage": cell.memory_usage,
            "pinned_cpus": sorted(cell.pinned_cpus),
            "siblings": [sorted(s) for s in cell.siblings],
            "mempages": [
                {"size_kb": p.size_kb, "total": p.total, "used": p.used, "reserved": p.reserved}
                for p in cell.mempages
            ],
            "socket": cell.socket,
        }
        if cell.network_metadata is not None:
            out["network_metadata"] = {
                "physnets": sorted(cell.network_metadata.physnets),
                "tunneled": cell.network_metadata.tunneled,
            }
        cells.append(out)
    return {"cells": cells}
