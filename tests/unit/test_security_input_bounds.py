"""Every documented input limit of the HTTP API, exceeded by one request each.

The limits are options ([api] max_request_body_bytes, max_query_string_bytes,
max_header_bytes) plus fixed bounds on the path and the number of query
parameters (corral.api.app.Limits); each is checked before authentication or
any handler runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from corral.api.app import Limits
from corral.conf import new_conf
from corral.service.appfactory import build_app

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement latest"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("auth_strategy", "noauth2", group="api")
    conf.set_override("max_request_body_bytes", 1024, group="api")
    conf.set_override("max_query_string_bytes", 256, group="api")
    conf.set_override("max_header_bytes", 4096, group="api")
    with TestClient(build_app(conf, database_url)) as c:
        yield c


def detail(resp: object) -> str:
    """The error's own sentence (Placement prefixes WebOb's stock text to it)."""
    text = str(resp.json()["errors"][0]["detail"])  # type: ignore[attr-defined]
    return text.strip().splitlines()[-1].strip()


def test_body_over_limit(client: TestClient) -> None:
    body = b'{"name": "' + b"x" * 1100 + b'"}'
    resp = client.post(
        "/resource_providers",
        content=body,
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert resp.status_code == 413
    assert detail(resp) == "Request body is larger than 1024 bytes."
    assert client.get("/resource_providers", headers=HEADERS).json()["resource_providers"] == []


def test_body_at_limit_is_read(client: TestClient) -> None:
    body = b'{"name": "' + b"x" * 250 + b'"}'
    resp = client.post(
        "/resource_providers",
        content=body,
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert resp.status_code == 400  # read, then refused by the schema (name too long)


def test_headers_over_limit(client: TestClient) -> None:
    resp = client.get("/resource_providers", headers={**HEADERS, "x-padding": "p" * 4200})
    assert resp.status_code == 431
    assert detail(resp).startswith("Request line and headers are ")
    assert detail(resp).endswith("bytes; the limit is 4096.")


def test_query_string_over_limit(client: TestClient) -> None:
    resp = client.get("/resource_providers?name=" + "n" * 300, headers=HEADERS)
    assert resp.status_code == 400
    assert detail(resp) == "Query string is 305 bytes; the limit is 256."


def test_too_many_query_parameters(database_url: str) -> None:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("auth_strategy", "noauth2", group="api")
    with TestClient(build_app(conf, database_url)) as c:
        count = Limits().max_query_params + 1
        resp = c.get("/resource_providers?" + "&".join(["a=1"] * count), headers=HEADERS)
    assert resp.status_code == 400
    assert detail(resp) == f"{count} query parameters; the limit is {count - 1}."


def test_path_over_limit(client: TestClient) -> None:
    resp = client.get("/resource_providers/" + "u" * 2100, headers=HEADERS)
    assert resp.status_code == 400
    assert detail(resp) == "Path is longer than 2048 bytes."
