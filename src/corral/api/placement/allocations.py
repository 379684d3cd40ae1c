"""/allocations, /allocations/{consumer_uuid} and /resource_providers/{uuid}/allocations."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from corral.api.http import Request, Response, accepts, empty_response, json_response, versioned
from corral.api.placement.schemas import allocation as schema
from corral.errors import BadRequest, ConcurrentUpdate, Conflict
from corral.placement import allocations
from corral.placement.allocations import (
    ConsumerWrite,
    InvalidInventory,
    ProviderConflict,
    ResourceClassNotFound,
    WriteSettings,
)
from corral.placement.consumers import ConsumerConflict, ConsumerSpec, Defaults
from corral.uuids import is_uuid_like

ALLOC_LIST = "placement:allocations:list"
ALLOC_MANAGE = "placement:allocations:manage"
ALLOC_UPDATE = "placement:allocations:update"
ALLOC_DELETE = "placement:allocations:delete"
RP_ALLOC_LIST = "placement:resource_providers:allocations:list"

# Microversions that changed what these handlers read or show.
OWNER_MINOR = 8  # project_id and user_id required in PUT
DICT_MINOR = 12  # allocations keyed by provider; owner shown in GET
CONSUMER_GENERATION_MINOR = 28
CONSUMER_TYPE_MINOR = 38


def write_settings(req: Request) -> WriteSettings:
    settings = req.services.placement
    return WriteSettings(
        retries=settings.allocation_conflict_retry_count,
        defaults=Defaults(
            project_id=settings.incomplete_consumer_project_id,
            user_id=settings.incomplete_consumer_user_id,
        ),
    )


def consumer_write(req: Request, consumer_uuid: str, data: dict[str, Any]) -> ConsumerWrite:
    """One consumer's part of a validated body (dict form, 1.12+)."""
    return ConsumerWrite(
        consumer=_consumer_spec(req, consumer_uuid, data),
        allocations={rp: dict(part["resources"]) for rp, part in data["allocations"].items()},
    )


def _consumer_spec(req: Request, consumer_uuid: str, data: dict[str, Any]) -> ConsumerSpec:
    return ConsumerSpec(
        uuid=consumer_uuid,
        project_id=data.get("project_id"),
        user_id=data.get("user_id"),
        generation=data.get("consumer_generation"),
        check_generation=req.at_least(CONSUMER_GENERATION_MINOR),
        consumer_type=data.get("consumer_type"),
    )


def check_total(writes: list[ConsumerWrite]) -> None:
    """Bound the product the per-level schema limits allow."""
    total = sum(len(res) for w in writes for res in w.allocations.values())
    if total > schema.MAX_ALLOCATIONS:
        raise BadRequest(
            f"Too many allocations in one request: {total}; the limit is {schema.MAX_ALLOCATIONS}."
        )


@contextmanager
def write_errors(not_found_prefix: str) -> Iterator[None]:
    """Upstream's wording for a failed allocation write."""
    try:
        yield
    except ResourceClassNotFound as exc:
        raise BadRequest(f"{not_found_prefix}{exc.detail}") from None
    except InvalidInventory as exc:
        raise Conflict(f"Unable to allocate inventory: {exc.detail}") from None
    except (ProviderConflict, ConsumerConflict) as exc:
        raise ConcurrentUpdate(
            f"Inventory and/or allocations changed while attempting to allocate: {exc.detail}"
        ) from None


def list_for_consumer(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(ALLOC_LIST)
    # Any string: an unknown or malformed consumer simply has no allocations.
    result = allocations.consumer_allocations(req.services.db, req.path_params["consumer_uuid"])
    body: dict[str, Any] = {
        "allocations": {
            rp: {"resources": part.resources, "generation": part.generation}
            for rp, part in result.allocations.items()
        }
    }
    if result.allocations and req.at_least(DICT_MINOR):
        body["project_id"] = result.project_id
        body["user_id"] = result.user_id
        if req.at_least(CONSUMER_GENERATION_MINOR):
            body["consumer_generation"] = result.generation
        if req.at_least(CONSUMER_TYPE_MINOR):
            body["consumer_type"] = result.consumer_type
    return json_response(body, last_modified=result.last_modified, version=req.version)


def list_for_provider(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(RP_ALLOC_LIST)
    result = allocations.provider_allocations(req.services.db, req.path_params["uuid"])
    with_generation = req.at_least(CONSUMER_GENERATION_MINOR)
    consumers: dict[str, Any] = {}
    for consumer_uuid, part in result.allocations.items():
        entry: dict[str, Any] = {"resources": part.resources}
        if with_generation:
            entry["consumer_generation"] = part.generation
        consumers[consumer_uuid] = entry
    body = {"allocations": consumers, "resource_provider_generation": result.generation}
    return json_response(body, last_modified=result.last_modified, version=req.version)


@accepts(body=schema.put_schema)
def set_for_consumer(req: Request) -> Response:
    req.require_json_content()
    req.authorize(ALLOC_UPDATE)
    consumer_uuid = req.path_params["consumer_uuid"]
    if not is_uuid_like(consumer_uuid):
        raise BadRequest(f"Malformed consumer_uuid: {consumer_uuid}")
    consumer_uuid = str(uuidlib.UUID(consumer_uuid))
    data = req.json()
    if req.at_least(DICT_MINOR):
        write = consumer_write(req, consumer_uuid, data)
    else:
        by_provider: dict[str, dict[str, int]] = {}
        for item in data["allocations"]:
            # A provider named twice keeps its last entry, as upstream.
            by_provider[item["resource_provider"]["uuid"]] = dict(item["resources"])
        write = ConsumerWrite(_consumer_spec(req, consumer_uuid, data), by_provider)
    check_total([write])
    with write_errors(f"Unable to allocate inventory for consumer {consumer_uuid}: "):
        allocations.set_allocations(req.services.db, [write], write_settings(req))
    return empty_response(204)


@versioned(13)
@accepts(body=schema.post_schema)
def set_allocations(req: Request) -> Response:
    req.require_json_content()
    req.authorize(ALLOC_MANAGE)
    data = req.json()
    writes = [consumer_write(req, consumer, part) for consumer, part in data.items()]
    check_total(writes)
    with write_errors("Unable to allocate inventory "):
        allocations.set_allocations(req.services.db, writes, write_settings(req))
    return empty_response(204)


def delete_for_consumer(req: Request) -> Response:
    req.authorize(ALLOC_DELETE)
    allocations.delete_allocations(req.services.db, req.path_params["consumer_uuid"])
    return empty_response(204)
