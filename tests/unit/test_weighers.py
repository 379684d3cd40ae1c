"""Weighers and Nova's normalisation: raw weights, multipliers, combined scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from corral.scheduler import registry
from corral.scheduler.spec import Destination, Image, InstanceGroup
from corral.scheduler.weighers import (
    ALL_WEIGHERS,
    BatchWeights,
    BuildFailureWeigher,
    CPUWeigher,
    CrossCellWeigher,
    DiskWeigher,
    HostWeigher,
    HypervisorVersionWeigher,
    ImagePropertiesWeigher,
    IoOpsWeigher,
    MetricNotFound,
    MetricsWeigher,
    NumInstancesWeigher,
    PCIWeigher,
    RAMWeigher,
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
    normalize,
)
from tests.unit.scheduler_fixtures import aggregate, make_batch, make_conf, make_spec

FS = "filter_scheduler"


def scores(
    weighers: list[HostWeigher], hosts: list[dict[str, Any]], aggs=None, **spec: Any
) -> list[float]:  # type: ignore[no-untyped-def]
    batch, request = make_batch(hosts, aggs), make_spec(**spec)
    return BatchWeights(weighers, batch, request).scores(batch, request).tolist()


def test_nova_34_weighers_are_all_registered() -> None:
    assert registry.valid_weigher_names() == {
        "BuildFailureWeigher",
        "CPUWeigher",
        "CrossCellWeigher",
        "DiskWeigher",
        "HypervisorVersionWeigher",
        "ImagePropertiesWeigher",
        "IoOpsWeigher",
        "MetricsWeigher",
        "NumInstancesWeigher",
        "PCIWeigher",
        "RAMWeigher",
        "ServerGroupSoftAffinityWeigher",
        "ServerGroupSoftAntiAffinityWeigher",
    }
    assert all(cls.name == cls.__name__ for cls in ALL_WEIGHERS)


def test_weight_classes_all_means_every_weigher_as_in_nova() -> None:
    assert registry.weigher_classes(["all"]) == list(ALL_WEIGHERS)
    # Nova loads a weigher named twice twice.
    assert registry.weigher_classes(["RAMWeigher", "RAMWeigher"]) == [RAMWeigher, RAMWeigher]
    with pytest.raises(registry.UnknownPlugin, match=r"unknown weigher 'Heavy'\. Valid names: "):
        registry.weigher_classes(["Heavy"])
    conf = make_conf()
    assert [w.name for w in registry.enabled_weighers(conf)] == [c.name for c in ALL_WEIGHERS]
    assert [f.name for f in registry.enabled_filters(conf)] == [
        "ComputeFilter",
        "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter",
    ]


def test_normalize_as_nova() -> None:
    assert normalize(np.array([])).tolist() == []
    assert normalize(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]
    assert normalize(np.array([1.0, 2.0, 3.0])).tolist() == [0.0, 0.5, 1.0]
    assert normalize(np.array([2.0, 4.0]), minval=0).tolist() == [0.5, 1.0]
    assert normalize(np.array([0.0, 0.0]), minval=0).tolist() == [0.0, 0.0]


RAM_HOSTS = [{"free_ram_mb": m} for m in (512, 1024, 3072, 8192)]


def test_ram_weigher_spreads_by_default() -> None:
    # Nova's RamWeigherTestCase: host4 (8192) wins with weight 1.0.
    w = scores([RAMWeigher(make_conf())], RAM_HOSTS)
    assert w == [512 / 8192, 1024 / 8192, 3072 / 8192, 1.0]
    assert (
        scores([RAMWeigher(make_conf(**{FS: {"ram_weight_multiplier": 0.0}}))], RAM_HOSTS)
        == [0.0] * 4
    )
    assert (
        scores([RAMWeigher(make_conf(**{FS: {"ram_weight_multiplier": 2.0}}))], RAM_HOSTS)[-1]
        == 2.0
    )


def test_ram_weigher_negative_multiplier_stacks_and_negative_free_is_zero() -> None:
    conf = make_conf(**{FS: {"ram_weight_multiplier": -1.0}})
    w = scores([RAMWeigher(conf)], [*RAM_HOSTS, {"free_ram_mb": -512}])
    assert int(np.argmax(w)) == 4 and w[4] == 0.0  # the overcommitted host: clamped to 0
    assert w[3] == -1.0
    w = scores([RAMWeigher(make_conf())], [*RAM_HOSTS, {"free_ram_mb": -512}])
    assert w[3] == 1.0 and w[4] == 0.0


def test_per_aggregate_multiplier_overrides_smallest_wins() -> None:
    conf = make_conf(**{FS: {"ram_weight_multiplier": -1.0}})
    weigher = RAMWeigher(conf)
    aggs = [
        aggregate(1, ram_weight_multiplier="2"),
        aggregate(2, ram_weight_multiplier="1.5"),
        aggregate(3, ram_weight_multiplier="lots"),
        aggregate(4, ram_weight_multiplier="inf"),
    ]
    batch = make_batch(
        [
            {},
            {"aggregate_ids": frozenset({1})},
            {"aggregate_ids": frozenset({1, 2})},
            {"aggregate_ids": frozenset({3})},  # not a number: the configured value
            {"aggregate_ids": frozenset({4})},  # not finite: refused likewise
        ],
        aggs,
    )
    assert weigher.multipliers(batch).tolist() == [-1.0, 2.0, 1.5, -1.0, -1.0]
    picked = batch.take(np.array([1, 0]))
    w = BatchWeights([weigher], picked, make_spec()).scores(picked, make_spec())
    batch2 = make_batch(
        [{"free_ram_mb": 1000, "aggregate_ids": frozenset({1})}, {"free_ram_mb": 500}], aggs
    )
    assert BatchWeights([weigher], batch2, make_spec()).scores(batch2, make_spec()).tolist() == [
        2.0,
        -0.5,
    ]
    # RAMWeigher normalises from minval 0, so equal free RAM still reads as 1.0.
    assert w.tolist() == [2.0, -1.0]


def test_cpu_and_disk_weighers() -> None:
    hosts = [
        {"vcpus_total": 8, "cpu_allocation_ratio": 2.0, "vcpus_used": 4, "free_disk_mb": 100},
        {"vcpus_total": 8, "cpu_allocation_ratio": 1.0, "vcpus_used": 4, "free_disk_mb": 400},
        {"vcpus_total": 8, "cpu_allocation_ratio": 1.0, "vcpus_used": 10, "free_disk_mb": 0},
    ]
    assert scores([CPUWeigher(make_conf())], hosts) == [1.0, 4 / 12, 0.0]
    assert scores([DiskWeigher(make_conf())], hosts) == [0.25, 1.0, 0.0]


def test_io_ops_weigher_prefers_quiet_hosts_by_default() -> None:
    w = scores([IoOpsWeigher(make_conf())], [{"num_io_ops": n} for n in (0, 2, 4)])
    assert w == [0.0, -0.5, -1.0]
    conf = make_conf(**{FS: {"io_ops_weight_multiplier": 2.0}})
    assert scores([IoOpsWeigher(conf)], [{"num_io_ops": n} for n in (0, 2, 4)]) == [0.0, 1.0, 2.0]


def test_num_instances_weigher() -> None:
    hosts = [{"num_instances": n} for n in (1, 3, 5)]
    assert scores([NumInstancesWeigher(make_conf())], hosts) == [0.0, 0.0, 0.0]  # default 0: off
    spread = make_conf(**{FS: {"num_instances_weight_multiplier": -1.0}})
    assert scores([NumInstancesWeigher(spread)], hosts) == [-0.0, -0.5, -1.0]


def test_build_failure_weigher_negates_its_multiplier() -> None:
    hosts = [{"failed_builds": n} for n in (0, 1, 4)]
    assert scores([BuildFailureWeigher(make_conf())], hosts) == [0.0, -250000.0, -1000000.0]
    batch = make_batch(
        [{"aggregate_ids": frozenset({1})}], [aggregate(1, build_failure_weight_multiplier="3")]
    )
    assert BuildFailureWeigher(make_conf()).multipliers(batch).tolist() == [-3.0]


def test_hypervisor_version_weigher() -> None:
    hosts = [{"hypervisor_version": v} for v in (0, 6000000, 8000000)]
    assert scores([HypervisorVersionWeigher(make_conf())], hosts) == [0.0, 0.75, 1.0]
    older = make_conf(**{FS: {"hypervisor_version_weight_multiplier": -1.0}})
    assert int(np.argmax(scores([HypervisorVersionWeigher(older)], hosts))) == 0


def test_cross_cell_weigher() -> None:
    hosts = [{"cell_uuid": "c1"}, {"cell_uuid": "c2"}]
    w = CrossCellWeigher(make_conf())
    move = Destination(cell_uuid="c1", allow_cross_cell_move=True)
    assert scores([w], hosts, requested_destination=move) == [1000000.0, 0.0]
    not_allowed = Destination(cell_uuid="c1", allow_cross_cell_move=False)
    assert scores([w], hosts, requested_destination=not_allowed) == [0.0, 0.0]
    assert scores([w], hosts) == [0.0, 0.0]


def pool(count: int) -> dict[str, Any]:
    return {"vendor_id": "8086", "product_id": "1520", "numa_node": 0, "count": count}


def test_pci_weigher_prefers_hosts_with_fewer_free_devices() -> None:
    hosts = [{"pci_stats": []}, {"pci_stats": [pool(1), pool(2)]}, {"pci_stats": [pool(500)]}]
    w = PCIWeigher(make_conf())
    raw = w.weigh(make_batch(hosts), make_spec()).tolist()
    assert raw == [100.0, 97.0, 1.0]
    assert scores([w], hosts) == [1.0, 96 / 99, 0.0]


def group(policy: str, members: tuple[str, ...] = ()) -> InstanceGroup:
    return InstanceGroup(uuid="g", policy=policy, members=members)


AFFINITY_HOSTS = [
    {"instances": {"m1": "p", "m2": "p", "x": "p"}},
    {"instances": {"m3": "p"}},
    {"instances": {}},
]


def test_soft_affinity_weigher() -> None:
    w = ServerGroupSoftAffinityWeigher(make_conf())
    spec = {"instance_group": group("soft-affinity", ("m1", "m2", "m3"))}
    assert scores([w], AFFINITY_HOSTS, **spec) == [1.0, 0.5, 0.0]
    # Other policies, no group, or a group with no members yet: no preference.
    assert (
        scores([w], AFFINITY_HOSTS, instance_group=group("soft-anti-affinity", ("m1",)))
        == [0.0] * 3
    )
    assert scores([w], AFFINITY_HOSTS) == [0.0] * 3
    assert scores([w], AFFINITY_HOSTS, instance_group=group("soft-affinity")) == [0.0] * 3


def test_soft_anti_affinity_weigher() -> None:
    w = ServerGroupSoftAntiAffinityWeigher(make_conf())
    spec = {"instance_group": group("soft-anti-affinity", ("m1", "m2", "m3"))}
    assert scores([w], AFFINITY_HOSTS, **spec) == [0.0, 0.5, 1.0]
    double = make_conf(**{FS: {"soft_anti_affinity_weight_multiplier": 2.0}})
    assert scores([ServerGroupSoftAntiAffinityWeigher(double)], AFFINITY_HOSTS, **spec) == [
        0.0,
        1.0,
        2.0,
    ]
    assert scores([w], AFFINITY_HOSTS, instance_group=group("soft-anti-affinity")) == [0.0] * 3


def test_soft_affinity_multiplier_bounds_follow_nova() -> None:
    with pytest.raises(ValueError):
        make_conf(**{FS: {"soft_affinity_weight_multiplier": -1.0}})


METRIC_HOSTS = [
    {"metrics": {"foo": 512.0, "bar": 1.0}},
    {"metrics": {"foo": 1024.0, "bar": 2.0}},
    {"metrics": {"foo": 3072.0, "bar": 1.0}},
    {"metrics": {"foo": 8192.0, "bar": 0.0}},
]


def test_metrics_weigher() -> None:
    conf = make_conf(metrics={"weight_setting": ["foo=1", "bar=-1000"]})
    w = MetricsWeigher(conf)
    raw = w.weigh(make_batch(METRIC_HOSTS), make_spec()).tolist()
    assert raw == [-488.0, -976.0, 2072.0, 8192.0]
    assert int(np.argmax(scores([w], METRIC_HOSTS))) == 3
    assert scores([MetricsWeigher(make_conf())], METRIC_HOSTS) == [0.0] * 4


def test_metrics_weigher_missing_metric() -> None:
    hosts = [*METRIC_HOSTS, {"metrics": {"foo": 1.0}}]
    conf = make_conf(metrics={"weight_setting": ["foo=1", "bar=1"]})
    with pytest.raises(MetricNotFound, match="metric bar not found on host host4"):
        MetricsWeigher(conf).weigh(make_batch(hosts), make_spec())
    lenient = make_conf(
        metrics={
            "weight_setting": ["foo=1", "bar=1"],
            "required": False,
            "weight_of_unavailable": -5.0,
        }
    )
    assert MetricsWeigher(lenient).weigh(make_batch(hosts), make_spec()).tolist()[-1] == -5.0
    # A zero ratio skips the missing metric instead.
    zero = make_conf(metrics={"weight_setting": ["foo=1", "bar=0"], "required": False})
    assert MetricsWeigher(zero).weigh(make_batch(hosts), make_spec()).tolist()[-1] == 1.0


def test_image_properties_weigher() -> None:
    hosts = [
        {"instance_image_properties": {"i1": {"hw_machine_type": "q35", "os_distro": "win"}}},
        {
            "instance_image_properties": {
                "i2": {"hw_machine_type": "q35"},
                "i3": {"hw_machine_type": "q35", "os_distro": "win"},
            }
        },
        {"instance_image_properties": {}},
    ]
    image = Image(properties={"hw_machine_type": "q35", "os_distro": "win"})
    # Off by default (multiplier 0).
    assert scores([ImagePropertiesWeigher(make_conf())], hosts, image=image) == [0.0] * 3
    conf = make_conf(**{FS: {"image_props_weight_multiplier": 1.0}})
    raw = ImagePropertiesWeigher(conf).weigh(make_batch(hosts), make_spec(image=image)).tolist()
    assert raw == [2.0, 3.0, 0.0]
    conf = make_conf(
        **{
            FS: {
                "image_props_weight_multiplier": 1.0,
                "image_props_weight_setting": ["os_distro=2"],
            }
        }
    )
    raw = ImagePropertiesWeigher(conf).weigh(make_batch(hosts), make_spec(image=image)).tolist()
    assert raw == [2.0, 2.0, 0.0]


def test_combine_sums_weighers_and_leaves_single_hosts_unweighed() -> None:
    conf = make_conf()
    hosts = [
        {"free_ram_mb": 1000, "num_io_ops": 0},
        {"free_ram_mb": 2000, "num_io_ops": 4},
    ]
    # RAM: [0.5, 1.0] x 1; IoOps: [0, 1] x -1
    assert scores([RAMWeigher(conf), IoOpsWeigher(conf)], hosts) == [0.5, 0.0]
    assert scores([RAMWeigher(conf), IoOpsWeigher(conf)], hosts[:1]) == [0.0]
    assert scores([RAMWeigher(conf)], []) == []
    every = [cls(conf) for cls in ALL_WEIGHERS]
    assert len(scores(every, [{}, {}, {}])) == 3  # every weigher copes with a plain batch
