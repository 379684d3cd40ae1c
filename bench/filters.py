"""Time of every host filter and weigher over one large HostBatch.

Builds a batch of N hosts (default 100,000) with 10 aggregates carrying the
metadata the aggregate filters read, a few instances per host, metrics and
PCI pools, and a request that makes each filter do its work (hints, extra
specs, an anti-affinity group, a NUMA topology on 1 % of the hosts), then
prints the best of three runs per filter and for all weighers combined.

    .venv/bin/python bench/filters.py [--hosts 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.scheduler_fixtures import aggregate, make_batch, make_conf, make_spec

from corral.scheduler import registry
from corral.scheduler.spec import Flavor, Image, InstanceGroup
from corral.scheduler.weighers import BatchWeights


def build(n: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    aggs = [
        aggregate(
            i,
            max_instances_per_host=str(20 + i),
            max_io_ops_per_host="6",
            ssd="true" if i % 2 else "false",
            instance_type="m1.small,m1.large",
            ram_weight_multiplier="2.0",
        )
        for i in range(10)
    ]
    aggs[9] = aggregate(9, filter_tenant_id="p9")
    numa = {
        "cells": [
            {"id": c, "cpuset": list(range(c * 8, c * 8 + 8)), "pcpuset": [], "memory": 65536}
            for c in range(2)
        ]
    }
    hosts = []
    for i in range(n):
        hosts.append(
            {
                "free_ram_mb": int(rng.integers(0, 262144)),
                "free_disk_mb": int(rng.integers(0, 2_000_000)),
                "vcpus_used": int(rng.integers(0, 64)),
                "vcpus_total": 64,
                "num_instances": int(rng.integers(0, 60)),
                "num_io_ops": int(rng.integers(0, 10)),
                "up": bool(i % 50),
                "host_ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                "hypervisor_version": 8000000,
                "supported_instances": (("x86_64", "kvm", "hvm"),),
                "capabilities": {"ssd": "true"},
                "metrics": {"cpu.percent": float(rng.random())},
                "instances": {f"i{i}-{k}": "p" for k in range(3)},
                "aggregate_ids": frozenset({i % 10}),
                "numa_topology": numa if i % 100 == 0 else None,
                "pci_stats": [{"vendor_id": "8086", "product_id": "1520", "count": 2}],
            }
        )
    return make_batch(hosts, aggs)


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=100_000)
    args = parser.parse_args()
    batch = build(args.hosts)
    conf = make_conf(metrics={"weight_setting": ["cpu.percent=-1"]})
    spec = make_spec(
        flavor=Flavor(vcpus=2, memory_mb=2048, name="m1.small", extra_specs={"ssd": "true"}),
        image=Image(id="img", properties={"hw_architecture": "x86_64"}),
        project_id="p1",
        scheduler_hints={
            "different_host": ("i5-0", "i7-1"),
            "query": (json.dumps([">=", "$free_ram_mb", 1024]),),
            "build_near_host_ip": ("10.0.0.1",),
        },
        instance_group=InstanceGroup(uuid="g", policy="anti-affinity", members=("i3-0",)),
        numa_topology={"cells": [{"id": 0, "cpuset": [0, 1], "pcpuset": [], "memory": 2048}]},
    )
    print(f"{args.hosts} hosts, best of 3")
    print(f"{'filter / weigher':38} {'ms':>9} {'ns/host':>9} {'passed':>8}")
    for name in sorted(registry.FILTERS):
        f = registry.FILTERS[name](conf)
        passed = f.filter(batch, spec)
        seconds = best_of(3, lambda f=f: f.filter(batch, spec))
        print(
            f"{name:38} {seconds * 1e3:9.1f} {seconds / args.hosts * 1e9:9.0f} "
            f"{int(passed.sum()):8d}"
        )
    weighers = registry.enabled_weighers(conf)
    # Building BatchWeights weighs the batch once; scores() then adds the weighers
    # that read consumption: together, what the engine does for one instance.
    seconds = best_of(3, lambda: BatchWeights(weighers, batch, spec).scores(batch, spec))
    print(
        f"{'all 13 weighers (weighed)':38} {seconds * 1e3:9.1f} {seconds / args.hosts * 1e9:9.0f}"
    )


if __name__ == "__main__":
    main()
