"""GET /openapi.json: the document covers exactly what the app serves, and is well formed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from corral.api.app import App
from corral.api.auth import PUBLIC_PATHS
from corral.api.http import accepted
from corral.api.microversion import MAX
from corral.conf import new_conf
from corral.service.appfactory import build_app
from corral.store import migrate
from corral.store.database import Database

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# The OpenAPI 3.1 fixed fields an operation may have (a misspelt one is an error).
OPERATION_FIELDS = {
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    # The document does not depend on the database backend: SQLite only.
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('openapi')) / 'corral.db'}"
    migrate.upgrade(Database(url))
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("auth_strategy", "noauth2", group="api")
    return build_app(conf, url)


@pytest.fixture(scope="module")
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    resp = client.get("/openapi.json")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    return body


def served(app: App) -> set[tuple[str, str]]:
    """(path template, method) for every route the app dispatches."""
    return {
        (route.template.rstrip("/") or "/", method.lower())
        for route in app.router.routes
        for method in route.methods
    }


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_needs_no_token(doc: dict[str, Any]) -> None:
    # The fixture fetched it without an X-Auth-Token, as `/` is read.
    assert doc["openapi"] == "3.1.0"
    assert "/openapi.json" in PUBLIC_PATHS


def test_every_served_route_is_documented_and_every_documented_one_served(
    app: App, doc: dict[str, Any]
) -> None:
    assert documented(doc) == served(app)
    # Each documented path, with its parameters filled in, is matched by the
    # router to that same template, with the method among the route's.
    for path, method, _op in operations(doc):
        concrete = re.sub(r"\{\w+\}", "x", path)
        match = app.router.match(concrete)
        assert match is not None, path
        route, _params = match
        assert (route.template.rstrip("/") or "/") == path
        assert method.upper() in route.methods


def test_the_main_surfaces_are_there(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    for path in (
        "/",
        "/resource_providers",
        "/allocation_candidates",
        "/allocations/{consumer_uuid}",
        "/scheduler/v1/select_destinations",
        "/healthcheck",
        "/metrics",
        "/openapi.json",
    ):
        assert path in paths, path
    assert set(paths["/healthcheck"]) >= {"get", "head"}


def test_structure_is_openapi_3_1(doc: dict[str, Any]) -> None:
    assert {"openapi", "info", "paths"} <= set(doc)
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    operation_ids = [op["operationId"] for _p, _m, op in operations(doc)]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, op in operations(doc):
        assert set(op) <= OPERATION_FIELDS, (path, method, set(op) - OPERATION_FIELDS)
        assert op["responses"], (path, method)
        # Every templated segment is declared as a required path parameter.
        declared = {
            p["name"]
            for p in doc["paths"][path].get("parameters", [])
            if p["in"] == "path" and p["required"]
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/"), ref
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part]
    resolved: dict[str, Any] = target
    return resolved


def test_every_schema_is_a_valid_json_schema(doc: dict[str, Any]) -> None:
    schemas: list[tuple[str, dict[str, Any]]] = []
    for path, method, op in operations(doc):
        body = op.get("requestBody")
        if body is not None:
            schemas.append((f"{method} {path} body", body["content"]["application/json"]["schema"]))
        for param in op.get("parameters", []):
            param = resolve(doc, param)
            schemas.append((f"{method} {path} {param['name']}", param["schema"]))
    schemas.extend((name, s) for name, s in doc["components"]["schemas"].items())
    assert len(schemas) > 40
    for where, schema in schemas:
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            pytest.fail(f"{where}: {exc.message}")


def test_bodies_are_the_schemas_the_handlers_validate_with(app: App, doc: dict[str, Any]) -> None:
    checked = 0
    for route in app.router.routes:
        for method, handler in route.methods.items():
            declared = accepted(handler)
            if declared is None:
                continue
            op = doc["paths"][route.template.rstrip("/") or "/"][method.lower()]
            gate = getattr(handler, "__corral_versions__", None)
            newest = declared.body_for(gate[1].minor if gate else MAX.minor)
            if newest is not None:
                assert op["requestBody"]["content"]["application/json"]["schema"] == newest
                checked += 1
            query = declared.query_for(MAX.minor)
            if query is not None:
                names = {p.get("name") for p in op["parameters"]}
                assert set(query.get("properties", {})) <= names
                checked += 1
    assert checked >= 25


def test_microversions_auth_and_errors_are_described(doc: dict[str, Any]) -> None:
    components = doc["components"]
    scheme = components["securitySchemes"]["keystone_token"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Auth-Token")
    assert doc["security"] == [{"keystone_token": []}]
    assert components["parameters"]["OpenStackApiVersion"]["name"] == "OpenStack-API-Version"
    error = components["schemas"]["Error"]["properties"]["errors"]["items"]
    assert set(error["properties"]) >= {"status", "title", "detail", "code", "request_id"}

    put_alloc = doc["paths"]["/allocations/{consumer_uuid}"]["put"]
    assert {"$ref": "#/components/parameters/OpenStackApiVersion"} in put_alloc["parameters"]
    assert put_alloc["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    # Overload is answered with 503 and Retry-After, except on health and metrics.
    overloaded = components["responses"]["Overloaded"]
    assert "Retry-After" in overloaded["headers"]
    assert put_alloc["responses"]["503"] == {"$ref": "#/components/responses/Overloaded"}
    assert "503" not in doc["paths"]["/metrics"]["get"]["responses"]
    assert f"1.38-{MAX} (shown)" in put_alloc["description"]
    assert "security" not in put_alloc  # the document-wide token requirement applies
    candidates = doc["paths"]["/allocation_candidates"]["get"]
    assert candidates["description"].startswith(f"Placement microversions 1.10-{MAX}")
    for path in ("/", "/openapi.json", "/healthcheck", "/metrics"):
        assert doc["paths"][path]["get"]["security"] == [], path
    # The scheduler API is not microversioned.
    select = doc["paths"]["/scheduler/v1/select_destinations"]["post"]
    assert "parameters" not in select
    assert select["requestBody"]["required"] is True
    # Where the newest microversion takes no body, none is required.
    rename = doc["paths"]["/resource_classes/{name}"]["put"]
    assert rename["requestBody"]["required"] is False
    assert f"1.7-{MAX} (no body)" in rename["description"]
