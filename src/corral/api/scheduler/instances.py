"""/scheduler/v1/instances: where instances were placed; deleting one also
deletes its Placement allocations (what a deleted server or a failed build needs)."""

from __future__ import annotations

from typing import Any

from corral.api.http import Request, Response, accepts, empty_response, json_response
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.api.scheduler.params import limit_param, path_param, query_params
from corral.compute import instances
from corral.store.instances import InstanceRow


def _instance(row: InstanceRow) -> dict[str, Any]:
    v = row.values
    return {
        "uuid": row.uuid,
        "host": v.host,
        "node": v.node,
        "provider_uuid": v.provider_uuid,
        "project_id": v.project_id,
        "user_id": v.user_id,
        "flavor": v.flavor,
        "image_properties": v.image_properties,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@accepts(query=schemas.INSTANCES_QUERY)
def list_instances(req: Request) -> Response:
    req.authorize(policy.INSTANCES_LIST)
    params = query_params(req)
    rows = instances.list_instances(
        req.services.db,
        host=params.get("host"),
        project_id=params.get("project_id"),
        marker=params.get("marker"),
        limit=limit_param(params),
    )
    return json_response({"instances": [_instance(r) for r in rows]})


def show_instance(req: Request) -> Response:
    req.authorize(policy.INSTANCES_SHOW)
    uuid = path_param(req, "uuid", schemas.UUID)
    return json_response({"instance": _instance(instances.get_instance(req.services.db, uuid))})


def delete_instance(req: Request) -> Response:
    req.authorize(policy.INSTANCES_DELETE)
    uuid = path_param(req, "uuid", schemas.UUID)
    instances.delete_instance(req.services.db, uuid)
    return empty_response()
