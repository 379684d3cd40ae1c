"""GET /openapi.json: an OpenAPI 3.1 description of every route the app serves.

The document is built from the router the app dispatches with (its paths,
methods and handlers) and from what each handler declared: `accepts` (the
JSON schemas its body and query string are validated with) and `versioned`
(the Placement microversions it answers). Nothing is written twice, so the
document cannot describe a path, a method or a schema that the service does
not use. Where a schema changed between microversions the document shows the
newest one and names every range in the operation's description.

The schemas are checked at run time as JSON Schema draft 4 (what upstream
Placement uses); they use only keywords that mean the same in the JSON Schema
2020-12 dialect OpenAPI 3.1 assumes.

Like the version document at `/`, it needs no token: it says nothing that the
source does not, and clients read it before they have one.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from corral import __version__
from corral.api import microversion
from corral.api.auth import PUBLIC_PATHS
from corral.api.dashboard.session import PREFIX as DASHBOARD_PREFIX
from corral.api.http import Handler, Request, Response, SchemaChoice, accepted
from corral.api.placement.routes import placement_routes
from corral.api.routing import Router
from corral.api.scheduler.routes import PREFIX as SCHEDULER_PREFIX

PATH = "/openapi.json"
OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "keystone_token"

_PARAM = re.compile(r"\{(\w+)\}")
_PLACEMENT_TEMPLATES = frozenset(template for template, _ in placement_routes())

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Placement's error format, used by every path corral serves.",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer", "description": "The HTTP status."},
                    "title": {"type": "string", "description": "The status's reason phrase."},
                    "detail": {"type": "string", "description": "What was wrong."},
                    "code": {
                        "type": "string",
                        "description": "A machine-readable error code "
                        "(Placement microversion 1.23 and later).",
                    },
                    "request_id": {"type": "string", "description": "As x-openstack-request-id."},
                    "min_version": {
                        "type": "string",
                        "description": "On 406 for an unsupported microversion.",
                    },
                    "max_version": {
                        "type": "string",
                        "description": "On 406 for an unsupported microversion.",
                    },
                },
                "required": ["status", "title", "detail"],
            },
        }
    },
    "required": ["errors"],
}

_ERROR_REF = {"$ref": "#/components/responses/Error"}
_OVERLOADED_REF = {"$ref": "#/components/responses/Overloaded"}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def build_document(router: Router) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route in `router`."""
    paths: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for route in router.routes:
        item: dict[str, Any] = {}
        names = _PARAM.findall(route.template)
        if names:
            item["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
        for method, handler in route.methods.items():
            operation = _operation(route.template, method, handler)
            # One handler may serve two methods (GET and HEAD); ids must be unique.
            op_id = operation["operationId"]
            if op_id in operation_ids:
                op_id = operation["operationId"] = f"{op_id}_{method.lower()}"
            operation_ids.add(op_id)
            item[method.lower()] = operation
        paths[_openapi_path(route.template)] = item
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "corral",
            "version": __version__,
            "description": (
                "The OpenStack Placement API (microversions "
                f"{microversion.MIN}-{microversion.MAX}, sent and answered in the "
                "OpenStack-API-Version header), corral's scheduling API under "
                f"{SCHEDULER_PREFIX}, and the operator endpoints."
            ),
        },
        "tags": [
            {"name": "placement", "description": "The OpenStack Placement API."},
            {"name": "scheduler", "description": "corral's scheduling, host and group API."},
            {"name": "operations", "description": "Health, metrics and this document."},
            {
                "name": "dashboard",
                "description": "The operator dashboard: HTML pages for a browser, the token "
                "kept in a session cookie after the login form.",
            },
        ],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {
                "Error": {
                    "description": "An error, in Placement's format.",
                    "content": _ERROR_CONTENT,
                },
                "Overloaded": {
                    "description": "The worker already holds [api] max_concurrent_requests "
                    "requests; retry after the Retry-After header's seconds.",
                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                    "content": _ERROR_CONTENT,
                },
            },
            "parameters": {
                "OpenStackApiVersion": {
                    "name": "OpenStack-API-Version",
                    "in": "header",
                    "required": False,
                    "description": "The Placement microversion, as `placement 1.N` or "
                    f"`placement latest` ({microversion.MAX}); absent means {microversion.MIN}.",
                    "schema": {"type": "string", "examples": [f"placement {microversion.MAX}"]},
                }
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Auth-Token",
                    "description": "A Keystone token (`[api] auth_strategy = keystone`); with "
                    "`noauth2` (loopback only), `user[:project]`.",
                }
            },
        },
        "security": [{SECURITY_SCHEME: []}],
    }


def _openapi_path(template: str) -> str:
    # The router matches with or without a trailing slash; the document names one.
    return template.rstrip("/") or "/"


def _tag(template: str) -> str:
    if template.startswith(DASHBOARD_PREFIX):
        return "dashboard"
    if template.startswith(SCHEDULER_PREFIX):
        return "scheduler"
    if template in _PLACEMENT_TEMPLATES:
        return "placement"
    return "operations"


def _operation(template: str, method: str, handler: Handler) -> dict[str, Any]:
    tag = _tag(template)
    name = getattr(handler, "__name__", "handler")
    module = getattr(handler, "__module__", "").removeprefix("corral.api.")
    doc = (getattr(handler, "__doc__", None) or "").strip()
    operation: dict[str, Any] = {
        "tags": [tag],
        "operationId": f"{module}.{name}",
        "summary": doc.splitlines()[0] if doc else name.replace("_", " ").capitalize() + ".",
    }
    description: list[str] = []
    lo, hi = microversion.MIN.minor, microversion.MAX.minor
    if tag == "placement":
        gate = getattr(handler, "__corral_versions__", None)
        if gate is not None:
            lo, hi = gate[0].minor, gate[1].minor
            missing = "405" if gate[2] == 405 else "404"
            description.append(
                f"Placement microversions {_range(lo, hi)}; other versions get {missing}."
            )
        else:
            description.append(f"Placement microversions {_range(lo, hi)}.")
        operation["parameters"] = [{"$ref": "#/components/parameters/OpenStackApiVersion"}]
    if template in PUBLIC_PATHS:
        operation["security"] = []
        description.append("No token needed.")
    declared = accepted(handler)
    if declared is not None:
        query, history = _newest(declared.query, lo, hi)
        if query is not None:
            operation.setdefault("parameters", []).extend(_query_parameters(query))
            if len(history) > 1:
                description.append(f"Query string schema by microversion: {history}.")
        body, history = _newest(declared.body, lo, hi)
        if body is not None:
            operation["requestBody"] = {
                # Not required where the newest version takes no body at all.
                "required": declared.body_required and declared.body_for(hi) is not None,
                "content": {"application/json": {"schema": copy.deepcopy(body)}},
            }
            if len(history) > 1:
                description.append(f"Request body schema by microversion: {history}.")
    if description:
        operation["description"] = " ".join(description)
    operation["responses"] = _responses(template)
    return operation


def _responses(template: str) -> dict[str, Any]:
    if template == "/healthcheck":
        health = {
            "type": "object",
            "properties": {
                "status": {"enum": ["ok", "unavailable"]},
                "worker": {"type": "integer", "description": "The answering process's id."},
            },
        }
        content = {"application/json": {"schema": health}}
        return {
            "200": {"description": "This worker reaches its database.", "content": content},
            "503": {"description": "This worker cannot reach its database.", "content": content},
        }
    if template == "/metrics":
        return {
            "200": {
                "description": "Prometheus text exposition.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "403": {
                "description": "The client is outside [api] metrics_allowed_networks.",
                "content": _ERROR_CONTENT,
            },
        }
    if template == PATH:
        return {
            "200": {
                "description": "This document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "503": _OVERLOADED_REF,
        }
    return {"2XX": {"description": "Success."}, "503": _OVERLOADED_REF, "default": _ERROR_REF}


def _newest(choice: SchemaChoice | None, lo: int, hi: int) -> tuple[dict[str, Any] | None, str]:
    """The newest schema `choice` gives within 1.lo-1.hi, and its history as text."""
    if choice is None:
        return None, ""
    if isinstance(choice, dict):
        return choice, _range(lo, hi)
    spans: list[tuple[int, int, dict[str, Any] | None]] = []
    for minor in range(lo, hi + 1):
        schema = choice(minor)
        if spans and spans[-1][2] is schema:
            spans[-1] = (spans[-1][0], minor, schema)
        else:
            spans.append((minor, minor, schema))
    newest = next((s for _, _, s in reversed(spans) if s is not None), None)
    parts = []
    for first, last, schema in spans:
        note = " (no body)" if schema is None else " (shown)" if schema is newest else ""
        parts.append(f"{_range(first, last)}{note}")
    return newest, ", ".join(parts)


def _range(lo: int, hi: int) -> str:
    if lo == hi:
        return f"1.{lo}"
    return f"1.{lo}-1.{hi}"


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One query parameter per named key; keys given by pattern as one free-form object."""
    required = set(schema.get("required", ()))
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": copy.deepcopy(sub),
        }
        for name, sub in schema.get("properties", {}).items()
    ]
    patterns = schema.get("patternProperties")
    if patterns:
        params.append(
            {
                "name": "grouped",
                "in": "query",
                "required": False,
                "style": "form",
                "explode": True,
                "description": "Keys named by these patterns (numbered or suffixed request "
                "groups), each given as its own key=value pair.",
                "schema": {"type": "object", "patternProperties": copy.deepcopy(patterns)},
            }
        )
    return params


class OpenApiEndpoint:
    """Serves the document of the router it is published with."""

    def __init__(self) -> None:
        self._body = b""

    def publish(self, router: Router) -> None:
        """Build the document once, from the finished router (which holds this route too)."""
        self._body = orjson.dumps(build_document(router))

    def document(self, req: Request) -> Response:
        """This OpenAPI 3.1 document."""
        return Response(status=200, body=self._body, content_type="application/json")

    def routes(self) -> list[tuple[str, dict[str, Handler]]]:
        return [(PATH, {"GET": self.document})]
