"""Nova's scheduler casts applied to corral's store, on both backends.

The endpoint methods are called as oslo.messaging's dispatcher calls them,
with primitives Nova 34 produced (tests/fixtures/nova/).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from corral.rpc.endpoint import SchedulerEndpoint
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store.database import Database, utcnow
from corral.store.instances import InstanceValues

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"
CTXT = json.loads((FIXTURES / "context.json").read_text())
AGG_UUID = "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9"
INSTANCE_UUID = "a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def endpoint(db: Database, max_bytes: int = 4 * 1024 * 1024) -> SchedulerEndpoint:
    return SchedulerEndpoint(scheduler=None, db=db, max_message_bytes=max_bytes)


def aggregate_rows(db: Database) -> list[aggregate_store.AggregateRow]:
    with db.read() as conn:
        return aggregate_store.by_ids(conn)


def instance_row(db: Database, uuid: str) -> instance_store.InstanceRow | None:
    with db.read() as conn:
        return instance_store.get_by_uuid(conn, uuid)


def test_update_and_delete_aggregates(database: Database) -> None:
    ep = endpoint(database)
    ep.update_aggregates(CTXT, aggregates=fixture("aggregate_list"))
    (row,) = aggregate_rows(database)
    assert (row.uuid, row.name) == (AGG_UUID, "fast-ssd")
    assert row.hosts == ["compute-1", "compute-2"]
    assert row.metadata == {"availability_zone": "az1", "ssd": "true"}

    # Nova renames it, drops a host and a key, adds another: corral follows.
    changed = copy.deepcopy(fixture("aggregate"))
    changed["nova_object.data"].update(
        name="faster-ssd", hosts=["compute-2", "compute-3"], metadata={"ssd": "nvme"}
    )
    ep.update_aggregates(CTXT, aggregates=changed)
    # Nova's compute API casts a plain list: update_aggregates(ctx, [aggregate]).
    ep.update_aggregates(CTXT, aggregates=[changed])  # every worker gets the fanout
    (row,) = aggregate_rows(database)
    assert (row.name, row.hosts, row.metadata) == (
        "faster-ssd",
        ["compute-2", "compute-3"],
        {"ssd": "nvme"},
    )
    ep.delete_aggregate(CTXT, aggregate=changed)
    assert aggregate_rows(database) == []
    ep.delete_aggregate(CTXT, aggregate=changed)  # already gone: nothing to do
    assert ep.refused == 0


def test_instance_info(database: Database) -> None:
    ep = endpoint(database)
    ep.update_instance_info(CTXT, host_name="compute-1", instance_info=fixture("instance_list"))
    row = instance_row(database, INSTANCE_UUID)
    assert row is not None
    assert (row.values.host, row.values.node) == ("compute-1", "compute-1.example.org")
    assert row.values.project_id == "6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00"
    assert row.values.flavor["vcpus"] == 4
    assert row.values.image_properties == {"hw_architecture": "x86_64", "os_distro": "cirros"}

    # A single Instance (not a list) is accepted too; the host moved it.
    moved = copy.deepcopy(fixture("instance_list")["nova_object.data"]["objects"][0])
    moved["nova_object.data"]["node"] = "compute-2.example.org"
    ep.update_instance_info(CTXT, host_name="compute-2", instance_info=moved)
    row = instance_row(database, INSTANCE_UUID)
    assert row is not None and row.values.host == "compute-2"

    # The old host saying it left does not forget it on the new one.
    ep.delete_instance_info(CTXT, host_name="compute-1", instance_uuid=INSTANCE_UUID)
    assert instance_row(database, INSTANCE_UUID) is not None
    ep.delete_instance_info(CTXT, host_name="compute-2", instance_uuid=INSTANCE_UUID)
    assert instance_row(database, INSTANCE_UUID) is None
    assert ep.refused == 0


def test_instance_casts_ignored_without_track_instance_changes(database: Database) -> None:
    """[filter_scheduler] track_instance_changes = False: Nova's HostManager keeps
    no instance map then, and corral drops the computes' instance casts."""
    ep = SchedulerEndpoint(
        scheduler=None, db=database, max_message_bytes=4 * 1024 * 1024, track_instance_changes=False
    )
    ep.update_instance_info(CTXT, host_name="compute-1", instance_info=fixture("instance_list"))
    ep.sync_instance_info(CTXT, host_name="compute-1", instance_uuids=[INSTANCE_UUID])
    ep.delete_instance_info(CTXT, host_name="compute-1", instance_uuid=INSTANCE_UUID)
    assert instance_row(database, INSTANCE_UUID) is None
    assert (ep.ignored, ep.refused) == (3, 0)
    # Aggregates are not instance changes: they still apply.
    ep.update_aggregates(CTXT, aggregates=fixture("aggregate_list"))
    assert len(aggregate_rows(database)) == 1


def test_sync_instance_info_forgets_what_the_host_no_longer_runs(database: Database) -> None:
    now = utcnow()
    kept, gone = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    with database.write() as conn:
        for uuid in (kept, gone):
            values = InstanceValues("compute-1", "n1", None, "p", "u", {}, {})
            instance_store.insert(conn, uuid, values, now)
    ep = endpoint(database)
    unknown = "33333333-3333-4333-8333-333333333333"
    ep.sync_instance_info(CTXT, host_name="compute-1", instance_uuids=[kept, unknown])
    assert instance_row(database, kept) is not None
    assert instance_row(database, gone) is None
    assert instance_row(database, unknown) is None


def test_malformed_casts_change_nothing(database: Database) -> None:
    ep = endpoint(database, max_bytes=64 * 1024)
    bad_version = copy.deepcopy(fixture("aggregate"))
    bad_version["nova_object.version"] = "2.0"
    no_uuid = copy.deepcopy(fixture("aggregate"))
    del no_uuid["nova_object.data"]["uuid"]
    huge = copy.deepcopy(fixture("aggregate"))
    huge["nova_object.data"]["hosts"] = [f"compute-{i:06d}" for i in range(8000)]
    ep.update_aggregates(CTXT, aggregates="junk")
    ep.update_aggregates(CTXT, aggregates=bad_version)
    ep.update_aggregates(CTXT, aggregates=no_uuid)
    ep.update_aggregates(CTXT, aggregates=huge)
    ep.update_aggregates(CTXT, aggregates=[fixture("aggregate"), no_uuid])
    ep.update_aggregates(CTXT, aggregates=fixture("aggregate"), surprise=1)
    ep.update_instance_info(CTXT, host_name=["x"], instance_info=fixture("instance_list"))
    ep.update_instance_info(CTXT, host_name="compute-1", instance_info=fixture("aggregate"))
    ep.delete_instance_info(CTXT, host_name="compute-1", instance_uuid="nope")
    ep.sync_instance_info(CTXT, host_name="compute-1", instance_uuids="nope")
    ep.delete_aggregate("not a context", aggregate=fixture("aggregate"))
    assert ep.refused == 11
    assert aggregate_rows(database) == []
    assert instance_row(database, INSTANCE_UUID) is None
