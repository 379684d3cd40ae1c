"""ComputeCapabilitiesFilter, ImagePropertiesFilter and JsonFilter."""

from __future__ import annotations

import json

import pytest

from corral.scheduler.filters import (
    ComputeCapabilitiesFilter,
    ImagePropertiesFilter,
    JsonFilter,
)
from corral.scheduler.filters.json_filter import MAX_QUERY_DEPTH
from corral.scheduler.spec import Flavor, Image
from tests.unit.scheduler_fixtures import hints, make_batch, make_conf, make_spec

CONF = make_conf()


def especs(**extra: object) -> object:
    return make_spec(
        flavor=Flavor(vcpus=1, memory_mb=1024, extra_specs={k: str(v) for k, v in extra.items()})
    )


def caps_pass(host: dict[str, object], extra: dict[str, object]) -> bool:
    batch = make_batch([host])
    return bool(ComputeCapabilitiesFilter(CONF).filter(batch, especs(**extra))[0])


@pytest.mark.parametrize(
    ("host", "extra", "passes"),
    [
        # Nova's test_compute_capabilities_filters cases
        ({}, {}, True),
        ({"cpu_info": {}}, {"capabilities:cpu_info:vendor": "Intel"}, False),
        (
            {"cpu_info": {"vendor": "Intel", "model": "core2duo"}},
            {"capabilities:cpu_info:vendor": "Intel"},
            True,
        ),
        (
            {"cpu_info": {"maxphysaddr": {"mode": "emulate", "bits": 42}}},
            {"hw:maxphysaddr_bits": 42},
            True,
        ),
        (
            {"cpu_info": {"maxphysaddr": {"mode": "emulate", "bits": 20}}},
            {"hw:maxphysaddr_bits": 42},
            False,
        ),
        ({"cpu_info": {}}, {"hw:maxphysaddr_bits": 42}, False),
        ({"capabilities": {"opt1": 1, "opt2": 2}}, {"opt1": "1", "opt2": "2"}, True),
        ({"capabilities": {"opt1": 1, "opt2": 2}}, {"opt1": "1", "opt2": "222"}, False),
        ({"capabilities": {"opt1": 1, "opt2": 2}}, {"capabilities:opt1": "1"}, True),
        ({"capabilities": {"capabilities": 1}}, {"capabilities": "1"}, True),
        ({"capabilities": {"opt1": 1}}, {"XXYY": "1"}, True),  # unknown unscoped: ignored
        ({"capabilities": {"opt1": 1}}, {"wrong_scope:opt1": "1"}, True),
        (
            {"capabilities": {"opt1": {"a": 1, "b": {"aa": 2}}, "opt2": 2}},
            {"opt1:a": "1", "capabilities:opt1:b:aa": "2"},
            True,
        ),
        ({"free_ram_mb": 1024}, {"free_ram_mb": ">= 300"}, True),
        ({"free_ram_mb": 1024}, {"free_ram_mb": "<= 300"}, False),
        ({"vcpus_used": 2}, {"vcpus_used": "<= 20"}, True),
        ({"vcpus_used": 2}, {"vcpus_used": ">= 20"}, False),
        ({"hypervisor_type": "QEMU"}, {"capabilities:hypervisor_type": "s== QEMU"}, True),
        ({"hypervisor_type": "QEMU"}, {"hypervisor_type": "ironic"}, False),
        # A JSON string in the stats is decoded on the way down, as Nova does.
        ({"capabilities": {"blob": json.dumps({"x": "y"})}}, {"capabilities:blob:x": "y"}, True),
        ({"capabilities": {"blob": "not json"}}, {"capabilities:blob:x": "y"}, False),
        # resources:/trait:/hw: scopes are someone else's.
        ({}, {"resources:VCPU": "2", "trait:HW_CPU_X86_AVX": "required"}, True),
    ],
)
def test_compute_capabilities(
    host: dict[str, object], extra: dict[str, object], passes: bool
) -> None:
    assert caps_pass(host, extra) is passes


def test_compute_capabilities_reasons() -> None:
    batch = make_batch([{"capabilities": {"opt1": 1}}, {}])
    spec = especs(**{"capabilities:opt1": "2"})
    f = ComputeCapabilitiesFilter(CONF)
    passed = f.filter(batch, spec)
    assert f.reasons(batch, spec, passed) == [
        "does not match flavor extra spec capabilities:opt1",
        "lacks capability opt1",
    ]


KVM_X86 = (("x86_64", "kvm", "hvm"),)


def image_pass(host: dict[str, object], props: dict[str, object], conf: object = CONF) -> bool:
    spec = make_spec(image=Image(properties=props))
    return bool(ImagePropertiesFilter(conf).filter(make_batch([host]), spec)[0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "props", "passes"),
    [
        ({"supported_instances": KVM_X86}, {}, True),
        ({"supported_instances": ()}, {}, True),
        ({"supported_instances": ()}, {"hw_architecture": "x86_64"}, False),
        (
            {"supported_instances": KVM_X86},
            {"hw_architecture": "x86_64", "img_hv_type": "kvm"},
            True,
        ),
        ({"supported_instances": KVM_X86}, {"hw_architecture": "aarch64"}, False),
        ({"supported_instances": KVM_X86}, {"img_hv_type": "xen"}, False),
        # canonical names: amd64 is x86_64, pv is xen, hv/baremetal are hvm
        ({"supported_instances": KVM_X86}, {"hw_architecture": "AMD64", "hw_vm_mode": "hv"}, True),
        (
            {"supported_instances": (("i686", "xen", "xen"),)},
            {"hw_architecture": "i386", "hw_vm_mode": "pv"},
            True,
        ),
        # hypervisor version predicate, only when both sides are known
        (
            {"supported_instances": KVM_X86, "hypervisor_version": 6000000},
            {"img_hv_type": "kvm", "img_hv_requested_version": ">=6.0"},
            True,
        ),
        (
            {"supported_instances": KVM_X86, "hypervisor_version": 5002000},
            {"img_hv_type": "kvm", "img_hv_requested_version": ">=6.0"},
            False,
        ),
        (
            {"supported_instances": KVM_X86, "hypervisor_version": 0},
            {"img_hv_type": "kvm", "img_hv_requested_version": ">=6.0"},
            True,
        ),
        # maxphysaddr bits
        (
            {"supported_instances": KVM_X86, "cpu_info": {"maxphysaddr": {"bits": 46}}},
            {"hw_architecture": "x86_64", "hw_maxphysaddr_bits": 42},
            True,
        ),
        (
            {"supported_instances": KVM_X86, "cpu_info": {"maxphysaddr": {"bits": 39}}},
            {"hw_architecture": "x86_64", "hw_maxphysaddr_bits": 42},
            False,
        ),
        (
            {"supported_instances": KVM_X86, "cpu_info": {}},
            {"hw_architecture": "x86_64", "hw_maxphysaddr_bits": 42},
            True,
        ),
    ],
)
def test_image_properties(host: dict[str, object], props: dict[str, object], passes: bool) -> None:
    assert image_pass(host, props) is passes


def test_image_properties_default_architecture() -> None:
    conf = make_conf(filter_scheduler={"image_properties_default_architecture": "aarch64"})
    host = {"supported_instances": KVM_X86}
    assert image_pass(host, {}, conf) is False
    assert image_pass(host, {"hw_architecture": "x86_64"}, conf) is True
    assert image_pass(host, {}) is True


def test_image_properties_reasons() -> None:
    batch = make_batch(
        [
            {"supported_instances": ()},
            {"supported_instances": KVM_X86},
            {"supported_instances": KVM_X86, "hypervisor_version": 1000},
        ]
    )
    spec = make_spec(
        image=Image(properties={"hw_architecture": "x86_64", "img_hv_requested_version": ">=2.0"})
    )
    f = ImagePropertiesFilter(CONF)
    passed = f.filter(batch, spec)
    assert passed.tolist() == [False, True, False]
    assert f.reasons(batch, spec, passed) == [
        "advertises no supported instance types",
        "hypervisor version does not satisfy img_hv_requested_version",
    ]


def query(q: object) -> object:
    return make_spec(scheduler_hints=hints(query=json.dumps(q)))


RAM_AND_DISK = ["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 200 * 1024]]


def test_json_filter_as_nova() -> None:
    batch = make_batch(
        [
            {"free_ram_mb": 1024, "free_disk_mb": 200 * 1024},
            {"free_ram_mb": 1023, "free_disk_mb": 200 * 1024},
            {"free_ram_mb": 1024, "free_disk_mb": 200 * 1024 - 1},
        ]
    )
    f = JsonFilter(CONF)
    assert f.filter(batch, make_spec()).tolist() == [True, True, True]
    passed = f.filter(batch, query(RAM_AND_DISK))
    assert passed.tolist() == [True, False, False]
    assert f.reasons(batch, query(RAM_AND_DISK), passed) == ["does not match the query hint"] * 2


def test_json_filter_operators_and_lookups() -> None:
    batch = make_batch(
        [
            {"host": "a", "enabled": True, "capabilities": {"opt1": "match"}, "free_ram_mb": 10},
            {"host": "b", "enabled": False, "capabilities": {"opt1": "nope"}, "free_ram_mb": 40},
        ]
    )
    f = JsonFilter(CONF)

    def run(q: object) -> list[bool]:
        return f.filter(batch, query(q)).tolist()  # type: ignore[arg-type]

    assert run(["not", "$service.disabled"]) == [True, False]
    assert run(["=", "$stats.opt1", "match"]) == [True, False]
    assert run(["in", "$host", "b", "c"]) == [False, True]
    assert run(["or", ["<", "$free_ram_mb", 20], [">", "$free_ram_mb", 100]]) == [True, False]
    assert run(["<=", "$free_ram_mb", 10, 40]) == [True, False]
    # An unknown variable reads as nothing and is dropped; one argument compares false.
    assert run(["=", "$no_such_attribute", 1]) == [False, False]
    # "not" of nothing is an empty list, and any([]) is false: the host fails.
    assert run(["not", "$no_such_attribute"]) == [False, False]
    assert run([]) == [True, True]
    # Comparisons Python 3 cannot make are false, not an error.
    assert run(["<", "$host", 3]) == [False, False]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(["fancy", "$free_ram_mb", 1]),
        "not json",
        json.dumps({"and": []}),
        json.dumps(["and"] + [["=", 1, 1]] * 1001),
    ],
)
def test_json_filter_bad_query_fails_every_host(text: str) -> None:
    batch = make_batch([{}, {}])
    spec = make_spec(scheduler_hints={"query": (text,)})
    f = JsonFilter(CONF)
    passed = f.filter(batch, spec)
    assert not passed.any()
    assert all(r.startswith("invalid query hint: ") for r in f.reasons(batch, spec, passed))


def test_json_filter_depth_bound() -> None:
    q: list[object] = ["=", 1, 1]
    for _ in range(MAX_QUERY_DEPTH):
        q = ["and", q]
    spec = query(q)
    assert not JsonFilter(CONF).filter(make_batch([{}]), spec).any()  # type: ignore[arg-type]
