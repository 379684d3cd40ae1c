"""/scheduler/v1/aggregates: Nova's host aggregates (os-aggregates)."""

from __future__ import annotations

from typing import Any

from corral.api.http import Request, Response, accepts, empty_response, json_response, validate
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.compute import aggregates
from corral.errors import BadRequest
from corral.store.host_aggregates import AggregateRow

# An aggregate in a path: its id (digits) or its uuid.
_REF: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
        schemas.UUID,
    ]
}


_ACTION_RULES = {
    "add_host": policy.AGGREGATES_ADD_HOST,
    "remove_host": policy.AGGREGATES_REMOVE_HOST,
    "set_metadata": policy.AGGREGATES_SET_METADATA,
}


def _ref(req: Request) -> int | str:
    value = req.path_params["aggregate"]
    try:
        validate(value, _REF)
    except BadRequest:
        raise BadRequest(
            f"Invalid aggregate in the path: {value[:64]!r} is neither an id nor a uuid"
        ) from None
    if value.isdigit():
        number = int(value)
        if number > schemas.MAX_INT:
            raise BadRequest(f"Invalid aggregate in the path: id {value} is out of range")
        return number
    return value


def _aggregate(row: AggregateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "name": row.name,
        "availability_zone": row.metadata.get(aggregates.AZ_KEY),
        "hosts": row.hosts,
        "metadata": row.metadata,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _answer(row: AggregateRow) -> Response:
    return json_response({"aggregate": _aggregate(row)})


def list_aggregates(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_LIST)
    rows = aggregates.list_aggregates(req.services.db)
    return json_response({"aggregates": [_aggregate(r) for r in rows]})


def show_aggregate(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_SHOW)
    return _answer(aggregates.get_aggregate(req.services.db, _ref(req)))


@accepts(body=schemas.AGGREGATE_CREATE)
def create_aggregate(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_CREATE)
    body = req.json()["aggregate"]
    row = aggregates.create_aggregate(req.services.db, body["name"], body.get("availability_zone"))
    return _answer(row)


@accepts(body=schemas.AGGREGATE_UPDATE)
def update_aggregate(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_UPDATE)
    ref = _ref(req)
    body = req.json()["aggregate"]
    row = aggregates.update_aggregate(
        req.services.db,
        ref,
        name=body.get("name"),
        availability_zone=body.get("availability_zone"),
        set_zone="availability_zone" in body,
    )
    return _answer(row)


def delete_aggregate(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_DELETE)
    aggregates.delete_aggregate(req.services.db, _ref(req))
    return empty_response()


@accepts(body=schemas.METADATA_BODY)
def set_metadata(req: Request) -> Response:
    req.authorize(policy.AGGREGATES_SET_METADATA)
    ref = _ref(req)
    body = req.json()
    return _answer(aggregates.set_metadata(req.services.db, ref, body["metadata"]))


@accepts(body=schemas.ACTION)
def action(req: Request) -> Response:
    """Nova's POST /os-aggregates/{id}/action: add_host, remove_host or set_metadata."""
    ref = _ref(req)
    body = req.json()
    name = next(iter(body))
    schema = schemas.ACTIONS.get(name)
    if schema is None:
        raise BadRequest(
            f"Unknown aggregate action {name[:64]!r}; valid: {', '.join(sorted(schemas.ACTIONS))}"
        )
    req.authorize(_ACTION_RULES[name])
    validate(body, schema)
    db = req.services.db
    if name == "add_host":
        return _answer(aggregates.add_host(db, ref, body[name]["host"]))
    if name == "remove_host":
        return _answer(aggregates.remove_host(db, ref, body[name]["host"]))
    return _answer(aggregates.set_metadata(db, ref, body[name]["metadata"]))
