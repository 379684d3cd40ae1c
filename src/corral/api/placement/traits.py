"""/traits, /traits/{name} and /resource_providers/{uuid}/traits (microversion 1.6+)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from corral.api.http import (
    Request,
    Response,
    accepts,
    add_cache_headers,
    empty_response,
    json_response,
    newest,
    validate,
    validate_query,
    versioned,
)
from corral.api.placement.schemas import trait as schema
from corral.errors import BadRequest, CorralError
from corral.placement import traits
from corral.store.traits import TraitRow

TRAITS_LIST = "placement:traits:list"
TRAITS_SHOW = "placement:traits:show"
TRAITS_UPDATE = "placement:traits:update"
TRAITS_DELETE = "placement:traits:delete"
RP_TRAIT_LIST = "placement:resource_providers:traits:list"
RP_TRAIT_UPDATE = "placement:resource_providers:traits:update"
RP_TRAIT_DELETE = "placement:resource_providers:traits:delete"

INVALID_TRAIT = (
    "The trait is invalid. A valid trait must be no longer than 255 characters, "
    'start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
)


def _traits_body(rows: Iterable[TraitRow]) -> tuple[list[str], datetime.datetime | None]:
    rows = list(rows)
    return [t.name for t in rows], newest(t.updated_at or t.created_at for t in rows)


def _name_filter(value: str) -> tuple[list[str] | None, str | None]:
    """(names, prefix) from `in:A,B` or `startswith:P`."""
    op, sep, arg = value.partition(":")
    if not sep:
        raise BadRequest(
            "Badly formatted name parameter. Expected name query string parameter in form: "
            f'?name=[in|startswith]:[name1,name2|prefix]. Got: "{value}"'
        )
    if op == "in":
        return arg.split(","), None
    if op == "startswith":
        return None, arg
    # Upstream ignores any other operator.
    return None, None


@versioned(6)
@accepts(query=schema.LIST_TRAITS_QUERY)
def list_traits(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(TRAITS_LIST)
    validate_query(req)
    query = dict(req.query)
    names: list[str] | None = None
    prefix: str | None = None
    associated: bool | None = None
    if "name" in query:
        names, prefix = _name_filter(query["name"])
    if "associated" in query:
        value = query["associated"].lower()
        if value not in ("true", "false"):
            raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
        associated = value == "true"
    rows = traits.list_traits(req.services.db, names=names, prefix=prefix, associated=associated)
    body, last_modified = _traits_body(rows)
    return json_response({"traits": body}, last_modified=last_modified, version=req.version)


@versioned(6)
def show_trait(req: Request) -> Response:
    req.authorize(TRAITS_SHOW)
    trait = traits.get_trait(req.services.db, req.path_params["name"])
    resp = empty_response(204)
    if req.at_least(15):
        add_cache_headers(resp, trait.created_at)
    return resp


@versioned(6)
def put_trait(req: Request) -> Response:
    req.authorize(TRAITS_UPDATE)
    name = req.path_params["name"]
    try:
        validate(name, schema.CUSTOM_TRAIT)
    except CorralError:
        raise BadRequest(INVALID_TRAIT) from None
    trait, created = traits.ensure_trait(req.services.db, name)
    resp = empty_response(201 if created else 204)
    resp.add_header("location", f"/traits/{trait.name}")
    if req.at_least(15):
        add_cache_headers(resp, trait.created_at)
    return resp


@versioned(6)
def delete_trait(req: Request) -> Response:
    req.authorize(TRAITS_DELETE)
    traits.delete_trait(req.services.db, req.path_params["name"])
    return empty_response(204)


@versioned(6)
def list_provider_traits(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(RP_TRAIT_LIST)
    uuid = req.path_params["uuid"]
    try:
        found = traits.provider_traits(req.services.db, uuid)
    except CorralError as exc:
        if exc.status != 404:
            raise
        # Upstream repeats the reason after its own sentence here.
        raise type(exc)(f"No resource provider with uuid {uuid} found: {exc.detail}") from None
    names, last_modified = _traits_body(found.traits)
    body = {"traits": names, "resource_provider_generation": found.generation}
    return json_response(body, last_modified=last_modified, version=req.version)


@versioned(6)
@accepts(body=schema.SET_TRAITS_FOR_RP)
def update_provider_traits(req: Request) -> Response:
    req.require_json_content()
    req.authorize(RP_TRAIT_UPDATE)
    body = req.json()
    result = traits.set_provider_traits(
        req.services.db,
        req.path_params["uuid"],
        body["traits"],
        body["resource_provider_generation"],
    )
    names, last_modified = _traits_body(result.traits)
    out = {"traits": names, "resource_provider_generation": result.generation}
    return json_response(out, last_modified=last_modified, version=req.version)


@versioned(6)
def delete_provider_traits(req: Request) -> Response:
    req.authorize(RP_TRAIT_DELETE)
    traits.clear_provider_traits(req.services.db, req.path_params["uuid"])
    return empty_response(204)
