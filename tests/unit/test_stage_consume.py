"""The consume stage and HostBatch.fits / consume: what a chosen host gives up."""

from __future__ import annotations

import dataclasses

from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import InstanceGroup
from corral.scheduler.stages.consume import consume
from tests.unit.scheduler_fixtures import candidate, make_batch, make_search, make_spec


def two_hosts() -> HostBatch:
    return make_batch(
        [
            {"instances": {"i-0": "p0"}, "num_instances": 1, "num_io_ops": 2},
            {"vcpus_used": 4, "memory_mb_used": 4096, "free_ram_mb": 32768 - 4096},
        ]
    )


def test_consume_takes_the_first_candidate_from_the_host() -> None:
    batch = two_hosts()
    search = make_search(
        batch,
        {
            "rp-0": [candidate("rp-0", VCPU=2, MEMORY_MB=2048, DISK_GB=20)],
            "rp-1": [candidate("rp-1")],
        },
    )
    spec = make_spec(project_id="proj")
    assert consume(search, batch, 0, spec, "i-new") is spec
    assert batch.vcpus_used.tolist() == [2, 4]
    assert batch.memory_mb_used.tolist() == [2048, 4096]
    assert batch.free_ram_mb.tolist() == [32768 - 2048, 32768 - 4096]
    assert batch.disk_gb_used.tolist() == [20, 0]
    assert batch.free_disk_mb.tolist() == [1024000 - 20 * 1024, 1024000]
    assert batch.num_instances.tolist() == [2, 0]
    assert batch.num_io_ops.tolist() == [3, 0]
    assert batch.instances == [{"i-0": "p0", "i-new": "proj"}, {}]


def test_consume_after_prefer_takes_the_preferred_candidate() -> None:
    batch = two_hosts()
    small, big = candidate("rp-1"), candidate("rp-1", VCPU=8)
    search = make_search(batch, {"rp-1": [small, big]})
    search.prefer("rp-1", big)
    consume(search, batch, 1, make_spec(), None)
    assert batch.vcpus_used.tolist() == [0, 12]


def test_consume_without_a_uuid_leaves_the_instances_map() -> None:
    batch = two_hosts()
    before = batch.instances[0]
    consume(make_search(batch), batch, 0, make_spec(), None)
    assert batch.instances[0] is before
    assert batch.num_instances.tolist() == [2, 0]


def test_a_host_without_candidates_still_counts_the_instance() -> None:
    batch = two_hosts()
    consume(make_search(batch, {}), batch, 1, make_spec(), "i-1")
    assert batch.vcpus_used.tolist() == [0, 4]
    assert batch.num_instances.tolist() == [1, 1]


def test_consume_grows_the_server_group() -> None:
    batch = two_hosts()
    group = InstanceGroup("g-1", "anti-affinity", members=("i-0",), hosts=("host0",))
    spec = make_spec(instance_group=group)
    grown = consume(make_search(batch), batch, 1, spec, "i-1")
    assert grown.instance_group == dataclasses.replace(
        group, members=("i-0", "i-1"), hosts=("host0", "host1")
    )
    assert spec.instance_group is group  # the spec given is left alone
    assert grown.flavor == spec.flavor


def test_a_member_already_in_the_group_is_not_added_twice() -> None:
    batch = two_hosts()
    group = InstanceGroup("g-1", "affinity", members=("i-0", "i-1"))
    grown = consume(make_search(batch), batch, 0, make_spec(instance_group=group), "i-1")
    assert grown.instance_group is not None
    assert grown.instance_group.members == ("i-0", "i-1")
    assert grown.instance_group.hosts == ("host0",)
    anonymous = consume(make_search(batch), batch, 0, make_spec(instance_group=group), None)
    assert anonymous.instance_group is not None
    assert anonymous.instance_group.members == ("i-0", "i-1")


def test_batch_consume_counts_only_vcpu_as_vcpus_used() -> None:
    # vcpus_used is the VCPU inventory's usage (as loaded from Placement): a
    # pinned instance's PCPU leaves the VCPU room for the next instance.
    batch = make_batch([{"vcpus_total": 4}])
    batch.consume(0, {"PCPU": 4, "VCPU": 1}, None)
    assert batch.vcpus_used.tolist() == [1]
    assert batch.fits(0, {"VCPU": 3})
    assert not batch.fits(0, {"VCPU": 4})


def test_batch_consume_without_an_instances_column() -> None:
    batch = make_batch([{}])
    batch.instances = []
    batch.consume(0, {"VCPU": 1}, ("i-1", "p"))
    assert batch.instances == []
    assert batch.num_instances.tolist() == [1]


def test_fits_by_placements_capacity_rule() -> None:
    # VCPU: (16 - 2) * 2.0 - 20 = 8 left
    batch = make_batch([{"vcpus_total": 16, "vcpus_reserved": 2, "cpu_allocation_ratio": 2.0}])
    batch.vcpus_used[0] = 20
    assert batch.fits(0, {"VCPU": 8})
    assert not batch.fits(0, {"VCPU": 9})


def test_fits_memory_and_disk_with_ratio_and_reserved() -> None:
    # MEMORY_MB: int((1000 - 100) * 1.5) = 1350; DISK_GB: int((100 - 10) * 1.0) - 50 = 40
    batch = make_batch(
        [
            {
                "memory_mb_total": 1000,
                "memory_mb_reserved": 100,
                "ram_allocation_ratio": 1.5,
                "disk_gb_total": 100,
                "disk_gb_reserved": 10,
                "disk_gb_used": 50,
            }
        ]
    )
    assert batch.fits(0, {"MEMORY_MB": 1350})
    assert not batch.fits(0, {"MEMORY_MB": 1351})
    assert batch.fits(0, {"DISK_GB": 40, "MEMORY_MB": 1})
    assert not batch.fits(0, {"DISK_GB": 41, "MEMORY_MB": 1})


def test_fits_nothing_taken_and_other_classes() -> None:
    batch = make_batch([{"vcpus_total": 0}])
    assert batch.fits(0, None)
    assert batch.fits(0, {})
    assert not batch.fits(0, {"VCPU": 1})
    # Classes other than the root's VCPU/MEMORY_MB/DISK_GB are Placement's to judge.
    assert batch.fits(0, {"CUSTOM_GOLD": 1000, "PCPU": 64})


def test_fits_sees_what_consume_took() -> None:
    batch = make_batch([{"memory_mb_total": 2048}])
    assert batch.fits(0, {"MEMORY_MB": 1024})
    batch.consume(0, {"MEMORY_MB": 1024}, None)
    assert batch.fits(0, {"MEMORY_MB": 1024})
    batch.consume(0, {"MEMORY_MB": 1024}, None)
    assert not batch.fits(0, {"MEMORY_MB": 1})
    search = make_search(batch, {"rp-0": [candidate("rp-0", MEMORY_MB=1)]})
    assert search.fitting(batch, 0) is None
