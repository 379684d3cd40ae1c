"""/scheduler/v1/hosts: compute hosts, their nodes and their service."""

from __future__ import annotations

from typing import Any

from corral.api.http import Request, Response, accepts, empty_response, json_response
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.api.scheduler.params import limit_param, path_param, query_params
from corral.compute import hosts
from corral.store.compute_hosts import NodeRow, NodeValues, ServiceRow
from corral.store.database import utcnow


def _service(req: Request, service: ServiceRow | None) -> dict[str, Any] | None:
    if service is None:
        return None
    return {
        "binary": service.binary,
        "disabled": service.disabled,
        "disabled_reason": service.disabled_reason,
        "forced_down": service.forced_down,
        "last_heartbeat": service.last_heartbeat,
        "up": hosts.service_is_up(service, utcnow(), req.services.host_settings.service_down_time),
        "created_at": service.created_at,
        "updated_at": service.updated_at,
    }


def _node(node: NodeRow) -> dict[str, Any]:
    v = node.values
    return {
        "nodename": node.nodename,
        "provider_uuid": v.provider_uuid,
        "hypervisor_type": v.hypervisor_type,
        "hypervisor_version": v.hypervisor_version,
        "hypervisor_hostname": v.hypervisor_hostname,
        "cpu_info": v.cpu_info,
        "capabilities": v.capabilities,
        "metrics": v.metrics,
        "supported_instances": v.supported_instances,
        "host_ip": v.host_ip,
        "numa_topology": v.numa_topology,
        "pci_stats": v.pci_stats,
        "num_io_ops": v.num_io_ops,
        "failed_builds": v.failed_builds,
        "cell_uuid": v.cell_uuid,
        "created_at": node.created_at,
        "updated_at": node.updated_at,
    }


def _host(req: Request, view: hosts.HostView) -> dict[str, Any]:
    return {
        "name": view.host,
        "service": _service(req, view.service),
        "nodes": [_node(n) for n in view.nodes],
    }


def _node_values(body: dict[str, Any]) -> NodeValues:
    return NodeValues(
        provider_uuid=body["provider_uuid"],
        hypervisor_type=body.get("hypervisor_type", ""),
        hypervisor_version=body.get("hypervisor_version", 0),
        hypervisor_hostname=body.get("hypervisor_hostname", body["nodename"]),
        cpu_info=body.get("cpu_info", {}),
        capabilities=body.get("capabilities", {}),
        metrics=body.get("metrics", {}),
        supported_instances=body.get("supported_instances", []),
        host_ip=body.get("host_ip"),
        numa_topology=body.get("numa_topology"),
        pci_stats=body.get("pci_stats", []),
        num_io_ops=body.get("num_io_ops", 0),
        failed_builds=body.get("failed_builds", 0),
        cell_uuid=body.get("cell_uuid"),
    )


@accepts(query=schemas.HOSTS_QUERY)
def list_hosts(req: Request) -> Response:
    req.authorize(policy.HOSTS_LIST)
    params = query_params(req)
    views = hosts.list_hosts(
        req.services.db,
        marker=params.get("marker"),
        limit=limit_param(params),
        provider_uuid=params.get("provider_uuid"),
    )
    return json_response({"hosts": [_host(req, v) for v in views]})


def show_host(req: Request) -> Response:
    req.authorize(policy.HOSTS_SHOW)
    host = path_param(req, "host", schemas.HOST)
    return json_response({"host": _host(req, hosts.show_host(req.services.db, host))})


@accepts(body=schemas.NODE_BODY)
def put_host(req: Request) -> Response:
    """Register the node of the body on the host, or replace what is known of it."""
    req.authorize(policy.HOSTS_UPDATE)
    host = path_param(req, "host", schemas.HOST)
    body = req.json()
    view, created = hosts.register_node(req.services.db, host, body["nodename"], _node_values(body))
    return json_response({"host": _host(req, view)}, 201 if created else 200)


def delete_host(req: Request) -> Response:
    req.authorize(policy.HOSTS_DELETE)
    host = path_param(req, "host", schemas.HOST)
    hosts.delete_host(req.services.db, host)
    return empty_response()


@accepts(body=schemas.SERVICE_BODY)
def put_service(req: Request) -> Response:
    req.authorize(policy.SERVICE_UPDATE)
    host = path_param(req, "host", schemas.HOST)
    body = req.json()
    service = hosts.update_service(req.services.db, host, body)
    return json_response({"service": _service(req, service)})


@accepts(body=schemas.EMPTY_BODY, body_required=False)
def heartbeat(req: Request) -> Response:
    req.authorize(policy.HEARTBEAT)
    host = path_param(req, "host", schemas.HOST)
    if req.body:
        req.json()
    hosts.heartbeat(req.services.db, host)
    return empty_response()
