"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from typing import Any

from corral.api.http import (
    Request,
    Response,
    accepts,
    empty_response,
    json_response,
    newest,
    validate_query,
)
from corral.api.placement.provider_query import parse_provider_query
from corral.api.placement.schemas import resource_provider as schema
from corral.placement import provider_list, providers
from corral.placement.providers import ProviderUpdate
from corral.store.providers import ProviderRow

LIST = "placement:resource_providers:list"
CREATE = "placement:resource_providers:create"
SHOW = "placement:resource_providers:show"
UPDATE = "placement:resource_providers:update"
DELETE = "placement:resource_providers:delete"


def provider_url(uuid: str) -> str:
    return f"/resource_providers/{uuid}"


def _links(req: Request, uuid: str) -> list[dict[str, str]]:
    url = provider_url(uuid)
    rels = ["inventories", "usages"]
    if req.at_least(1):
        rels.append("aggregates")
    if req.at_least(6):
        rels.append("traits")
    if req.at_least(11):
        rels.append("allocations")
    return [{"rel": "self", "href": url}] + [{"rel": r, "href": f"{url}/{r}"} for r in rels]


def serialize_provider(req: Request, provider: ProviderRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uuid": provider.uuid,
        "name": provider.name,
        "generation": provider.generation,
        "links": _links(req, provider.uuid),
    }
    if req.at_least(14):
        data["parent_provider_uuid"] = provider.parent_provider_uuid
        data["root_provider_uuid"] = provider.root_provider_uuid
    return data


def _provider_response(req: Request, provider: ProviderRow) -> Response:
    return json_response(
        serialize_provider(req, provider),
        last_modified=newest([provider.updated_at, provider.created_at]),
        version=req.version,
    )


@accepts(query=schema.list_schema)
def list_resource_providers(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(LIST)
    validate_query(req)
    found = provider_list.list_providers(
        req.services.db, parse_provider_query(req), req.services.index
    )
    body = {"resource_providers": [serialize_provider(req, p) for p in found]}
    last_modified = newest(t for p in found for t in (p.updated_at, p.created_at))
    return json_response(body, last_modified=last_modified, version=req.version)


@accepts(body=schema.post_schema)
def create_resource_provider(req: Request) -> Response:
    req.require_json_content()
    req.authorize(CREATE)
    body = req.json()
    provider = providers.create_provider(
        req.services.db,
        name=body["name"],
        uuid=body.get("uuid"),
        parent_uuid=body.get("parent_provider_uuid"),
    )
    location = provider_url(provider.uuid)
    if req.at_least(20):
        resp = _provider_response(req, provider)
    else:
        resp = empty_response(201)
    resp.add_header("location", location)
    return resp


def show_resource_provider(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(SHOW)
    provider = providers.get_provider(req.services.db, req.path_params["uuid"])
    return _provider_response(req, provider)


@accepts(body=schema.put_schema)
def update_resource_provider(req: Request) -> Response:
    req.require_json_content()
    req.authorize(UPDATE)
    uuid = req.path_params["uuid"]
    # Upstream looks the provider up (404) before it reads the body (400).
    providers.get_provider(req.services.db, uuid)
    body = req.json()
    change = ProviderUpdate(
        name=body["name"],
        sets_parent="parent_provider_uuid" in body,
        parent_uuid=body.get("parent_provider_uuid"),
    )
    provider = providers.update_provider(
        req.services.db, uuid, change, allow_reparenting=req.at_least(37)
    )
    return _provider_response(req, provider)


def delete_resource_provider(req: Request) -> Response:
    req.authorize(DELETE)
    providers.delete_provider(req.services.db, req.path_params["uuid"])
    return empty_response(204)
