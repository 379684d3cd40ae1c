"""Nova 34's own services schedule and account through corral, end to end.

One cloud (tests/e2e/cloud.py) serves the whole module: four nova-compute
processes (fake driver, 10 vCPU and 8 GiB each), in two availability zones;
compute-2 is also in an `ssd` aggregate and compute-4 in an aggregate
isolated to the project `tenant-b`. The tests run in file order, as an
operator's day would: the computes register, servers are booted in batches
with every constraint, a compute is disabled, a request fits nowhere, and
everything is deleted and audited. The cloud is driven with openstacksdk,
as an operator drives it; nothing calls corral's own host API.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.cloud import NovaCloud, Operator, wait_for
from tests.e2e.standins import IMAGE_ID

C1, C2, C3, C4 = (f"e2e-compute-{i}" for i in range(1, 5))
AZ1, AZ2 = {C1, C2}, {C3, C4}
TENANT_B = "tenant-b"
# corral's feed refreshes every 2 s in this cloud ([scheduler]
# nova_db_refresh_interval); a change in Nova's databases is seen by both
# corral processes within two refreshes.
SETTLE_S = 5.0
BUILD_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def admin(cloud: NovaCloud) -> Operator:
    return cloud.operator()


@pytest.fixture(scope="module")
def tenant_b(cloud: NovaCloud) -> Operator:
    return cloud.operator(f"admin:{TENANT_B}")


@pytest.fixture(scope="module")
def world(cloud: NovaCloud, admin: Operator) -> Iterator[dict[str, Any]]:
    """Flavors, aggregates and a server group, made as an operator makes them."""
    tiny = admin.call("compute.create_flavor", name="e2e.tiny", ram=256, vcpus=1, disk=1)
    ssd = admin.call("compute.create_flavor", name="e2e.ssd", ram=256, vcpus=1, disk=1)
    admin.call(
        "compute.create_flavor_extra_specs",
        ssd["id"],
        {"aggregate_instance_extra_specs:ssd": "true"},
    )
    huge = admin.call("compute.create_flavor", name="e2e.huge", ram=16_384, vcpus=2, disk=1)
    aggregates: dict[str, dict[str, Any]] = {}
    for name, zone, hosts, metadata in (
        ("e2e-az1", "az1", [C1, C2], None),
        ("e2e-az2", "az2", [C3, C4], None),
        ("e2e-ssd", None, [C2], {"ssd": "true"}),
        ("e2e-tenant-b", None, [C4], {"filter_tenant_id": TENANT_B}),
    ):
        attrs: dict[str, Any] = {"name": name}
        if zone:
            attrs["availability_zone"] = zone
        agg = admin.call("compute.create_aggregate", **attrs)
        for host in hosts:
            admin.call("compute.add_host_to_aggregate", agg["id"], host)
        if metadata:
            admin.call("compute.set_aggregate_metadata", agg["id"], metadata)
        aggregates[name] = agg
    group = admin.call("compute.create_server_group", name="e2e-anti", policy="anti-affinity")
    time.sleep(SETTLE_S)
    yield {"tiny": tiny, "ssd": ssd, "huge": huge, "aggregates": aggregates, "group": group}


def boot(op: Operator, prefix: str, flavor: dict[str, Any], count: int, **attrs: Any) -> None:
    op.call(
        "compute.create_server",
        name=prefix,
        flavor_id=flavor["id"],
        image_id=IMAGE_ID,
        networks="none",
        min_count=count,
        max_count=count,
        **attrs,
    )


def servers(op: Operator, prefix: str = "") -> list[dict[str, Any]]:
    found = op.call("compute.servers", details=True, all_projects=True)
    return [s for s in found if str(s["name"]).startswith(prefix)]


def settled(op: Operator, prefix: str, count: int) -> list[dict[str, Any]]:
    """The `count` servers named `prefix`*, once none is still building."""

    def done() -> list[dict[str, Any]] | None:
        found = servers(op, prefix)
        if len(found) == count and all(s["status"] in ("ACTIVE", "ERROR") for s in found):
            return found
        return None

    found: list[dict[str, Any]] = wait_for(f"{count} servers {prefix}*", done, BUILD_TIMEOUT_S, 2)
    return found


def hosts_of(found: list[dict[str, Any]]) -> Counter[str]:
    bad = [(s["name"], s["status"], s.get("fault")) for s in found if s["status"] != "ACTIVE"]
    assert not bad, bad
    return Counter(str(s["compute_host"]) for s in found)


def test_computes_register_themselves_and_are_mapped(cloud: NovaCloud) -> None:
    names = {rp["name"] for rp in cloud.providers()}
    assert names == {C1, C2, C3, C4}
    usages = cloud.usages()
    assert all(not any(u.values()) for u in usages.values()), usages
    listed = cloud.nova_manage("cell_v2", "list_hosts").stdout
    for host in (C1, C2, C3, C4):
        assert re.search(rf"\|\s*cell1\s*\|[^|]*\|\s*{host}\s*\|", listed), listed
    # corral learned the hosts from Nova's databases: no one called its host API.
    assert "/scheduler/v1/hosts" not in cloud.log("corral")


def test_anti_affinity_group_spreads_over_hosts(admin: Operator, world: dict[str, Any]) -> None:
    boot(admin, "anti", world["tiny"], 3, scheduler_hints={"group": world["group"]["id"]})
    placed = hosts_of(settled(admin, "anti", 3))
    assert len(placed) == 3 and set(placed.values()) == {1}, placed
    # compute-4 takes only tenant-b's servers (AggregateMultiTenancyIsolation).
    assert C4 not in placed


def test_zones_keep_their_servers(admin: Operator, world: dict[str, Any]) -> None:
    boot(admin, "zone1-", world["tiny"], 16, availability_zone="az1")
    boot(admin, "zone2-", world["tiny"], 16, availability_zone="az2")
    in_az1 = hosts_of(settled(admin, "zone1-", 16))
    in_az2 = hosts_of(settled(admin, "zone2-", 16))
    assert set(in_az1) <= AZ1, in_az1
    assert set(in_az2) == {C3}, in_az2  # compute-4, in az2, is tenant-b's alone


def test_flavor_tied_to_aggregate_lands_in_it(admin: Operator, world: dict[str, Any]) -> None:
    boot(admin, "ssd-", world["ssd"], 10)
    assert set(hosts_of(settled(admin, "ssd-", 10))) == {C2}


def test_tenant_isolated_aggregate(tenant_b: Operator, world: dict[str, Any]) -> None:
    boot(tenant_b, "tenantb-", world["tiny"], 10)
    found = settled(tenant_b, "tenantb-", 10)
    assert {s["project_id"] for s in found} == {TENANT_B}
    # limit_tenants_to_placement_aggregate: tenant-b's servers go to its aggregate.
    assert set(hosts_of(found)) == {C4}


def test_disabled_compute_gets_nothing_new(
    cloud: NovaCloud, admin: Operator, world: dict[str, Any]
) -> None:
    (service,) = admin.call("compute.services", binary="nova-compute", host=C1)
    admin.call("compute.disable_service", service["id"], disabled_reason="e2e maintenance")
    time.sleep(SETTLE_S)
    try:
        boot(admin, "disabled-", world["tiny"], 5, availability_zone="az1")
        assert set(hosts_of(settled(admin, "disabled-", 5))) == {C2}
    finally:
        admin.call("compute.enable_service", service["id"])


def test_sixty_servers_active_where_they_belong(cloud: NovaCloud, admin: Operator) -> None:
    found = servers(admin)
    assert len(found) == 60
    assert all(s["status"] == "ACTIVE" for s in found)
    # Each server's allocation sits on its host, and nowhere else.
    by_name = {rp["name"]: rp["uuid"] for rp in cloud.providers()}
    for server in found:
        resp = cloud.placement.get(f"/allocations/{server['id']}")
        assert resp.status_code == 200, resp.text
        held = resp.json()["allocations"]
        assert list(held) == [by_name[server["compute_host"]]], (server["name"], held)
        assert held[by_name[server["compute_host"]]]["resources"] == {
            "VCPU": 1,
            "MEMORY_MB": 256,
            "DISK_GB": 1,
        }
    usages = cloud.usages()
    for host, count in hosts_of(found).items():
        assert usages[host] == {"VCPU": count, "MEMORY_MB": 256 * count, "DISK_GB": count}


def test_request_that_fits_nowhere_errors_with_the_reason(
    admin: Operator, world: dict[str, Any]
) -> None:
    boot(admin, "huge-", world["huge"], 1)
    (server,) = settled(admin, "huge-", 1)
    assert server["status"] == "ERROR"
    message = str(server["fault"]["message"])
    assert message.startswith("No valid host was found."), message
    # corral's explanation rides in the fault: the memory the hosts lack.
    assert "MEMORY_MB" in message, message


def delete_everything_and_audit(cloud: NovaCloud, admin: Operator) -> None:
    """Delete every server; then every provider's usage is zero and Nova's own
    audit finds no orphaned allocation."""
    for server in servers(admin):
        admin.call("compute.delete_server", server["id"])
    wait_for("every server deleted", lambda: not servers(admin), BUILD_TIMEOUT_S, 2)
    wait_for(
        "every provider's usage back to zero",
        lambda: all(not any(u.values()) for u in cloud.usages().values()),
        60,
        1,
    )
    audit = cloud.nova_manage("placement", "audit", "--verbose", check=False)
    # 0: no orphaned allocation found (nova-manage's own exit codes).
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert not cloud.glance.unexpected and not cloud.neutron.unexpected, (
        cloud.glance.unexpected,
        cloud.neutron.unexpected,
    )
    cloud.check_alive()


def test_delete_everything_and_audit_is_clean(cloud: NovaCloud, admin: Operator) -> None:
    delete_everything_and_audit(cloud, admin)
