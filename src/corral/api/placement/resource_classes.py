"""/resource_classes and /resource_classes/{name} (microversion 1.2+)."""

from __future__ import annotations

from typing import Any

from corral.api.http import (
    Request,
    Response,
    accepts,
    empty_response,
    json_response,
    newest,
    validate,
    versioned,
)
from corral.api.placement.schemas import resource_class as schema
from corral.api.policies import resource_class as policy
from corral.placement import resource_classes
from corral.store.resource_classes import ResourceClassRow

# From here PUT creates the named class (or confirms it) instead of renaming it.
PUT_CREATES_MINOR = 7


def class_url(name: str) -> str:
    return f"/resource_classes/{name}"


def _body(row: ResourceClassRow) -> dict[str, object]:
    return {"name": row.name, "links": [{"rel": "self", "href": class_url(row.name)}]}


@versioned(2)
def list_resource_classes(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(policy.LIST)
    rows = resource_classes.list_classes(req.services.db)
    return json_response(
        {"resource_classes": [_body(r) for r in rows]},
        last_modified=newest(r.updated_at or r.created_at for r in rows),
        version=req.version,
    )


@versioned(2)
def show_resource_class(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(policy.SHOW)
    row = resource_classes.get_class(req.services.db, req.path_params["name"])
    return json_response(
        _body(row), last_modified=row.updated_at or row.created_at, version=req.version
    )


@versioned(2)
@accepts(body=schema.NAME_BODY)
def create_resource_class(req: Request) -> Response:
    req.require_json_content()
    req.authorize(policy.CREATE)
    data = req.json()
    row = resource_classes.create_class(req.services.db, data["name"])
    resp = empty_response(201)
    resp.add_header("location", class_url(row.name))
    return resp


def _rename_body(minor: int) -> dict[str, Any] | None:
    """PUT /resource_classes/{name}: a new name before 1.7; from 1.7 no body."""
    return None if minor >= PUT_CREATES_MINOR else schema.NAME_BODY


@versioned(2)
@accepts(body=_rename_body)
def update_resource_class(req: Request) -> Response:
    name = req.path_params["name"]
    if req.at_least(PUT_CREATES_MINOR):
        req.authorize(policy.UPDATE)
        # The name in the path must be a valid custom class name.
        validate({"name": name}, schema.NAME_BODY)
        row, created = resource_classes.ensure_class(req.services.db, name)
        resp = empty_response(201 if created else 204)
        resp.add_header("location", class_url(row.name))
        return resp
    req.require_json_content()
    req.authorize(policy.UPDATE)
    data = req.json()
    row = resource_classes.rename_class(req.services.db, name, data["name"])
    return json_response(_body(row), version=None)


@versioned(2)
def delete_resource_class(req: Request) -> Response:
    req.authorize(policy.DELETE)
    resource_classes.delete_class(req.services.db, req.path_params["name"])
    return empty_response(204)
