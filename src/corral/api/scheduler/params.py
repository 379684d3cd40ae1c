"""Path and query parameters of the scheduler API, checked against schemas."""

from __future__ import annotations

from typing import Any

from corral.api.http import Request, validate, validate_query
from corral.api.scheduler.schemas import MAX_LIMIT
from corral.errors import BadRequest


def path_param(req: Request, name: str, schema: dict[str, Any]) -> str:
    """The path parameter `name`, refused (400) unless it fits `schema`."""
    value = req.path_params[name]
    try:
        validate(value, schema)
    except BadRequest as exc:
        raise BadRequest(f"Invalid {name} in the path: {exc.detail}") from None
    return value


def query_params(req: Request) -> dict[str, str]:
    """The query string as a dict, each key at most once, checked against the
    schema the handler declared with `accepts`."""
    seen: set[str] = set()
    for key, _ in req.query:
        if key in seen:
            raise BadRequest(f"Invalid query string parameters: {key!r} is given more than once")
        seen.add(key)
    validate_query(req)
    return dict(req.query)


def limit_param(params: dict[str, str]) -> int:
    """`limit` (1..MAX_LIMIT, default MAX_LIMIT); its digits were checked by the schema."""
    if "limit" not in params:
        return MAX_LIMIT
    limit = int(params["limit"])
    if limit > MAX_LIMIT:
        raise BadRequest(f"Invalid query string parameters: limit must be at most {MAX_LIMIT}")
    return limit
