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

from nova import objects
from nova.virt import fake, hardware, node


class StableMediumFakeDriver(fake.MediumFakeDriver):
    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        resources: dict[str, Any] = super().get_available_resource(nodename)
        if resources:
            resources["uuid"] = node.get_local_node_uuid()
        return resources

    def get_nodenames_by_uuid(self, refresh: bool = False) -> dict[str, str]:
        return {node.get_local_node_uuid(): name for name in self.get_available_nodes()}


class StableNUMAFakeDriver(StableMediumFakeDriver):
    """The same, with a host NUMA topology and PCPU inventory, as libvirt
    reports them: two cells, `[compute] cpu_shared_set` (VCPU) and
    `cpu_dedicated_set` (PCPU) dealt between them in turn, half the memory
    each. nova/virt/fake.py has no driver that reports either."""

    capabilities = dict(fake.MediumFakeDriver.capabilities, supports_pcpus=True)

    def _numa_topology(self) -> Any:
        shared = sorted(hardware.get_cpu_shared_set() or ())
        dedicated = sorted(hardware.get_cpu_dedicated_set() or ())
        memory = self.memory_mb // 2
        cells = []
        for cell in (0, 1):
            cpus, pcpus = set(shared[cell::2]), set(dedicated[cell::2])
            cells.append(
                objects.NUMACell(
                    id=cell,
                    socket=cell,
                    cpuset=cpus,
                    pcpuset=pcpus,
                    memory=memory,
                    cpu_usage=0,
                    memory_usage=0,
                    pinned_cpus=set(),
                    siblings=[{cpu} for cpu in sorted(cpus | pcpus)],
                    mempages=[
                        objects.NUMAPagesTopology(size_kb=4, total=memory * 256, used=0, reserved=0)
                    ],
                    network_metadata=objects.NetworkMetadata(physnets=set(), tunneled=False),
                )
            )
        return objects.NUMATopology(cells=cells)

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        resources = super().get_available_resource(nodename)
        if resources:
            resources["numa_topology"] = self._numa_topology()._to_json()
        return resources

    def update_provider_tree(
        self, provider_tree: Any, nodename: str, allocations: Any = None
    ) -> None:
        super().update_provider_tree(provider_tree, nodename, allocations)
        pcpus = len(hardware.get_cpu_dedicated_set() or ())
        if not pcpus:
            return
        inventory = dict(provider_tree.data(nodename).inventory)
        inventory["PCPU"] = {
            "total": pcpus,
            "min_unit": 1,
            "max_unit": pcpus,
            "step_size": 1,
            "allocation_ratio": 1.0,
            "reserved": 0,
        }
        provider_tree.update_inventory(nodename, inventory)
