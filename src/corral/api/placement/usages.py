"""GET /resource_providers/{uuid}/usages and GET /usages (microversion 1.9+)."""

from __future__ import annotations

from corral.api.http import Request, Response, accepts, json_response, validate_query, versioned
from corral.api.placement.schemas import usage as schema
from corral.api.policies import usage as policy
from corral.errors import NotFound
from corral.placement import usages

# From here GET /usages groups by consumer type and counts consumers.
CONSUMER_TYPE_MINOR = 38


@versioned(0)
def list_provider_usages(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(policy.PROVIDER_USAGES)
    uuid = req.path_params["uuid"]
    try:
        result = usages.provider_usages(req.services.db, uuid)
    except NotFound as exc:
        raise NotFound(f"No resource provider with uuid {uuid} found: {exc.detail}") from None
    # Usage is "now": last-modified is the time of the answer, as upstream.
    body = {"resource_provider_generation": result.generation, "usages": result.usages}
    return json_response(body, version=req.version)


@versioned(9)
@accepts(query=schema.query_schema)
def total_usages(req: Request) -> Response:
    req.require_accept_json()
    params = dict(req.query)  # a repeated key counts by its last value, as upstream
    project_id = params.get("project_id")
    # The policy sees the project asked about, so a project reader may ask
    # about its own project only.
    req.authorize(policy.TOTAL_USAGES, target={"project_id": project_id})
    by_type = req.at_least(CONSUMER_TYPE_MINOR)
    validate_query(req)
    project_id = params["project_id"]  # present: the schema requires it
    user_id = params.get("user_id")
    body: dict[str, object]
    if by_type:
        body = {
            "usages": usages.usages_by_consumer_type(
                req.services.db, project_id, user_id, params.get("consumer_type")
            )
        }
    else:
        body = {"usages": usages.total_usages(req.services.db, project_id, user_id)}
    return json_response(body, version=req.version)
