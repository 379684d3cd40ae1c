"""Request and response types handlers see; no framework objects leak past here."""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jsonschema
import orjson

from corral.api.context import RequestContext
from corral.api.errors import NotAcceptable, UnsupportedMediaType
from corral.api.microversion import MAX, Version
from corral.api.negotiation import acceptable_offers
from corral.api.services import Services
from corral.errors import BadRequest
from corral.uuids import is_uuid_like


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    version: Version
    context: RequestContext
    request_id: str
    services: Services
    path_params: dict[str, str] = field(default_factory=dict)
    # The peer's address as the server saw it (a proxy's, behind one).
    client: str | None = None
    # What the handler declared with `accepts`, for this request's microversion
    # (set by the app before the handler runs; None: not declared).
    body_schema: dict[str, Any] | None = None
    query_schema: dict[str, Any] | None = None

    def authorize(self, action: str, target: dict[str, Any] | None = None) -> None:
        """Policy check for `action`; Forbidden when the caller may not."""
        self.services.policy.authorize(self.context, action, target)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def query_values(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def require_json_content(self) -> None:
        """415 unless the body is declared JSON (upstream checks this before anything else)."""
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType(
                f"The media type {content_type or None} is not supported, use application/json"
            )

    def require_accept_json(self) -> None:
        """406 when an Accept header is given and rules out application/json."""
        accept = self.header("accept")
        if accept and not acceptable_offers(accept, ("application/json",)):
            raise NotAcceptable("Only application/json is provided")

    def json(self) -> Any:
        """The body as JSON, validated against the schema the handler declared with
        `accepts` for this microversion (400 when it does not fit).

        The schema is never passed here: the one declaration is what both this
        check and the OpenAPI document (corral.api.openapi) read.
        """
        self.require_json_content()
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Malformed JSON: {exc}") from None
        if self.body_schema is not None:
            validate(data, self.body_schema)
        return data

    def at_least(self, minor: int) -> bool:
        return self.version.at_least(minor)


_FORMAT_CHECKER = jsonschema.FormatChecker()
_QUERY_FORMAT_CHECKER = jsonschema.FormatChecker()
_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


# Bodies accept what upstream's `uuidutils.is_uuid_like` does (dashes optional);
# query strings keep jsonschema's stricter built-in check, as upstream's do.
_FORMAT_CHECKER.checks("uuid")(is_uuid_like)


def validate(data: Any, schema: dict[str, Any]) -> None:
    """jsonschema validation with compiled validators cached per schema object."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
        validator = cls(schema, format_checker=_FORMAT_CHECKER)
        _VALIDATORS[id(schema)] = validator
    # The best match and its full text (schema path included), as upstream reports it.
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise BadRequest(f"JSON does not validate: {error}")


def validate_query(req: Request) -> None:
    """Check the query string against the schema the handler declared with
    `accepts` (400 "Invalid query string parameters").

    Like upstream, a repeated key is checked by its last value; handlers that
    allow repeats read `query_values` themselves.
    """
    schema = req.query_schema
    if schema is None:
        return
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
        validator = cls(schema, format_checker=_QUERY_FORMAT_CHECKER)
        _VALIDATORS[id(schema)] = validator
    error = jsonschema.exceptions.best_match(validator.iter_errors(dict(req.query)))
    if error is not None:
        raise BadRequest(f"Invalid query string parameters: {error}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None

    def add_header(self, name: str, value: str) -> None:
        self.headers.append((name, value))


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    raise TypeError


def json_response(
    data: Any,
    status: int = 200,
    *,
    last_modified: datetime.datetime | None = None,
    version: Version | None = None,
) -> Response:
    """A JSON response; from 1.15 on, with cache-control and last-modified headers."""
    resp = Response(
        status=status,
        body=orjson.dumps(data, default=_default),
        content_type="application/json",
    )
    if version is not None and version.at_least(15):
        add_cache_headers(resp, last_modified)
    return resp


def add_cache_headers(resp: Response, last_modified: datetime.datetime | None) -> None:
    when = last_modified or datetime.datetime.now(datetime.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    resp.add_header("cache-control", "no-cache")
    resp.add_header("last-modified", email.utils.format_datetime(when, usegmt=True))


def empty_response(status: int = 204) -> Response:
    return Response(status=status)


def newest(times: Iterable[datetime.datetime | None]) -> datetime.datetime | None:
    """The latest of several created_at/updated_at values (for last-modified)."""
    best: datetime.datetime | None = None
    for t in times:
        if t is not None and (best is None or t > best):
            best = t
    return best


Handler = Callable[[Request], Response]
F = TypeVar("F", bound=Handler)

# A schema, or the schema for microversion 1.minor (None: no body or query
# string is checked at that version).
SchemaChoice = dict[str, Any] | Callable[[int], dict[str, Any] | None]


@dataclass(frozen=True)
class Accepts:
    """What a handler validates its input with: read by the app (to hand the
    schema to `Request.json` and `validate_query`) and by the OpenAPI document."""

    body: SchemaChoice | None = None
    query: SchemaChoice | None = None
    # False where a body may be left out (then nothing is validated).
    body_required: bool = True

    def body_for(self, minor: int) -> dict[str, Any] | None:
        return _choose(self.body, minor)

    def query_for(self, minor: int) -> dict[str, Any] | None:
        return _choose(self.query, minor)


def _choose(choice: SchemaChoice | None, minor: int) -> dict[str, Any] | None:
    if choice is None or isinstance(choice, dict):
        return choice
    return choice(minor)


def accepts(
    *,
    body: SchemaChoice | None = None,
    query: SchemaChoice | None = None,
    body_required: bool = True,
) -> Callable[[F], F]:
    """Declare the JSON schemas a handler's body and query string must fit.

    The handler still decides when to check (`req.json()`, `validate_query(req)`),
    so the order of its checks (415, policy, 404, then 400) is unchanged.
    """

    def mark(func: F) -> F:
        func.__corral_accepts__ = Accepts(body, query, body_required)  # type: ignore[attr-defined]
        return func

    return mark


def accepted(handler: Handler) -> Accepts | None:
    """What `handler` declared with `accepts`, if anything."""
    found: Accepts | None = getattr(handler, "__corral_accepts__", None)
    return found


def versioned(min_minor: int, max_minor: int | None = None, status: int = 404) -> Callable[[F], F]:
    """Gate a handler to microversions 1.min_minor..1.max_minor.

    Outside that range the request gets `status` (404 as upstream, 405 where
    upstream answers that the method does not exist yet).
    """

    def mark(func: F) -> F:
        func.__corral_versions__ = (  # type: ignore[attr-defined]
            Version(1, min_minor),
            Version(1, max_minor) if max_minor is not None else MAX,
            status,
        )
        return func

    return mark
