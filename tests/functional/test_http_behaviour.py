"""HTTP-level behaviour of the Placement API, as upstream's basic-http, microversion and
CORS gabbits expect it, plus the header-size limit.

The tests at the end run the app under uvicorn with corral's HTTP protocol on a
loopback port, because what they check (a Content-Length that is no integer, an
endless header block) is decided by the HTTP parser before the app sees the request.
"""

from __future__ import annotations

import select
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from corral.api.cors import CorsPolicy
from corral.conf import new_conf
from tests.conftest import PlacementClient, make_client
from tests.functional.served_app import served

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def error(resp: Any) -> dict[str, Any]:
    errors: list[dict[str, Any]] = resp.json()["errors"]
    return errors[0]


def test_unknown_path_is_404_with_request_id(api: PlacementClient) -> None:
    resp = api.get("/barnabas", version="1.23")
    assert resp.status_code == 404
    err = error(resp)
    assert err["title"] == "Not Found"
    assert err["code"] == "placement.undefined_code"
    assert err["request_id"] == resp.headers["x-openstack-request-id"]


def test_unknown_method_is_405_with_allow(api: PlacementClient) -> None:
    resp = api.delete("/resource_providers")
    assert resp.status_code == 405
    assert sorted(resp.headers["allow"].split(", ")) == ["GET", "POST"]
    assert "The method DELETE is not allowed for this resource." in error(resp)["detail"]


def test_options_without_cors_is_405(api: PlacementClient) -> None:
    resp = api.request(
        "OPTIONS",
        "/",
        headers={"origin": "http://valid.example.com", "access-control-request-method": "GET"},
    )
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET"
    assert "access-control-allow-origin" not in resp.headers


def test_get_refuses_accept_without_json(api: PlacementClient) -> None:
    resp = api.get("/resource_providers", headers={"accept": "text/plain"})
    assert resp.status_code == 406
    assert "Only application/json is provided" in resp.text
    no_wildcard = "text/html,application/xhtml+xml,application/xml;q=0.9"
    assert api.get("/resource_providers", headers={"accept": no_wildcard}).status_code == 406


def test_browser_accept_with_wildcard_gets_json(api: PlacementClient) -> None:
    resp = api.get("/resource_providers", headers={"accept": BROWSER_ACCEPT})
    assert resp.status_code == 200
    assert resp.json() == {"resource_providers": []}


def test_body_with_wrong_content_type_is_415(api: PlacementClient) -> None:
    resp = api.post(
        "/resource_providers", content=b"a provider please", headers={"content-type": "text/plain"}
    )
    assert resp.status_code == 415


def test_body_without_content_type_is_400(api: PlacementClient) -> None:
    resp = api.post("/resource_providers", content=b"a provider please")
    assert resp.status_code == 400
    assert "content-type header required" in error(resp)["detail"]


def test_put_without_body_reaches_the_handler(api: PlacementClient) -> None:
    resp = api.put(f"/resource_providers/{uuid.uuid4()}")
    assert resp.status_code == 415
    assert "The media type None is not supported, use application/json" in resp.text


def test_error_in_html_when_accept_prefers_it(api: PlacementClient) -> None:
    resp = api.get("/", version="0.5", headers={"accept": "text/html"})
    assert resp.status_code == 406
    assert resp.headers["content-type"].startswith("text/html")
    assert "Unacceptable version header: 0.5" in resp.text


def test_starred_accept_errors_are_json(api: PlacementClient) -> None:
    resp = api.get("/resource_providers/foo", headers={"accept": "*/*"})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/json"


def test_microversion_headers_on_errors(api: PlacementClient) -> None:
    resp = api.post("/", version="1.0", headers={"content-type": "application/xml"})
    assert resp.status_code == 405
    assert resp.headers["openstack-api-version"] == "placement 1.0"
    assert "openstack-api-version" in resp.headers["vary"]
    # A raised error (not the router's own 405) carries the version but no Vary.
    missing = api.get("/barnabas", version="1.5")
    assert missing.headers["openstack-api-version"] == "placement 1.5"
    assert "vary" not in missing.headers


def test_unauthenticated_follows_accept_like_other_errors(api: PlacementClient) -> None:
    resp = api.client.get("/resource_providers", headers={"accept": "text/html"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "text/html; charset=UTF-8"
    assert "<h1>401 Unauthorized</h1>" in resp.text
    assert "www-authenticate" not in resp.headers


def test_html_and_plain_errors_render_like_webob(api: PlacementClient) -> None:
    html = api.get("/resource_providers", headers={"accept": "text/html"}, version="1.0")
    assert html.status_code == 406
    assert html.headers["content-type"] == "text/html; charset=UTF-8"
    assert html.text == (
        "<html>\n <head>\n  <title>406 Not Acceptable</title>\n </head>\n <body>\n"
        "  <h1>406 Not Acceptable</h1>\n"
        "  The resource could not be generated that was acceptable to your browser\n"
        "(content of type text/html. <br /><br />\nOnly application/json is provided\n"
        " </body>\n</html>"
    )
    plain = api.delete("/resource_providers", headers={"accept": "text/plain"})
    assert plain.status_code == 405
    assert plain.headers["allow"]
    assert plain.text == (
        "405 Method Not Allowed\n\nThe method DELETE is not allowed for this resource. \n\n"
        " The method specified is not allowed for this resource."
    )


def test_oversized_headers_are_431(api: PlacementClient) -> None:
    resp = api.get("/resource_providers", headers={"x-padding": "a" * (16 * 1024)})
    assert resp.status_code == 431
    assert error(resp)["title"] == "Request Header Fields Too Large"
    ok = api.get("/resource_providers", headers={"x-padding": "a" * (8 * 1024)})
    assert ok.status_code == 200


def test_cors_preflight_and_simple_request(database_url: str) -> None:
    client, _app = make_client(database_url, "cors")
    with client:
        preflight = client.options(
            "/",
            headers={
                "origin": "http://valid.example.com",
                "access-control-request-method": "GET",
                "access-control-request-headers": "openstack-api-version",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://valid.example.com"
        assert preflight.headers["access-control-allow-headers"] == "openstack-api-version"
        other = client.options(
            "/",
            headers={
                "origin": "http://invalid.example.com",
                "access-control-request-method": "GET",
            },
        )
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers
        simple = client.get("/", headers={"origin": "http://valid.example.com"})
        assert simple.headers["access-control-allow-origin"] == "http://valid.example.com"
        assert simple.headers["vary"] == "openstack-api-version,Origin"
        # Every OPTIONS is a preflight once CORS is on, token or not.
        bare = client.options("/resource_providers")
        assert (bare.status_code, bare.content) == (200, b"")
        assert "access-control-allow-origin" not in bare.headers
        # An error answer from an allowed origin is decorated too.
        denied = client.get("/resource_providers", headers={"origin": "http://valid.example.com"})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == "http://valid.example.com"


def test_cors_policy_follows_oslo_middleware() -> None:
    policy = CorsPolicy(allowed_origins=("*",), allow_headers=("X-Auth-Token",), max_age=0)
    ask = {"origin": "http://a.example", "access-control-request-method": "GET"}
    resp = policy.preflight({**ask, "access-control-request-headers": "x-auth-token, Accept"})
    headers = dict(resp.headers)
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-headers"] == "x-auth-token,Accept"
    assert "access-control-max-age" not in headers
    assert not policy.preflight({**ask, "access-control-request-method": "get"}).headers
    assert not policy.preflight({**ask, "access-control-request-headers": "x-evil"}).headers


# ------------------------------------------------------------ under uvicorn

MAX_HEADER_BYTES = 8 * 1024


@pytest.fixture
def server_port(database_url: str) -> Iterator[int]:
    """The app served by uvicorn exactly as `corral serve` configures it."""
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("max_header_bytes", MAX_HEADER_BYTES, group="api")
    with served(conf, database_url) as port:
        yield port


def raw_exchange(port: int, *chunks: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
            # A pause, so the server reads each chunk on its own; stop sending
            # once it has answered (it closes the connection after an error).
            readable, _w, _x = select.select([sock], [], [], 0.05)
            if readable:
                break
        data = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    head, _sep, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _c, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_served_bad_content_length_is_placement_400(server_port: int) -> None:
    request = (
        b"POST /resource_providers HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: admin\r\n"
        b"Content-Type: application/json\r\nContent-Length: hi mom\r\n\r\n{}"
    )
    status, headers, body = raw_exchange(server_port, request)
    assert status == 400
    assert headers["content-type"] == "application/json"
    err = orjson.loads(body)["errors"][0]
    assert err["title"] == "Bad Request"
    assert "content-length header must be an integer" in err["detail"]
    assert err["request_id"] == headers["x-openstack-request-id"]


def test_served_endless_header_block_is_431(server_port: int) -> None:
    # The header block never ends: the parser gives up once it holds more
    # than the limit, instead of buffering whatever the client sends.
    start = b"GET /resource_providers HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: admin\r\n"
    padding = [b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(12)]
    status, _headers, body = raw_exchange(server_port, start, *padding)
    assert status == 431
    assert orjson.loads(body)["errors"][0]["status"] == 431


def test_served_large_complete_header_block_is_431(server_port: int) -> None:
    request = (
        b"GET /resource_providers HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: admin\r\n"
        b"X-Pad: " + b"a" * (MAX_HEADER_BYTES + 100) + b"\r\nConnection: close\r\n\r\n"
    )
    status, _headers, body = raw_exchange(server_port, request)
    assert status == 431
    assert "Request line and headers are" in orjson.loads(body)["errors"][0]["detail"]


def test_served_normal_request_still_works(server_port: int) -> None:
    request = (
        b"GET /resource_providers HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: admin\r\n"
        b"Accept: application/json\r\nConnection: close\r\n\r\n"
    )
    status, _headers, body = raw_exchange(server_port, request)
    assert status == 200
    assert orjson.loads(body) == {"resource_providers": []}
