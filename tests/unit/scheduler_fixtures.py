"""Small HostBatch / RequestSpec / config builders for the filter and weigher tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from oslo_config import cfg

from corral.conf import new_conf
from corral.placement.candidates import Candidate
from corral.scheduler.batch import Aggregate, HostBatch
from corral.scheduler.request_filters import Narrowing
from corral.scheduler.spec import Flavor, RequestSpec
from corral.scheduler.stages.search import Search

ARRAY_COLUMNS: dict[str, Any] = {
    "enabled": (np.bool_, True),
    "up": (np.bool_, True),
    "vcpus_total": (np.int64, 16),
    "vcpus_used": (np.int64, 0),
    "cpu_allocation_ratio": (np.float64, 1.0),
    "memory_mb_total": (np.int64, 32768),
    "memory_mb_used": (np.int64, 0),
    "memory_mb_reserved": (np.int64, 0),
    "vcpus_reserved": (np.int64, 0),
    "ram_allocation_ratio": (np.float64, 1.0),
    "disk_gb_total": (np.int64, 1000),
    "disk_gb_used": (np.int64, 0),
    "disk_gb_reserved": (np.int64, 0),
    "disk_allocation_ratio": (np.float64, 1.0),
    "free_ram_mb": (np.int64, 32768),
    "free_disk_mb": (np.int64, 1024000),
    "num_instances": (np.int64, 0),
    "num_io_ops": (np.int64, 0),
    "failed_builds": (np.int64, 0),
    "hypervisor_version": (np.int64, 0),
}

LIST_COLUMNS: dict[str, Any] = {
    "cell_uuid": lambda i: "cell1",
    "hypervisor_type": lambda i: "QEMU",
    "hypervisor_hostname": lambda i: f"node{i}",
    "cpu_info": lambda i: {},
    "capabilities": lambda i: {},
    "metrics": lambda i: {},
    "supported_instances": lambda i: (),
    "host_ip": lambda i: f"10.0.0.{i + 1}",
    "numa_topology": lambda i: None,
    "pci_stats": lambda i: (),
    "traits": lambda i: frozenset(),
    "aggregate_ids": lambda i: frozenset(),
    "instances": lambda i: {},
    "availability_zone": lambda i: "nova",
    "instance_image_properties": lambda i: {},
}


def make_batch(
    hosts: list[Mapping[str, Any]], aggregates: list[Aggregate] | None = None
) -> HostBatch:
    """A batch with one row per dict; unnamed columns take harmless defaults."""
    n = len(hosts)
    columns: dict[str, Any] = {
        "host": [h.get("host", f"host{i}") for i, h in enumerate(hosts)],
        "node": [h.get("node", f"node{i}") for i, h in enumerate(hosts)],
        "provider_uuid": [h.get("provider_uuid", f"rp-{i}") for i, h in enumerate(hosts)],
    }
    for name, (dtype, default) in ARRAY_COLUMNS.items():
        columns[name] = np.asarray([h.get(name, default) for h in hosts], dtype=dtype).reshape(n)
    for name, default in LIST_COLUMNS.items():
        columns[name] = [h.get(name, default(i)) for i, h in enumerate(hosts)]
    columns["aggregates"] = {agg.id: agg for agg in aggregates or []}
    return HostBatch(**columns)


def aggregate(id: int, hosts: set[str] | None = None, **metadata: str) -> Aggregate:
    return Aggregate(
        id=id,
        uuid=f"agg-{id}",
        name=f"agg{id}",
        metadata=dict(metadata),
        hosts=frozenset(hosts or ()),
    )


def make_spec(**fields: Any) -> RequestSpec:
    fields.setdefault("flavor", Flavor(vcpus=1, memory_mb=512, name="m1.small"))
    return RequestSpec(**fields)


def make_conf(**groups: Mapping[str, Any]) -> cfg.ConfigOpts:
    """A parsed config with overrides, e.g. make_conf(filter_scheduler={"x": 1})."""
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=group)
    return conf


def hints(**values: str | list[str]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) if isinstance(v, list) else (v,) for k, v in values.items()}


def candidate(provider: str, **resources: int) -> Candidate:
    """One allocation candidate taking `resources` (VCPU=1, MEMORY_MB=512 unless
    given) from `provider`, its one request group mapped to it."""
    amounts = {"VCPU": 1, "MEMORY_MB": 512, **resources}
    return Candidate({provider: {rc: n for rc, n in amounts.items() if n}}, {"": [provider]})


def make_search(
    batch: HostBatch, offered: Mapping[str, list[Candidate]] | None = None, **fields: Any
) -> Search:
    """A Search over `batch` as if Placement had offered `offered` (by default
    one plain candidate per host); no request, so nothing reads an index."""
    if offered is None:
        offered = {p: [candidate(p)] for p in batch.provider_uuid}
    fields.setdefault("hosts_total", len(batch))
    return Search(
        request=None,
        narrowing=Narrowing(),
        batch=batch,
        offered=dict(offered),
        truncated=False,
        stages=[],
        **fields,
    )
