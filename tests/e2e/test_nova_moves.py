"""Nova 34's moves, run by Nova's own services on corral, end to end.

One cloud (tests/e2e/cloud.py) serves the module: four nova-compute
processes on Nova's MediumFakeDriver as nova_side/e2e_fake.py extends it
(StableNUMAFakeDriver: 10 shared CPUs for VCPU at 4.0, 6 dedicated ones for
PCPU, two NUMA cells, 8 GiB less 512 MiB reserved, 1028 GB; none of
nova/virt/fake.py's drivers reports a NUMA topology or PCPU). Each test
boots its own servers, moves them as an operator does (openstacksdk), and
after every move checks what Nova itself leaves in Placement: each server's
allocations sit on its current host and nowhere else, with its flavor's
resources; no migration consumer holds anything; every provider's usage is
the sum of its servers'; and `nova-manage placement audit` finds no orphaned
allocation. Each test deletes its servers when done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.cloud import NovaCloud, Operator, wait_for
from tests.e2e.standins import IMAGE2_ID, IMAGE_ID
from tests.e2e.test_nova_cloud import servers

HOSTS = [f"e2e-compute-{i}" for i in range(1, 5)]
# Each compute: VCPU from 10 shared CPUs, PCPU from 6 dedicated ones, three in
# each of its two NUMA cells.
CLOUD_OPTIONS = {
    "compute_driver": "e2e_fake.StableNUMAFakeDriver",
    "compute_conf": "[compute]\ncpu_shared_set = 0-9\ncpu_dedicated_set = 10-15\n",
}
MOVE_TIMEOUT_S = 120
# MediumFakeDriver's memory less reserved_host_memory_mb (512) at ratio 1.0
HOST_MEMORY_MB = 8192 - 512


@pytest.fixture(scope="module")
def admin(cloud: NovaCloud) -> Operator:
    return cloud.operator()


@pytest.fixture(scope="module")
def flavors(cloud: NovaCloud, admin: Operator) -> dict[str, dict[str, Any]]:
    made = {
        name: admin.call("compute.create_flavor", name=f"moves.{name}", **size)
        for name, size in (
            ("small", {"vcpus": 1, "ram": 512, "disk": 1}),
            ("big", {"vcpus": 2, "ram": 1024, "disk": 2}),
            ("bigger", {"vcpus": 3, "ram": 1536, "disk": 3}),
            ("whole", {"vcpus": 1, "ram": HOST_MEMORY_MB, "disk": 1}),
            ("pinned", {"vcpus": 2, "ram": 512, "disk": 1}),
        )
    }
    admin.call(
        "compute.create_flavor_extra_specs", made["pinned"]["id"], {"hw:cpu_policy": "dedicated"}
    )
    return made


@pytest.fixture(autouse=True)
def clean_slate(cloud: NovaCloud, admin: Operator) -> Iterator[None]:
    """Each test starts on an empty cloud and leaves one."""
    yield
    for server in servers(admin):
        admin.try_call("compute.delete_server", server["id"])
    wait_for("every server deleted", lambda: not servers(admin), MOVE_TIMEOUT_S, 2)
    wait_for(
        "every provider's usage back to zero",
        lambda: all(not any(u.values()) for u in cloud.usages().values()),
        60,
        1,
    )


def boot(op: Operator, name: str, flavor: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    made = op.call(
        "compute.create_server",
        name=name,
        flavor_id=flavor["id"],
        image_id=IMAGE_ID,
        networks="none",
        **attrs,
    )
    return settle(op, made["id"], "ACTIVE")


def get(op: Operator, server_id: str) -> dict[str, Any]:
    found: dict[str, Any] = op.call("compute.get_server", server_id)
    return found


def settle(op: Operator, server_id: str, status: str) -> dict[str, Any]:
    """The server once no task runs on it; it must then be in `status`."""

    def done() -> dict[str, Any] | None:
        found = get(op, server_id)
        if found["task_state"] is None and found["status"] in (status, "ERROR"):
            return found
        return None

    found: dict[str, Any] = wait_for(f"{server_id} {status}", done, MOVE_TIMEOUT_S, 1)
    assert found["status"] == status, (found["status"], found.get("fault"))
    return found


def resources(server: dict[str, Any]) -> dict[str, int]:
    flavor = server["flavor"]
    pinned = (flavor.get("extra_specs") or {}).get("hw:cpu_policy") == "dedicated"
    return {
        "PCPU" if pinned else "VCPU": int(flavor["vcpus"]),
        "MEMORY_MB": int(flavor["ram"]),
        "DISK_GB": int(flavor["disk"]) + int(flavor.get("ephemeral") or 0),
    }


def allocations(cloud: NovaCloud, consumer: str) -> dict[str, Any]:
    resp = cloud.placement.get(f"/allocations/{consumer}")
    assert resp.status_code == 200, resp.text
    held: dict[str, Any] = resp.json()["allocations"]
    return held


def rp_uuids(cloud: NovaCloud) -> dict[str, str]:
    return {rp["name"]: rp["uuid"] for rp in cloud.providers()}


def on_host_only(cloud: NovaCloud, server: dict[str, Any]) -> dict[str, Any]:
    """What Placement should hold for the server: its flavor on its host."""
    uuids = rp_uuids(cloud)
    return {uuids[server["compute_host"]]: {"resources": resources(server)}}


def held_resources(cloud: NovaCloud, consumer: str) -> dict[str, Any]:
    return {rp: {"resources": a["resources"]} for rp, a in allocations(cloud, consumer).items()}


def assert_placement_matches(cloud: NovaCloud, admin: Operator) -> None:
    """Every server's allocations on its host alone; no migration holds
    anything; usages are the servers' sums; Nova's audit is clean."""
    uuids = rp_uuids(cloud)
    names = {u: n for n, u in uuids.items()}
    expected: dict[str, Counter[str]] = {name: Counter() for name in uuids}
    for server in servers(admin):
        assert server["task_state"] is None, (server["name"], server["task_state"])
        held = held_resources(cloud, server["id"])
        if server["status"] == "SHELVED_OFFLOADED" or not server["compute_host"]:
            assert held == {}, (server["name"], held)
            continue
        assert held == on_host_only(cloud, server), (
            server["name"],
            server["compute_host"],
            {names.get(rp, rp): a for rp, a in held.items()},
        )
        expected[server["compute_host"]].update(resources(server))
    for migration in admin.call("compute.migrations"):
        held = allocations(cloud, migration["uuid"])
        assert held == {}, (migration["migration_type"], migration["status"], held)
    usages = {name: {k: v for k, v in u.items() if v} for name, u in cloud.usages().items()}
    assert usages == {name: dict(c) for name, c in expected.items()}
    audit = cloud.nova_manage("placement", "audit", "--verbose", check=False)
    # 0: no orphaned allocation found (nova-manage's own exit codes).
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert not cloud.glance.unexpected and not cloud.neutron.unexpected, (
        cloud.glance.unexpected,
        cloud.neutron.unexpected,
    )
    cloud.check_alive()


def migrations_of(admin: Operator, server_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin.call("compute.migrations", instance_uuid=server_id)
    return found


def test_resize_confirm_then_resize_revert(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "resize", flavors["small"])
    first = server["compute_host"]
    assert_placement_matches(cloud, admin)

    admin.call("compute.resize_server", server["id"], flavors["big"]["id"])
    resized = settle(admin, server["id"], "VERIFY_RESIZE")
    second = resized["compute_host"]
    assert second != first  # allow_resize_to_same_host is False
    admin.call("compute.confirm_server_resize", server["id"])
    confirmed = settle(admin, server["id"], "ACTIVE")
    assert confirmed["compute_host"] == second
    assert resources(confirmed) == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}
    assert_placement_matches(cloud, admin)

    admin.call("compute.resize_server", server["id"], flavors["bigger"]["id"])
    resizing = settle(admin, server["id"], "VERIFY_RESIZE")
    assert resizing["compute_host"] != second
    # Mid-resize: the new flavor on the new host for the server, the old
    # flavor on the old host for the migration.
    uuids = rp_uuids(cloud)
    (migration,) = [m for m in migrations_of(admin, server["id"]) if m["status"] == "finished"]
    assert held_resources(cloud, migration["uuid"]) == {
        uuids[second]: {"resources": {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}}
    }
    assert held_resources(cloud, server["id"]) == {
        uuids[resizing["compute_host"]]: {"resources": {"VCPU": 3, "MEMORY_MB": 1536, "DISK_GB": 3}}
    }
    admin.call("compute.revert_server_resize", server["id"])
    reverted = settle(admin, server["id"], "ACTIVE")
    assert reverted["compute_host"] == second
    assert resources(reverted) == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}
    assert allocations(cloud, migration["uuid"]) == {}
    assert_placement_matches(cloud, admin)


def test_cold_migrate_without_and_with_a_host_and_confirm(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "cold", flavors["small"])
    source = server["compute_host"]
    admin.call("compute.migrate_server", server["id"])
    migrated = settle(admin, server["id"], "VERIFY_RESIZE")
    assert migrated["compute_host"] != source
    admin.call("compute.confirm_server_resize", server["id"])
    confirmed = settle(admin, server["id"], "ACTIVE")
    assert confirmed["compute_host"] == migrated["compute_host"]
    assert_placement_matches(cloud, admin)

    # 2.56: the operator names the destination.
    target = next(h for h in HOSTS if h not in (source, confirmed["compute_host"]))
    admin.call("compute.migrate_server", server["id"], host=target)
    assert settle(admin, server["id"], "VERIFY_RESIZE")["compute_host"] == target
    admin.call("compute.confirm_server_resize", server["id"])
    assert settle(admin, server["id"], "ACTIVE")["compute_host"] == target
    assert [m["status"] for m in migrations_of(admin, server["id"])] == ["confirmed"] * 2
    assert_placement_matches(cloud, admin)


def test_live_migrate_without_and_with_a_host(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "live", flavors["small"])
    source = server["compute_host"]
    admin.call("compute.live_migrate_server", server["id"], block_migration="auto")
    moved = settle(admin, server["id"], "ACTIVE")
    assert moved["compute_host"] != source, moved["compute_host"]
    assert_placement_matches(cloud, admin)

    target = next(h for h in HOSTS if h not in (source, moved["compute_host"]))
    admin.call("compute.live_migrate_server", server["id"], host=target, block_migration=True)
    moved_again = settle(admin, server["id"], "ACTIVE")
    assert moved_again["compute_host"] == target
    assert [m["status"] for m in migrations_of(admin, server["id"])] == ["completed"] * 2
    assert_placement_matches(cloud, admin)


def compute_service(admin: Operator, host: str) -> dict[str, Any]:
    (service,) = admin.call("compute.services", binary="nova-compute", host=host)
    found: dict[str, Any] = service
    return found


def test_evacuate_from_a_host_forced_down_then_bring_it_back(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "evacuee", flavors["small"])
    source = server["compute_host"]
    service = compute_service(admin, source)
    cloud.stop_compute(source)
    try:
        admin.call("compute.update_service_forced_down", service["id"], forced=True)
        wait_for(
            f"{source} down",
            lambda: compute_service(admin, source)["state"] == "down",
            30,
            1,
        )
        admin.call("compute.evacuate_server", server["id"])
        # The destination stops the server (2.95: an evacuated server is left
        # stopped) before it moves the server to itself and marks the
        # migration `done`: wait for that too.
        wait_for(
            "the evacuation done",
            lambda: all(
                m["status"] in ("done", "failed", "error")
                for m in migrations_of(admin, server["id"])
            ),
            MOVE_TIMEOUT_S,
            1,
        )
        evacuated = settle(admin, server["id"], "SHUTOFF")
        dest = evacuated["compute_host"]
        assert dest != source
        # The source is down: its allocation stays until it comes back.
        uuids = rp_uuids(cloud)
        assert held_resources(cloud, server["id"]) == {
            uuids[source]: {"resources": resources(evacuated)},
            uuids[dest]: {"resources": resources(evacuated)},
        }
    finally:
        cloud.start_compute(source)
        # Nova refuses to force a host up while evacuations from it are not
        # `completed`, which its init_host makes them once it has cleaned up.
        wait_for(
            f"{source}'s init_host to complete the evacuation",
            lambda: (
                not any(
                    m["status"] in ("accepted", "pre-migrating", "done")
                    for m in migrations_of(admin, server["id"])
                )
            ),
            MOVE_TIMEOUT_S,
            1,
        )
        admin.call("compute.update_service_forced_down", service["id"], forced=False)
    wait_for(
        f"{source} up again",
        lambda: compute_service(admin, source)["state"] == "up",
        MOVE_TIMEOUT_S,
        1,
    )
    # The source's init_host removed the evacuated server's allocation there.
    assert held_resources(cloud, server["id"]) == on_host_only(cloud, evacuated)
    (migration,) = migrations_of(admin, server["id"])
    assert migration["migration_type"] == "evacuation", migration
    assert migration["status"] == "completed", migration
    assert_placement_matches(cloud, admin)


def test_rebuild_with_a_new_image_on_a_full_host(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "rebuild", flavors["whole"])
    host = server["compute_host"]
    # The host is full: the flavor would not fit there again.
    uuids = rp_uuids(cloud)
    wanted = ",".join(f"{k}:{v}" for k, v in resources(server).items())
    offered = cloud.placement.get("/allocation_candidates", params={"resources": wanted})
    assert offered.status_code == 200, offered.text
    assert uuids[host] not in offered.json()["provider_summaries"]

    admin.call("compute.rebuild_server", server["id"], IMAGE2_ID)
    rebuilt = settle(admin, server["id"], "ACTIVE")
    assert rebuilt["compute_host"] == host
    assert rebuilt["image"]["id"] == IMAGE2_ID
    assert_placement_matches(cloud, admin)


def test_shelve_offload_and_unshelve(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    server = boot(admin, "shelved", flavors["big"])
    admin.call("compute.shelve_server", server["id"])
    shelved = settle(admin, server["id"], "SHELVED")
    assert shelved["compute_host"] == server["compute_host"]
    assert_placement_matches(cloud, admin)  # still held on its host

    admin.call("compute.shelve_offload_server", server["id"])
    settle(admin, server["id"], "SHELVED_OFFLOADED")
    assert_placement_matches(cloud, admin)  # nothing held anywhere

    admin.call("compute.unshelve_server", server["id"])
    unshelved = settle(admin, server["id"], "ACTIVE")
    assert unshelved["compute_host"] in HOSTS
    assert_placement_matches(cloud, admin)
    # unshelving deleted the snapshot shelving made
    assert set(cloud.glance.images) == {IMAGE_ID, IMAGE2_ID}


def test_pinned_pair_in_a_server_group_made_just_now(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    """A group nova-api made a moment ago, not yet in corral's copy of Nova's
    databases: Nova's scheduler needs only the request's own group."""
    # Two bound to one host, in a group made just now (before corral's Nova
    # feed copies it): one in each cell of the same host.
    group = admin.call("compute.create_server_group", name="pinned-aff", policy="affinity")
    admin.call(
        "compute.create_server",
        name="together",
        flavor_id=flavors["pinned"]["id"],
        image_id=IMAGE_ID,
        networks="none",
        min_count=2,
        max_count=2,
        scheduler_hints={"group": group["id"]},
    )

    def both() -> list[dict[str, Any]] | None:
        found = servers(admin, "together")
        if len(found) == 2 and all(s["status"] in ("ACTIVE", "ERROR") for s in found):
            return found
        return None

    together: list[dict[str, Any]] = wait_for("2 affine pinned servers", both, MOVE_TIMEOUT_S, 2)
    assert [s["status"] for s in together] == ["ACTIVE"] * 2, [s.get("fault") for s in together]
    assert len({s["compute_host"] for s in together}) == 1
    assert_placement_matches(cloud, admin)


def test_pinned_servers_multi_create_fill_the_numa_cells(
    cloud: NovaCloud, admin: Operator, flavors: dict[str, dict[str, Any]]
) -> None:
    """Two dedicated vCPUs fit once in a cell of three PCPUs: two such servers
    per host, though Placement alone (six PCPUs) would offer room for three."""

    admin.call(
        "compute.create_server",
        name="pinned",
        flavor_id=flavors["pinned"]["id"],
        image_id=IMAGE_ID,
        networks="none",
        min_count=8,
        max_count=8,
    )

    def built() -> list[dict[str, Any]] | None:
        found = servers(admin, "pinned")
        if len(found) == 8 and all(s["status"] in ("ACTIVE", "ERROR") for s in found):
            return found
        return None

    found: list[dict[str, Any]] = wait_for("8 pinned servers", built, MOVE_TIMEOUT_S, 2)
    bad = [(s["name"], s["status"], s.get("fault")) for s in found if s["status"] != "ACTIVE"]
    assert not bad, bad
    assert Counter(s["compute_host"] for s in found) == dict.fromkeys(HOSTS, 2)
    assert_placement_matches(cloud, admin)
    # No host has a cell with two free PCPUs left: a ninth finds no host.
    extra = admin.call(
        "compute.create_server",
        name="pinned-ninth",
        flavor_id=flavors["pinned"]["id"],
        image_id=IMAGE_ID,
        networks="none",
    )
    ninth = settle(admin, extra["id"], "ERROR")
    message = str(ninth["fault"]["message"])
    assert message.startswith("No valid host was found."), message
    # corral's explanation rides in the fault: the cells, not the PCPU count.
    assert "NUMA" in message, message
