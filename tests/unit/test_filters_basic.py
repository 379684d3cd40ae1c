"""The simple host filters and the filter base: Nova's documented behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from corral.scheduler import registry
from corral.scheduler.filters import (
    ALL_FILTERS,
    AggregateIoOpsFilter,
    AggregateNumInstancesFilter,
    AllHostsFilter,
    ComputeFilter,
    HostFilter,
    IncompleteBatch,
    IoOpsFilter,
    IsolatedHostsFilter,
    MetricsFilter,
    NumInstancesFilter,
    ServerGroupAntiAffinityFilter,
)
from corral.scheduler.spec import Image, InstanceGroup
from tests.unit.scheduler_fixtures import aggregate, hints, make_batch, make_conf, make_spec

REBUILD = hints(_nova_check_type="rebuild")


def mask(f: HostFilter, batch, spec=None) -> list[bool]:  # type: ignore[no-untyped-def]
    return f.filter(batch, spec or make_spec()).tolist()


def test_nova_34_filters_are_all_registered_by_class_name() -> None:
    names = {
        "AggregateImagePropertiesIsolation",
        "AggregateInstanceExtraSpecsFilter",
        "AggregateIoOpsFilter",
        "AggregateMultiTenancyIsolation",
        "AggregateNumInstancesFilter",
        "AggregateTypeAffinityFilter",
        "AllHostsFilter",
        "ComputeCapabilitiesFilter",
        "ComputeFilter",
        "DifferentHostFilter",
        "ImagePropertiesFilter",
        "IoOpsFilter",
        "IsolatedHostsFilter",
        "JsonFilter",
        "MetricsFilter",
        "NUMATopologyFilter",
        "NumInstancesFilter",
        "PciPassthroughFilter",
        "SameHostFilter",
        "ServerGroupAffinityFilter",
        "ServerGroupAntiAffinityFilter",
        "SimpleCIDRAffinityFilter",
    }
    assert registry.valid_filter_names() == names
    assert all(cls.name == cls.__name__ for cls in ALL_FILTERS)
    # Removed from Nova long ago; never invented here.
    for gone in ("RamFilter", "CoreFilter", "DiskFilter", "AvailabilityZoneFilter"):
        assert gone not in registry.FILTERS


# Nova's class attributes, per filter: (run_filter_once_per_request, RUN_ON_REBUILD)
NOVA_ATTRIBUTES = {
    "AllHostsFilter": (True, False),
    "DifferentHostFilter": (True, False),
    "SameHostFilter": (True, False),
    "SimpleCIDRAffinityFilter": (True, False),
    "ServerGroupAntiAffinityFilter": (False, False),
    "ServerGroupAffinityFilter": (False, False),
    "AggregateImagePropertiesIsolation": (True, True),
    "AggregateInstanceExtraSpecsFilter": (True, False),
    "AggregateMultiTenancyIsolation": (True, False),
    "ComputeCapabilitiesFilter": (True, False),
    "ComputeFilter": (True, False),
    "ImagePropertiesFilter": (True, True),
    "IoOpsFilter": (False, False),
    "AggregateIoOpsFilter": (False, False),
    "IsolatedHostsFilter": (True, True),
    "JsonFilter": (False, False),
    "MetricsFilter": (False, False),
    "NumInstancesFilter": (False, False),
    "AggregateNumInstancesFilter": (False, False),
    "NUMATopologyFilter": (False, False),
    "PciPassthroughFilter": (False, False),
    "AggregateTypeAffinityFilter": (True, False),
}


@pytest.mark.parametrize("name", sorted(NOVA_ATTRIBUTES))
def test_nova_class_attributes(name: str) -> None:
    cls = registry.FILTERS[name]
    assert (cls.run_filter_once_per_request, cls.run_on_rebuild) == NOVA_ATTRIBUTES[name]
    f = cls(make_conf())
    assert f.run_filter_for_index(0)
    assert f.run_filter_for_index(3) is not cls.run_filter_once_per_request


@pytest.mark.parametrize("name", sorted(NOVA_ATTRIBUTES))
def test_every_filter_takes_an_empty_batch(name: str) -> None:
    f = registry.FILTERS[name](make_conf())
    out = f.filter(make_batch([]), make_spec())
    assert out.dtype == np.bool_ and out.shape == (0,)


def test_filters_not_run_on_rebuild_pass_every_host() -> None:
    batch = make_batch([{"enabled": False}, {"up": False}])
    conf = make_conf()
    assert mask(ComputeFilter(conf), batch) == [False, False]
    rebuild = make_spec(scheduler_hints=REBUILD)
    assert mask(ComputeFilter(conf), batch, rebuild) == [True, True]
    # IsolatedHostsFilter runs on rebuild.
    conf = make_conf(filter_scheduler={"isolated_hosts": ["host0"]})
    assert mask(IsolatedHostsFilter(conf), batch, rebuild) == [False, True]


def test_all_hosts_filter() -> None:
    assert mask(AllHostsFilter(make_conf()), make_batch([{}, {"enabled": False}])) == [True, True]


def test_compute_filter_reasons() -> None:
    batch = make_batch([{}, {"enabled": False}, {"up": False}, {"enabled": False, "up": False}])
    f = ComputeFilter(make_conf())
    passed = f.filter(batch, make_spec())
    assert passed.tolist() == [True, False, False, False]
    assert f.reasons(batch, make_spec(), passed) == ["disabled", "down", "disabled"]


def test_num_instances_filter_uses_strict_less_than() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 5})
    batch = make_batch([{"num_instances": 4}, {"num_instances": 5}, {"num_instances": 6}])
    assert mask(NumInstancesFilter(conf), batch) == [True, False, False]
    f = NumInstancesFilter(conf)
    assert f.reasons(batch, make_spec(), f.filter(batch, make_spec())) == ["too many instances"] * 2


def test_aggregate_num_instances_filter_takes_the_smallest_aggregate_value() -> None:
    conf = make_conf(filter_scheduler={"max_instances_per_host": 5})
    aggs = [
        aggregate(1, max_instances_per_host="3"),
        aggregate(2, max_instances_per_host="10"),
        aggregate(3, max_instances_per_host="not a number"),
        aggregate(4, other="x"),
    ]
    batch = make_batch(
        [
            {"num_instances": 3, "aggregate_ids": frozenset({1})},  # limit 3
            {"num_instances": 3, "aggregate_ids": frozenset({1, 2})},  # min(3, 10)
            {"num_instances": 9, "aggregate_ids": frozenset({2})},  # limit 10
            {"num_instances": 4, "aggregate_ids": frozenset({3})},  # bad value: default 5
            {"num_instances": 5, "aggregate_ids": frozenset({3})},
            {"num_instances": 4, "aggregate_ids": frozenset({4})},  # no key: default 5
            {"num_instances": 4},
        ],
        aggs,
    )
    assert mask(AggregateNumInstancesFilter(conf), batch) == [
        False,
        False,
        True,
        True,
        False,
        True,
        True,
    ]


def test_io_ops_filters() -> None:
    conf = make_conf(filter_scheduler={"max_io_ops_per_host": 8})
    batch = make_batch(
        [
            {"num_io_ops": 7},
            {"num_io_ops": 8},
            {"num_io_ops": 2, "aggregate_ids": frozenset({1})},
            {"num_io_ops": 3, "aggregate_ids": frozenset({1})},
            {"num_io_ops": 7, "aggregate_ids": frozenset({2})},
        ],
        [aggregate(1, max_io_ops_per_host="3"), aggregate(2, max_io_ops_per_host="3.5")],
    )
    assert mask(IoOpsFilter(conf), batch) == [True, False, True, True, True]
    # "3.5" is not an int: Nova falls back to the configured limit.
    assert mask(AggregateIoOpsFilter(conf), batch) == [True, False, True, False, True]
    zero = make_conf(filter_scheduler={"max_io_ops_per_host": 0})
    assert mask(IoOpsFilter(zero), make_batch([{"num_io_ops": 0}])) == [False]


@pytest.mark.parametrize(
    ("isolated_images", "restrict", "image", "expected"),
    [
        # Nova's matrix with restrict_isolated_hosts_to_isolated_images = True
        (["iso-img"], True, "iso-img", [True, False]),
        (["iso-img"], True, "other", [False, True]),
        (["iso-img"], True, None, [False, True]),  # volume-backed: no image id
        # ... and with it False: isolated hosts take anything
        (["iso-img"], False, "iso-img", [True, False]),
        (["iso-img"], False, "other", [True, True]),
        # no isolated images: isolated hosts closed only when restricting
        ([], True, "other", [False, True]),
        ([], False, "other", [True, True]),
    ],
)
def test_isolated_hosts_filter(
    isolated_images: list[str], restrict: bool, image: str | None, expected: list[bool]
) -> None:
    conf = make_conf(
        filter_scheduler={
            "isolated_hosts": ["iso-host"],
            "isolated_images": isolated_images,
            "restrict_isolated_hosts_to_isolated_images": restrict,
        }
    )
    batch = make_batch([{"host": "iso-host"}, {"host": "plain"}])
    assert mask(IsolatedHostsFilter(conf), batch, make_spec(image=Image(id=image))) == expected


def test_metrics_filter_needs_every_weighed_metric() -> None:
    conf = make_conf(metrics={"weight_setting": ["cpu.frequency=1", "cpu.percent=-1", "bad"]})
    batch = make_batch(
        [
            {"metrics": {"cpu.frequency": 1.0, "cpu.percent": 2.0, "other": 3.0}},
            {"metrics": {"cpu.frequency": 1.0}},
            {"metrics": {}},
        ]
    )
    f = MetricsFilter(conf)
    passed = f.filter(batch, make_spec())
    assert passed.tolist() == [True, False, False]
    assert f.reasons(batch, make_spec(), passed) == [
        "missing metric(s) cpu.percent",
        "missing metric(s) cpu.frequency, cpu.percent",
    ]
    # Nothing to weigh: every host passes.
    assert mask(MetricsFilter(make_conf()), batch) == [True, True, True]


def test_a_column_the_loader_left_empty_is_an_error_not_a_pass() -> None:
    batch = make_batch([{}, {}])
    batch.instances = []
    group = InstanceGroup(uuid="g", policy="anti-affinity", members=("a",))
    with pytest.raises(IncompleteBatch, match=r"HostBatch\.instances"):
        ServerGroupAntiAffinityFilter(make_conf()).filter(batch, make_spec(instance_group=group))


def test_take_keeps_unfilled_columns_unfilled() -> None:
    batch = make_batch([{}, {}, {}])
    batch.instances = []
    sub = batch.take(np.array([True, False, True]))
    assert sub.host == ["host0", "host2"] and sub.instances == []
