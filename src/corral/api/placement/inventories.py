"""/resource_providers/{uuid}/inventories and .../inventories/{resource_class}."""

from __future__ import annotations

from typing import Any

from corral.api.http import (
    Request,
    Response,
    accepts,
    add_cache_headers,
    empty_response,
    json_response,
    versioned,
)
from corral.api.placement.resource_providers import provider_url
from corral.api.placement.schemas import inventory as schema
from corral.api.policies import inventory as policy
from corral.placement import inventories
from corral.placement.inventories import ProviderInventories
from corral.placement.providers import get_provider
from corral.store.inventories import Inventory

# From 1.26 an inventory may be wholly reserved (reserved == total).
RESERVED_CAN_BE_TOTAL_MINOR = 26
# From here responses carry cache-control and last-modified.
CACHE_HEADERS_MINOR = 15

_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def inventory_from_body(fields: dict[str, Any]) -> Inventory:
    """An inventory record of a request body, upstream's defaults for what it leaves out."""
    return Inventory(**{k: v for k, v in fields.items() if k in _FIELDS})


def _one(inventory: Inventory, generation: int) -> dict[str, Any]:
    return {**inventory.fields(), "resource_provider_generation": generation}


def _all_response(req: Request, result: ProviderInventories) -> Response:
    body = {
        "resource_provider_generation": result.generation,
        "inventories": {name: inv.fields() for name, inv in result.inventories.items()},
    }
    resp = json_response(body)
    if req.at_least(CACHE_HEADERS_MINOR):
        last_modified = result.last_modified
        if last_modified is None:
            # Upstream sends no last-modified for a provider without inventory.
            resp.add_header("cache-control", "no-cache")
        else:
            add_cache_headers(resp, last_modified)
    return resp


def _one_response(
    req: Request, inventory: Inventory, generation: int, status: int = 200
) -> Response:
    return json_response(
        _one(inventory, generation),
        status,
        last_modified=inventory.updated_at or inventory.created_at,
        version=req.version,
    )


def _reserved_can_be_total(req: Request) -> bool:
    return req.at_least(RESERVED_CAN_BE_TOTAL_MINOR)


@versioned(0)
def list_inventories(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(policy.LIST)
    _, result = inventories.list_inventories(req.services.db, req.path_params["uuid"])
    return _all_response(req, result)


@versioned(0)
def show_inventory(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(policy.SHOW)
    generation, inventory = inventories.get_inventory(
        req.services.db, req.path_params["uuid"], req.path_params["resource_class"]
    )
    return _one_response(req, inventory, generation)


@versioned(0)
@accepts(body=schema.POST_INVENTORY)
def create_inventory(req: Request) -> Response:
    req.require_json_content()
    req.authorize(policy.CREATE)
    uuid = req.path_params["uuid"]
    # Upstream looks the provider up (404) before it reads the body (400).
    get_provider(req.services.db, uuid)
    data = req.json()
    class_name = data["resource_class"]
    result = inventories.create_inventory(
        req.services.db,
        uuid,
        class_name,
        inventory_from_body(data),
        reserved_can_be_total=_reserved_can_be_total(req),
    )
    resp = _one_response(req, result.inventories[class_name], result.generation, 201)
    resp.add_header("location", f"{provider_url(uuid)}/inventories/{class_name}")
    return resp


@versioned(0)
@accepts(body=schema.PUT_INVENTORIES)
def set_inventories(req: Request) -> Response:
    req.require_json_content()
    req.authorize(policy.UPDATE)
    uuid = req.path_params["uuid"]
    get_provider(req.services.db, uuid)
    data = req.json()
    wanted = {name: inventory_from_body(f) for name, f in data["inventories"].items()}
    result = inventories.set_inventories(
        req.services.db,
        uuid,
        data["resource_provider_generation"],
        wanted,
        reserved_can_be_total=_reserved_can_be_total(req),
    )
    return _all_response(req, result)


@versioned(0)
@accepts(body=schema.BASE_INVENTORY)
def update_inventory(req: Request) -> Response:
    req.require_json_content()
    req.authorize(policy.UPDATE)
    uuid = req.path_params["uuid"]
    class_name = req.path_params["resource_class"]
    get_provider(req.services.db, uuid)
    data = req.json()
    result = inventories.update_inventory(
        req.services.db,
        uuid,
        class_name,
        data["resource_provider_generation"],
        inventory_from_body(data),
        reserved_can_be_total=_reserved_can_be_total(req),
    )
    return _one_response(req, result.inventories[class_name], result.generation)


@versioned(0)
def delete_inventory(req: Request) -> Response:
    req.authorize(policy.DELETE)
    inventories.delete_inventory(
        req.services.db, req.path_params["uuid"], req.path_params["resource_class"]
    )
    return empty_response(204)


@versioned(5, status=405)
def delete_inventories(req: Request) -> Response:
    req.authorize(policy.DELETE)
    inventories.delete_inventories(req.services.db, req.path_params["uuid"])
    return empty_response(204)
