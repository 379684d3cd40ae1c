"""How many worker processes this machine can afford: the cap on `workers`.

    cap = max(1, min(CPU_FACTOR x CPUs, available memory // MEMORY_PER_WORKER))

CPUs are the ones this process may run on (its affinity mask, lowered by a
cgroup v2 `cpu.max` quota); available memory is MemAvailable, lowered by the
room left under a cgroup v2 `memory.max`. Each worker is a whole Python
process with its own copy of the candidate index, so memory, not CPU, is
usually what runs out first on small machines.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

CPU_FACTOR = 4
MEMORY_PER_WORKER = 512 * 1024 * 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class WorkerCap:
    cpus: int
    available_bytes: int
    cap: int

    @property
    def default(self) -> int:
        """Workers when config names no count: one per CPU, within the cap."""
        return min(self.cpus, self.cap)

    def formula(self) -> str:
        return (
            f"min({CPU_FACTOR} x {self.cpus} CPUs, {self.available_bytes // _MIB} MiB "
            f"available / {MEMORY_PER_WORKER // _MIB} MiB per worker) = {self.cap}"
        )


def compute_cap(cpus: int, available_bytes: int) -> WorkerCap:
    cap = max(1, min(CPU_FACTOR * cpus, available_bytes // MEMORY_PER_WORKER))
    return WorkerCap(cpus=cpus, available_bytes=available_bytes, cap=cap)


def machine_cap() -> WorkerCap:
    return compute_cap(usable_cpus(), available_memory())


def usable_cpus() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def available_memory() -> int:
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            available = MEMORY_PER_WORKER
    room = _cgroup_memory_room()
    if room is not None:
        available = min(available, room)
    return max(0, available)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_dir() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    except OSError:
        return None
    return None


def _cgroup_cpu_quota() -> float | None:
    base = _cgroup_dir()
    if base is None:
        return None
    try:
        quota, period = (base / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def _cgroup_memory_room() -> int | None:
    base = _cgroup_dir()
    if base is None:
        return None
    try:
        limit = (base / "memory.max").read_text().strip()
        current = int((base / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    if limit == "max":
        return None
    try:
        return max(0, int(limit) - current)
    except ValueError:
        return None
