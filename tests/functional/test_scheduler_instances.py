"""Placed instances through /scheduler/v1/instances, and deleting one with its
Placement allocations, on both backends."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest

from corral.compute import server_groups
from corral.compute.instances import PlacedInstance, record_placed
from corral.placement.index import PlacementIndex
from corral.scheduler.host_cache import HostCache
from corral.store import host_changes
from corral.store.database import Database
from tests.conftest import PlacementClient
from tests.functional.placement_rows import allocate
from tests.functional.scheduler_rows import (
    ROOT,
    create_provider,
    detail,
    fingerprint,
    log_kinds,
    register,
)
from tests.unit import host_cache_queries as queries


def placed(uuid_: str, host: str = "cmp1", project: str = "p1", **kw: object) -> PlacedInstance:
    return PlacedInstance(uuid_, host, host, project, "u1", **kw)  # type: ignore[arg-type]


def test_recorded_instances_are_listed_and_shown(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    register(api, "cmp2")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    record_placed(
        database,
        [
            placed(ids[0], flavor={"vcpus": 2}, image_properties={"hw_machine_type": "q35"}),
            placed(ids[1], project="p2"),
            placed(ids[2], host="cmp2"),
        ],
    )
    assert log_kinds(database)[-1] == host_changes.INSTANCES
    shown = api.get(f"{ROOT}/instances/{ids[0]}").json()["instance"]
    assert shown["host"] == "cmp1" and shown["node"] == "cmp1"
    assert shown["flavor"] == {"vcpus": 2}
    assert shown["image_properties"] == {"hw_machine_type": "q35"}
    every = [i["uuid"] for i in api.get(f"{ROOT}/instances").json()["instances"]]
    assert every == ids
    on_cmp1 = api.get(f"{ROOT}/instances?host=cmp1").json()["instances"]
    assert [i["uuid"] for i in on_cmp1] == ids[:2]
    of_p2 = api.get(f"{ROOT}/instances?project_id=p2").json()["instances"]
    assert [i["uuid"] for i in of_p2] == [ids[1]]
    page = api.get(f"{ROOT}/instances?marker={ids[0]}&limit=1").json()["instances"]
    assert [i["uuid"] for i in page] == [ids[1]]
    assert api.get(f"{ROOT}/instances?marker={uuid.uuid4()}").status_code == 404


def test_recording_again_moves_the_instance(api: PlacementClient, database: Database) -> None:
    inst = str(uuid.uuid4())
    record_placed(database, [placed(inst)])
    logged = len(log_kinds(database))
    record_placed(database, [placed(inst)])  # unchanged: nothing written
    assert len(log_kinds(database)) == logged
    record_placed(database, [placed(inst, host="cmp2")])
    assert api.get(f"{ROOT}/instances/{inst}").json()["instance"]["host"] == "cmp2"
    assert fingerprint(database)["instances"] == 1


def test_delete_removes_the_allocations_too(api: PlacementClient, database: Database) -> None:
    rp = create_provider(api, "cmp1", {"VCPU": 4, "MEMORY_MB": 2048})
    register(api, "cmp1", rp)
    index = PlacementIndex(database)
    index.load()
    inst = str(uuid.uuid4())
    allocate(api, rp, {"VCPU": 4, "MEMORY_MB": 512}, consumer=inst)
    record_placed(database, [placed(inst, provider_uuid=rp)])
    index.catch_up()
    with index.reading() as state:
        assert state.summary(state.slot_of_uuid[rp]).resources[0][2] == 4  # VCPU used

    assert api.delete(f"{ROOT}/instances/{inst}").status_code == 204
    assert api.get(f"{ROOT}/instances/{inst}").status_code == 404
    assert api.get(f"/allocations/{inst}").json()["allocations"] == {}
    usages = api.get(f"/resource_providers/{rp}/usages").json()["usages"]
    assert usages == {"VCPU": 0, "MEMORY_MB": 0}
    kinds = log_kinds(database)
    assert "usage" in kinds[-3:] and kinds[-1] == host_changes.INSTANCES
    # The placement index sees the capacity come back.
    index.catch_up()
    with index.reading() as state:
        assert state.summary(state.slot_of_uuid[rp]).resources[0][2] == 0
    assert api.delete(f"{ROOT}/instances/{inst}").status_code == 404


def test_a_failed_build_gives_its_allocations_back(
    api: PlacementClient, database: Database
) -> None:
    rp = create_provider(api, "cmp1", {"VCPU": 4})
    build = str(uuid.uuid4())  # claimed, never recorded as placed
    allocate(api, rp, {"VCPU": 2}, consumer=build)
    assert api.delete(f"{ROOT}/instances/{build}").status_code == 204
    assert api.get(f"/allocations/{build}").json()["allocations"] == {}


def test_unknown_instances_are_404(api: PlacementClient, database: Database) -> None:
    missing = str(uuid.uuid4())
    before = fingerprint(database)
    resp = api.delete(f"{ROOT}/instances/{missing}")
    assert resp.status_code == 404
    assert f"Instance {missing} could not be found" in detail(resp)
    assert api.get(f"{ROOT}/instances/{missing}").status_code == 404
    assert fingerprint(database) == before


@pytest.mark.parametrize(
    "path",
    ["/instances/not-a-uuid", "/instances?limit=0", "/instances?limit=5000",
     "/instances?marker=x", "/instances?host=a%20b", "/instances?flavor=x"],
)  # fmt: skip
def test_bad_paths_and_queries(api: PlacementClient, database: Database, path: str) -> None:
    record_placed(database, [placed(str(uuid.uuid4()))])
    before = fingerprint(database)
    assert api.get(ROOT + path).status_code == 400
    if path.startswith("/instances/"):
        assert api.delete(ROOT + path).status_code == 400
    assert fingerprint(database) == before


def test_non_admin_is_forbidden(api: PlacementClient, database: Database) -> None:
    inst = str(uuid.uuid4())
    record_placed(database, [placed(inst)])
    member = PlacementClient(api.client, token="bob:p1")
    before = fingerprint(database)
    assert member.get(f"{ROOT}/instances").status_code == 403
    assert member.delete(f"{ROOT}/instances/{inst}").status_code == 403
    assert fingerprint(database) == before


def _place_many(url: str, host: str, count: int, group_uuid: str) -> None:
    """One writer process: `count` instances onto `host`, each joining the group."""
    db = Database(url)
    try:
        for _ in range(count):
            record_placed(db, [placed(str(uuid.uuid4()), host=host)], group_uuid)
    finally:
        db.dispose()


def test_a_cache_follows_writers_in_other_processes(
    api: PlacementClient, database: Database, database_url: str
) -> None:
    hosts = [f"h{i}" for i in range(4)]
    for host in hosts:
        register(api, host)
    group = server_groups.create_group(
        database, name="g", policy="soft-affinity", rules={}, project_id="p", user_id="u"
    )
    cache = HostCache(database)
    cache.load()
    spawn = multiprocessing.get_context("spawn")
    writers = [
        spawn.Process(target=_place_many, args=(database_url, host, 15, group.uuid))
        for host in hosts
    ]
    for writer in writers:
        writer.start()
    while any(w.is_alive() for w in writers):
        cache.catch_up()  # catching up while the writers commit, out of order on PostgreSQL
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    cache.catch_up()
    assert queries.instance_counts(cache) == dict.fromkeys(hosts, 15)
    assert queries.member_counts(cache, group.uuid) == dict.fromkeys(hosts, 15)
    spec_group = cache.instance_group(group.uuid)
    assert spec_group is not None and len(spec_group.members) == 60
    assert cache.full_loads == 1
