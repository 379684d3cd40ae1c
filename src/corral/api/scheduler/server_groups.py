"""/scheduler/v1/server_groups: Nova's server groups (os-server-groups, 2.64 form)."""

from __future__ import annotations

from typing import Any

from corral.api.http import Request, Response, accepts, empty_response, json_response
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.api.scheduler.params import limit_param, path_param, query_params
from corral.compute import server_groups
from corral.errors import BadRequest
from corral.store.server_groups import ServerGroupRow


def _group(row: ServerGroupRow) -> dict[str, Any]:
    return {
        "id": row.uuid,
        "name": row.name,
        "policy": row.policy,
        "rules": row.rules,
        "members": row.members,
        "project_id": row.project_id,
        "user_id": row.user_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@accepts(query=schemas.SERVER_GROUPS_QUERY)
def list_groups(req: Request) -> Response:
    req.authorize(policy.GROUPS_LIST)
    params = query_params(req)
    rows = server_groups.list_groups(
        req.services.db,
        project_id=params.get("project_id"),
        limit=limit_param(params),
        offset=int(params.get("offset", "0")),
    )
    return json_response({"server_groups": [_group(r) for r in rows]})


def show_group(req: Request) -> Response:
    req.authorize(policy.GROUPS_SHOW)
    uuid = path_param(req, "uuid", schemas.UUID)
    return json_response({"server_group": _group(server_groups.get_group(req.services.db, uuid))})


@accepts(body=schemas.SERVER_GROUP_CREATE)
def create_group(req: Request) -> Response:
    """As Nova: owned by the caller's project and user unless the body names others."""
    req.authorize(policy.GROUPS_CREATE)
    body = req.json()["server_group"]
    project_id = body.get("project_id", req.context.project_id)
    user_id = body.get("user_id", req.context.user_id)
    if not project_id or not user_id:
        raise BadRequest("The request carries no project or user; name project_id and user_id.")
    rules = {key: int(value) for key, value in body.get("rules", {}).items()}
    row = server_groups.create_group(
        req.services.db,
        name=body["name"],
        policy=body["policy"],
        rules=rules,
        project_id=project_id,
        user_id=user_id,
    )
    return json_response({"server_group": _group(row)})


def delete_group(req: Request) -> Response:
    req.authorize(policy.GROUPS_DELETE)
    uuid = path_param(req, "uuid", schemas.UUID)
    server_groups.delete_group(req.services.db, uuid)
    return empty_response()
