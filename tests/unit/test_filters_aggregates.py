"""Aggregate-metadata filters and Nova's extra_specs_ops language."""

from __future__ import annotations

import pytest

from corral.scheduler.filters import (
    AggregateImagePropertiesIsolation,
    AggregateInstanceExtraSpecsFilter,
    AggregateMultiTenancyIsolation,
    AggregateTypeAffinityFilter,
)
from corral.scheduler.filters.extra_specs_ops import match
from corral.scheduler.spec import Flavor, Image
from tests.unit.scheduler_fixtures import aggregate, make_batch, make_conf, make_spec

ALL_IN = str(["aes", "mmx", "aux"])

# Nova's test_extra_specs_ops cases: (host value, requirement, matches)
NOVA_CASES = [
    ("1", "1", True),
    ("", "1", False),
    ("3", "1", False),
    ("222", "2", False),
    ("4", "> 2", False),
    ("123", "= 123", True),
    ("124", "= 123", True),
    ("34", "= 234", False),
    ("34", "=", False),
    ("123", "s== 123", True),
    ("1234", "s== 123", False),
    ("1234", "s!= 123", True),
    ("123", "s!= 123", False),
    ("1000", "s>= 234", False),
    ("1234", "s<= 1000", False),
    ("2", "s< 12", False),
    ("12", "s> 2", False),
    ("12311321", "<in> 11", True),
    ("12311321", "<in> 12311321", True),
    ("12311321", "<in> 12311321 <in>", True),
    ("12310321", "<in> 11", False),
    ("12310321", "<in> 11 <in>", False),
    ("12", "<or> 11 <or> 12", True),
    ("12", "<or> 11 <or> 12 <or>", True),
    ("13", "<or> 11 <or> 12", False),
    ("13", "<or> 11 <or> 12 <or>", False),
    ("2", "<= 10", True),
    ("3", "<= 2", False),
    ("3", ">= 1", True),
    ("2", ">= 3", False),
    (ALL_IN, "<all-in> aes mmx", True),
    (ALL_IN, "<all-in> mmx", True),
    (ALL_IN, "<all-in>  txt", False),
    (ALL_IN, "<all-in> txt 3dnow", False),
    (ALL_IN, "<all-in> txt aes", False),
]


@pytest.mark.parametrize(("value", "req", "matches"), NOVA_CASES)
def test_extra_specs_ops_as_nova(value: str, req: str, matches: bool) -> None:
    assert match(value, req) is matches


@pytest.mark.parametrize(("value", "req"), [("abc", ">= 2"), ("1", "<or>"), (None, ">= 1")])
def test_extra_specs_ops_where_nova_raises_do_not_match(value: str | None, req: str) -> None:
    assert match(value, req) is False


def flavor(name: str = "m1.small", **extra_specs: str) -> Flavor:
    return Flavor(vcpus=1, memory_mb=512, name=name, extra_specs=extra_specs)


def test_instance_extra_specs_against_aggregate_metadata() -> None:
    aggs = [
        aggregate(1, ssd="true", speed="5"),
        aggregate(2, ssd="false, maybe"),
        aggregate(3, speed="10"),
    ]
    batch = make_batch(
        [
            {"aggregate_ids": frozenset({1})},
            {"aggregate_ids": frozenset({2})},
            {"aggregate_ids": frozenset({2, 3})},
            {},
        ],
        aggs,
    )
    f = AggregateInstanceExtraSpecsFilter(make_conf())
    # No extra specs: everything passes.
    assert f.filter(batch, make_spec(flavor=flavor())).all()
    # Unscoped keys are matched too; other scopes are ignored.
    spec = make_spec(flavor=flavor(ssd="true", **{"hw:cpu_policy": "dedicated"}))
    assert f.filter(batch, spec).tolist() == [True, False, False, False]
    spec = make_spec(flavor=flavor(**{"aggregate_instance_extra_specs:ssd": "maybe"}))
    assert f.filter(batch, spec).tolist() == [False, True, True, False]
    # Operators; several aggregates give several values, any one may match.
    spec = make_spec(flavor=flavor(speed=">= 7"))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, False, True, False]
    assert (
        f.reasons(batch, spec, passed) == ["aggregate metadata does not match extra spec speed"] * 3
    )


def test_image_properties_isolation() -> None:
    aggs = [aggregate(1, hw_vm_mode="hvm, xen", foo="bar"), aggregate(2, os_distro="windows")]
    batch = make_batch(
        [{"aggregate_ids": frozenset({1})}, {"aggregate_ids": frozenset({2})}, {}], aggs
    )
    f = AggregateImagePropertiesIsolation(make_conf())
    assert f.filter(batch, make_spec(image=Image())).all()
    spec = make_spec(image=Image(properties={"hw_vm_mode": "xen", "os_distro": "ubuntu"}))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [True, False, True]
    assert f.reasons(batch, spec, passed) == [
        "image property os_distro does not match its aggregate"
    ]
    spec = make_spec(image=Image(properties={"hw_vm_mode": "exe"}))
    assert f.filter(batch, spec).tolist() == [False, True, True]


def test_image_properties_isolation_namespace() -> None:
    conf = make_conf(
        filter_scheduler={
            "aggregate_image_properties_isolation_namespace": "ns",
            "aggregate_image_properties_isolation_separator": ".",
        }
    )
    aggs = [aggregate(1, **{"ns.tier": "gold", "hw_vm_mode": "hvm"})]
    batch = make_batch([{"aggregate_ids": frozenset({1})}], aggs)
    f = AggregateImagePropertiesIsolation(conf)
    # hw_vm_mode is outside the namespace: not checked.
    spec = make_spec(image=Image(properties={"hw_vm_mode": "xen"}))
    assert f.filter(batch, spec).tolist() == [True]
    spec = make_spec(image=Image(properties={"ns.tier": "silver"}))
    assert f.filter(batch, spec).tolist() == [False]


def test_multi_tenancy_isolation() -> None:
    aggs = [
        aggregate(1, filter_tenant_id="p1, p2"),
        aggregate(2, filter_tenant_id_2="p3"),
        aggregate(3, other="x"),
    ]
    batch = make_batch(
        [
            {"aggregate_ids": frozenset({1})},
            {"aggregate_ids": frozenset({1, 2})},
            {"aggregate_ids": frozenset({3})},
            {},
        ],
        aggs,
    )
    f = AggregateMultiTenancyIsolation(make_conf())
    assert f.filter(batch, make_spec(project_id="p2")).tolist() == [True, True, True, True]
    assert f.filter(batch, make_spec(project_id="p3")).tolist() == [False, True, True, True]
    passed = f.filter(batch, make_spec(project_id="p9"))
    assert passed.tolist() == [False, False, True, True]
    assert f.reasons(batch, make_spec(), passed) == ["aggregate reserved for other projects"] * 2


def test_type_affinity() -> None:
    aggs = [aggregate(1, instance_type="m1.small, m1.large"), aggregate(2, instance_type="m1.tiny")]
    batch = make_batch(
        [
            {"aggregate_ids": frozenset({1})},
            {"aggregate_ids": frozenset({2})},
            {"aggregate_ids": frozenset({1, 2})},
            {},
        ],
        aggs,
    )
    f = AggregateTypeAffinityFilter(make_conf())
    spec = make_spec(flavor=flavor("m1.large"))
    passed = f.filter(batch, spec)
    assert passed.tolist() == [True, False, True, True]
    assert f.reasons(batch, spec, passed) == [
        "aggregate instance_type does not admit flavor m1.large"
    ]
