"""Adoption: a cloud running on nova-scheduler and upstream Placement 16,
switched to corral with its servers running (README, "Adopting corral in an
existing Nova cloud").

The servers booted before the switch keep their allocations through
`corral db import-placement`; they are deleted through corral afterwards,
new ones are booted on corral, and Nova's own audit finds nothing orphaned.
"""

from __future__ import annotations

from tests.e2e.cloud import NovaCloud, Operator, wait_for
from tests.e2e.test_nova_cloud import (
    boot,
    delete_everything_and_audit,
    hosts_of,
    servers,
    settled,
)


def test_adopt_a_running_cloud(upstream_cloud: NovaCloud) -> None:
    cloud = upstream_cloud
    admin: Operator = cloud.operator()
    flavor = admin.call("compute.create_flavor", name="adopt.small", ram=512, vcpus=1, disk=1)

    boot(admin, "before-", flavor, 8)
    before = hosts_of(settled(admin, "before-", 8))
    assert sum(before.values()) == 8
    usages_before = cloud.usages()
    assert "nova-scheduler" in cloud.procs and "corral" not in cloud.procs

    imported = cloud.switch_to_corral()
    assert "corral" in cloud.procs and "nova-scheduler" not in cloud.procs
    assert "placement-api" not in cloud.procs
    # The import's own check: counts and every provider's usage match the source.
    assert cloud.usages() == usages_before, imported.stdout
    for server in servers(admin, "before-"):
        held = cloud.placement.get(f"/allocations/{server['id']}").json()["allocations"]
        assert len(held) == 1, held

    for server in servers(admin, "before-")[:4]:
        admin.call("compute.delete_server", server["id"])
    wait_for("4 old servers deleted", lambda: len(servers(admin, "before-")) == 4, 120, 2)

    boot(admin, "after-", flavor, 8)
    after = hosts_of(settled(admin, "after-", 8))
    assert sum(after.values()) == 8
    usages = cloud.usages()
    everyone = hosts_of(servers(admin))
    for host, count in everyone.items():
        assert usages[host] == {"VCPU": count, "MEMORY_MB": 512 * count, "DISK_GB": count}

    delete_everything_and_audit(cloud, admin)
