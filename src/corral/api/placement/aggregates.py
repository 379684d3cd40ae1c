"""/resource_providers/{uuid}/aggregates (microversion 1.1+)."""

from __future__ import annotations

from corral.api.http import Request, Response, accepts, json_response, versioned
from corral.api.placement.schemas import aggregate as schema
from corral.placement import aggregates, providers
from corral.placement.aggregates import ProviderAggregates

LIST = "placement:resource_providers:aggregates:list"
UPDATE = "placement:resource_providers:aggregates:update"

# From here the body carries the generation, and so does the answer.
GENERATION_MINOR = 19


def _response(req: Request, result: ProviderAggregates) -> Response:
    body: dict[str, object] = {"aggregates": result.aggregates}
    if req.at_least(GENERATION_MINOR):
        body["resource_provider_generation"] = result.generation
    # Links carry no timestamp, so last-modified is now, as upstream.
    return json_response(body, version=req.version)


@versioned(1)
def list_aggregates(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(LIST)
    return _response(req, aggregates.provider_aggregates(req.services.db, req.path_params["uuid"]))


@versioned(1)
@accepts(body=schema.put_schema)
def set_aggregates(req: Request) -> Response:
    req.require_json_content()
    req.authorize(UPDATE)
    uuid = req.path_params["uuid"]
    # Upstream looks the provider up (404) before it reads the body (400).
    providers.get_provider(req.services.db, uuid)
    with_generation = req.at_least(GENERATION_MINOR)
    if with_generation:
        body = req.json()
        agg_uuids, generation = body["aggregates"], body["resource_provider_generation"]
    else:
        agg_uuids, generation = req.json(), None
    result = aggregates.set_provider_aggregates(req.services.db, uuid, agg_uuids, generation)
    return _response(req, result)
