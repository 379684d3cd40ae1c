"""A scheduling request and its answer, in corral's own types.

These mirror Nova's RequestSpec (and the objects it holds) and Selection,
field for field where Nova's fields matter to scheduling, so the HTTP API
(JSON) and the RPC server (Nova object primitives) both decode into the same
value. They are plain frozen data: validation with bounds happens in the
decoders (corral.api.scheduler schemas, corral.rpc), before one is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.compute.hardware.numa import Limits as NUMALimits
from corral.placement.request import RequestGroup

# A value of Nova's HostState.limits / SchedulerLimits: in Nova 34 only
# NUMATopologyFilter sets one (`numa_topology`, a NUMATopologyLimits); the
# integer vcpu/memory_mb/disk_gb fields went with the Core/Ram/DiskFilter.
LimitValue = int | float | NUMALimits | None


@dataclass(frozen=True, slots=True)
class Flavor:
    """Nova's Flavor; `extra_specs` holds `resources:*`, `trait:*`, `hw:*`, ..."""

    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    name: str = ""
    flavorid: str = ""
    extra_specs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Image:
    """Nova's ImageMeta: `properties` are the image's hw_*/img_*/os_* properties."""

    id: str | None = None
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    size: int = 0
    properties: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    """Nova's InstanceGroup: one policy, its rules, members and their hosts."""

    uuid: str
    policy: str  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    rules: Mapping[str, str] = field(default_factory=dict)  # max_server_per_host
    members: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    name: str | None = None
    # False: corral's store did not hold the group when the request was
    # admitted: Nova's own (RequestSpec.instance_group) for a group nova-api
    # made a moment ago that the Nova feed has not copied yet. Nova's
    # scheduler needs nothing but the spec's group; an instance placed in it
    # is recorded without the membership, which the feed brings from Nova.
    stored: bool = True


@dataclass(frozen=True, slots=True)
class Destination:
    """Nova's Destination: a host/node the request must land on, or aggregates."""

    host: str | None = None
    node: str | None = None
    # Each string is a comma-separated list of aggregate uuids: any of them.
    aggregates: tuple[str, ...] = ()
    forbidden_aggregates: frozenset[str] = frozenset()
    allow_cross_cell_move: bool = False
    # The preferred cell of a move (Nova's Destination.cell), read by CrossCellWeigher.
    cell_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class RequestLevelParams:
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtree: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Nova's RequestSpec, the fields scheduling reads.

    `scheduler_hints` values are lists of strings, as in Nova.
    `requested_resources` are extra granular groups (ports, accelerators).
    `retry_hosts` are (host, node) pairs already tried (Nova's SchedulerRetries).
    """

    flavor: Flavor
    image: Image = field(default_factory=Image)
    num_instances: int = 1
    project_id: str | None = None
    user_id: str | None = None
    availability_zone: str | None = None
    scheduler_hints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    instance_group: InstanceGroup | None = None
    force_hosts: tuple[str, ...] = ()
    force_nodes: tuple[str, ...] = ()
    ignore_hosts: tuple[str, ...] = ()
    requested_destination: Destination | None = None
    is_bfv: bool = False
    retry_hosts: tuple[tuple[str, str], ...] = ()
    requested_resources: tuple[RequestGroup, ...] = ()
    request_level_params: RequestLevelParams = field(default_factory=RequestLevelParams)
    instance_uuid: str | None = None
    # PCI and NUMA requests as Nova's primitives' data, for the filters that read them.
    pci_requests: tuple[Mapping[str, object], ...] = ()
    numa_topology: Mapping[str, object] | None = None
    # Nova's NetworkMetadata (physnets, tunneled): NUMA affinity of requested networks.
    network_metadata: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    """One allocation candidate as data: what the claim writes, per provider.

    `to_dict` is Placement's allocation request shape at microversion 1.36
    (`allocations` and `mappings`), which both front doors send: the RPC
    door as JSON text (Nova's Selection.allocation_request), the HTTP door
    as a JSON object.
    """

    # provider uuid -> resource class -> amount
    allocations: Mapping[str, Mapping[str, int]]
    # request group suffix -> provider uuids that satisfy it
    mappings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "allocations": {rp: {"resources": dict(res)} for rp, res in self.allocations.items()},
            "mappings": {suffix: list(rps) for suffix, rps in self.mappings.items()},
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """Nova's Selection: one host for one instance, with its allocation request.

    `allocation_request` is the allocation candidate claimed (for the chosen
    host) or to claim (for an alternate); each front door encodes it.
    """

    service_host: str
    nodename: str
    compute_node_uuid: str
    cell_uuid: str
    allocation_request: AllocationRequest | None
    allocation_request_version: str | None
    # what the compute's claim checks against (Nova's HostState.limits)
    limits: Mapping[str, LimitValue] = field(default_factory=dict)
    availability_zone: str | None = None


class NoValidHost(Exception):
    """No host fits; the message is the explanation ("0/100 hosts available: ...")."""

    def __init__(self, explanation: str, detail: object = None) -> None:
        super().__init__(explanation)
        self.explanation = explanation
        # corral.scheduler.explain.Explanation when the engine raised it
        self.detail = detail
