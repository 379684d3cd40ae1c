"""The host page: one compute host's inventories, usage, traits, aggregates,
instances and service, and the filters that would refuse it a flavor.

Placement's records come from corral.placement (as GET
/resource_providers/{uuid}/inventories, /usages, /traits, /aggregates
answer), the service from corral.compute.hosts (as GET
/scheduler/v1/hosts/{host}), the instances and Nova aggregates from the
scheduler's host cache. The refusal is an explain bound to this host
(Nova's requested destination).
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.api.dashboard import forms, render
from corral.api.dashboard.explaining import explain
from corral.api.dashboard.overview import host_rows, snapshot
from corral.api.http import Request, Response
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.api.scheduler.params import path_param
from corral.compute import hosts as compute_hosts
from corral.errors import NotFound
from corral.placement import aggregates, inventories, traits, usages
from corral.store.database import utcnow
from corral.store.inventories import Inventory

INSTANCES_SHOWN = 200


@dataclass(frozen=True)
class NodeDetail:
    nodename: str
    provider_uuid: str
    inventories: dict[str, Inventory]
    usages: dict[str, int]
    traits: list[str]
    placement_aggregates: list[str]
    # False: Placement has no provider of that uuid (the node was registered first)
    in_placement: bool = True


def _node(req: Request, nodename: str, provider_uuid: str) -> NodeDetail:
    db = req.services.db
    try:
        _row, inventory = inventories.list_inventories(db, provider_uuid)
    except NotFound:
        return NodeDetail(nodename, provider_uuid, {}, {}, [], [], in_placement=False)
    return NodeDetail(
        nodename=nodename,
        provider_uuid=provider_uuid,
        inventories=dict(sorted(inventory.inventories.items())),
        usages=dict(sorted(usages.provider_usages(db, provider_uuid).usages.items())),
        traits=sorted(t.name for t in traits.provider_traits(db, provider_uuid).traits),
        placement_aggregates=sorted(aggregates.provider_aggregates(db, provider_uuid).aggregates),
    )


def show_host(req: Request) -> Response:
    """One host; with vcpus/memory_mb/disk_gb in the query, why it would refuse that flavor."""
    req.authorize(policy.DASHBOARD_VIEW)
    host = path_param(req, "host", schemas.HOST)
    query = dict(req.query)
    shape = forms.shape(query, required=False)
    view = compute_hosts.show_host(req.services.db, host)
    service = view.service
    up = compute_hosts.service_is_up(
        service, utcnow(), req.services.host_settings.service_down_time
    )
    nodes = [_node(req, n.nodename, n.values.provider_uuid) for n in view.nodes]
    fleet = snapshot(req)
    rows = [i for i, name in enumerate(fleet.batch.host) if name == host]
    nova_aggregates = sorted({a.name for row in rows for a in fleet.batch.host_aggregates(row)})
    instances = sorted(
        (uuid, project) for row in rows for uuid, project in fleet.batch.instances[row].items()
    )
    refusal = explain(req, shape, host=host) if shape is not None else None
    return render.page(
        req,
        "host.html",
        title=f"Host {host}",
        host=host,
        service=service,
        up=up,
        nodes=nodes,
        cached=host_rows(fleet, rows),
        nova_aggregates=nova_aggregates,
        instances=instances[:INSTANCES_SHOWN],
        instances_total=len(instances),
        shape=shape,
        values=query,
        result=refusal,
    )
