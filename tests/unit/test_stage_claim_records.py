"""The claim stage's records: what claiming one candidate writes (Claimer's writes
are the functional tests')."""

from __future__ import annotations

from corral.placement.consumers import ConsumerSpec
from corral.scheduler.spec import Flavor, Image, InstanceGroup
from corral.scheduler.stages.claim import CONSUMER_TYPE, claim_for, merge_allocations
from tests.unit.scheduler_fixtures import candidate, hints, make_batch, make_spec

FLAVOR = Flavor(
    vcpus=2,
    memory_mb=2048,
    root_gb=20,
    ephemeral_gb=5,
    swap=512,
    name="m1.medium",
    flavorid="f-3",
    extra_specs={"hw:cpu_policy": "shared"},
)


def test_claim_for_builds_the_consumer_write_and_the_instance_record() -> None:
    batch = make_batch([{}, {"host": "cmp1", "node": "cmp1.example", "provider_uuid": "rp-x"}])
    chosen = candidate("rp-x", VCPU=2, MEMORY_MB=2048)._replace(
        allocations={"rp-x": {"VCPU": 2, "MEMORY_MB": 2048}, "rp-disk": {"DISK_GB": 20}}
    )
    spec = make_spec(
        flavor=FLAVOR,
        project_id="proj",
        user_id="user",
        image=Image(id="img", properties={"hw_machine_type": "q35"}),
    )
    claim = claim_for("i-1", spec, batch, 1, chosen)
    assert claim.uuid == "i-1"
    assert claim.write.consumer == ConsumerSpec(
        uuid="i-1", project_id="proj", user_id="user", consumer_type="INSTANCE"
    )
    assert CONSUMER_TYPE == "INSTANCE"
    assert claim.write.allocations == {
        "rp-x": {"VCPU": 2, "MEMORY_MB": 2048},
        "rp-disk": {"DISK_GB": 20},
    }
    # A copy: candidates of one search may share their inner dicts.
    assert claim.write.allocations["rp-x"] is not chosen.allocations["rp-x"]
    placed = claim.placed
    assert (placed.uuid, placed.host, placed.node, placed.provider_uuid) == (
        "i-1",
        "cmp1",
        "cmp1.example",
        "rp-x",
    )
    assert (placed.project_id, placed.user_id) == ("proj", "user")
    assert placed.flavor == {
        "name": "m1.medium",
        "flavorid": "f-3",
        "vcpus": 2,
        "memory_mb": 2048,
        "root_gb": 20,
        "ephemeral_gb": 5,
        "swap": 512,
        "extra_specs": {"hw:cpu_policy": "shared"},
    }
    assert placed.image_properties == {"hw_machine_type": "q35"}
    assert claim.group is None


def test_a_spec_without_owner_records_empty_owner() -> None:
    batch = make_batch([{}])
    claim = claim_for("i-2", make_spec(), batch, 0, candidate("rp-0"))
    assert claim.write.consumer.project_id is None and claim.write.consumer.user_id is None
    assert (claim.placed.project_id, claim.placed.user_id) == ("", "")


def test_the_group_is_the_instance_group() -> None:
    batch = make_batch([{}])
    group = InstanceGroup("g-1", "affinity")
    spec = make_spec(instance_group=group, scheduler_hints=hints(group="g-other"))
    assert claim_for("i-1", spec, batch, 0, candidate("rp-0")).group == "g-1"


def test_the_group_from_the_group_hint() -> None:
    batch = make_batch([{}])
    spec = make_spec(scheduler_hints=hints(group="g-2"))
    assert claim_for("i-1", spec, batch, 0, candidate("rp-0")).group == "g-2"


def test_a_move_keeps_what_the_consumer_holds_and_adds_the_destination() -> None:
    # Nova's _move_operation_alloc_request: the source stays as it is; a
    # provider held already (shared storage) keeps its amounts.
    held = {"rp-src": {"VCPU": 2, "MEMORY_MB": 2048}, "rp-shared": {"DISK_GB": 20}}
    wanted = {"rp-dst": {"VCPU": 2, "MEMORY_MB": 2048}, "rp-shared": {"DISK_GB": 40}}
    merged = merge_allocations(held, wanted)
    assert merged == {
        "rp-src": {"VCPU": 2, "MEMORY_MB": 2048},
        "rp-shared": {"DISK_GB": 20},
        "rp-dst": {"VCPU": 2, "MEMORY_MB": 2048},
    }
    # Copies: neither input is changed through the result.
    merged["rp-src"]["VCPU"] = 0
    merged["rp-dst"]["VCPU"] = 0
    assert held["rp-src"]["VCPU"] == 2 and wanted["rp-dst"]["VCPU"] == 2


def test_a_new_consumer_claims_the_candidate_as_it_is() -> None:
    wanted = {"rp-dst": {"VCPU": 1}}
    assert merge_allocations({}, wanted) == wanted


def test_a_group_the_store_does_not_hold_yet_is_not_joined() -> None:
    # Nova's group, not yet copied by the Nova feed: the claim must not fail on
    # the membership (the feed brings it from Nova), so none is written.
    batch = make_batch([{}])
    group = InstanceGroup("g-new", "affinity", stored=False)
    spec = make_spec(instance_group=group)
    assert claim_for("i-1", spec, batch, 0, candidate("rp-0")).group is None
