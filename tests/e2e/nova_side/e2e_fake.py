"""The test cloud's virt driver: Nova's MediumFakeDriver with a node identity
that survives a restart, as the libvirt driver's does.

fake.py names each node's UUID after a sentinel that is new in every process,
so a nova-compute restarted on the fake driver reports a node Nova's database
does not know: init_host then finds none of its nodes and cannot, among other
things, remove the allocations of instances evacuated while it was down. This
driver reads (or on first start writes) the node's UUID from nova.virt.node's
`compute_id` file under `[DEFAULT] state_path` (each compute has its own), as
libvirt does. nova_compute.py makes it importable as nova.virt.e2e_fake.
"""

from typing import Any

from nova.virt import fake, node


class StableMediumFakeDriver(fake.MediumFakeDriver):
    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        resources: dict[str, Any] = super().get_available_resource(nodename)
        if resources:
            resources["uuid"] = node.get_local_node_uuid()
        return resources

    def get_nodenames_by_uuid(self, refresh: bool = False) -> dict[str, str]:
        return {node.get_local_node_uuid(): name for name in self.get_available_nodes()}
