"""The dashboard's session, CSRF, policy and input checks, in process (the
pages in a real browser are tests/browser's)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from corral.api.dashboard import render, session
from tests.conftest import make_client

NODE = {
    "nodename": "n1",
    "provider_uuid": "9f0e8a70-0000-4000-8000-000000000001",
}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    raw, _app = make_client(database_url)
    with raw as c:
        yield c


def _csrf(client: TestClient) -> str:
    resp = client.get("/dashboard/login")
    assert resp.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', resp.text)
    assert found is not None
    return found[1]


def _login(client: TestClient, token: str) -> None:
    resp = client.post(
        "/dashboard/login",
        data={"csrf_token": _csrf(client), "token": token, "next": "/dashboard/capacity"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"].endswith("/dashboard/capacity")
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{session.TOKEN_COOKIE}={token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie


def test_pages_need_a_session_and_send_the_login_page_its_csp(client: TestClient) -> None:
    resp = client.get("/dashboard/capacity", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"].endswith("/dashboard/login?next=/dashboard/capacity")
    page = client.get("/dashboard/login")
    assert page.headers["content-security-policy"] == render.CSP
    assert "script-src 'self'" in render.CSP and "unsafe" not in render.CSP
    assert "<script>" not in page.text and " style=" not in page.text


def test_login_then_pages_then_logout(client: TestClient) -> None:
    client.put("/scheduler/v1/hosts/h1", json=NODE, headers={"x-auth-token": "admin"})
    _login(client, "admin")
    overview = client.get("/dashboard")
    assert overview.status_code == 200
    assert 'href="/dashboard/hosts/h1"' in overview.text
    assert client.get("/dashboard/hosts/h1").status_code == 200
    assert (
        client.get("/dashboard/static/htmx.min.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    resp = client.post(
        "/dashboard/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert "Max-Age=0" in resp.headers["set-cookie"]


def test_the_cookie_never_authenticates_the_api(client: TestClient) -> None:
    _login(client, "admin")
    assert client.get("/dashboard").status_code == 200
    # The API reads X-Auth-Token only: the session cookie alone is no token.
    assert client.get("/scheduler/v1/hosts").status_code == 401


def test_a_post_without_the_csrf_token_is_refused_before_anything_runs(
    client: TestClient,
) -> None:
    _csrf(client)
    resp = client.post("/dashboard/login", data={"token": "admin"}, follow_redirects=False)
    assert resp.status_code == 403
    assert "CSRF" in resp.text
    assert session.TOKEN_COOKIE not in resp.headers.get("set-cookie", "")
    _login(client, "admin")
    resp = client.post("/dashboard/explain", data={"csrf_token": "forged", "vcpus": "1"})
    assert resp.status_code == 403


def test_a_non_admin_gets_403_on_every_page(client: TestClient) -> None:
    _login(client, "alice:project-a")
    for path in ("/dashboard", "/dashboard/live", "/dashboard/capacity", "/dashboard/explain"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "scheduler:dashboard:view" in resp.text


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/dashboard/capacity?vcpus=0", "vcpus must be from 1"),
        ("/dashboard/capacity?memory_mb=lots", "memory_mb must be a whole number"),
        ("/dashboard?page=0", "page must be from 1"),
        ("/dashboard/hosts/h1?disk_gb=99999999999", "disk_gb must be a whole number"),
    ],
)
def test_bad_input_is_a_400_page(client: TestClient, path: str, words: str) -> None:
    _login(client, "admin")
    resp = client.get(path)
    assert resp.status_code == 400
    assert words in resp.text


def test_bad_tokens_and_paths(client: TestClient) -> None:
    resp = client.post(
        "/dashboard/login",
        data={"csrf_token": _csrf(client), "token": 'a b"c'},
        follow_redirects=False,
    )
    assert resp.status_code == 400
    assert client.get("/dashboard/static/..%2Fsession.py").status_code == 404
    assert client.get("/dashboard/static/session.py").status_code == 404
    _login(client, "admin")
    assert client.get("/dashboard/hosts/nowhere").status_code == 404


def test_next_stays_on_the_dashboard() -> None:
    assert session.safe_next("https://evil.example/") == "/dashboard"
    assert session.safe_next("//evil.example/dashboard") == "/dashboard"
    assert session.safe_next("/dashboard/hosts/h1") == "/dashboard/hosts/h1"


def test_the_host_map_marks_disabled_and_forced_down_hosts(client: TestClient) -> None:
    admin = {"x-auth-token": "admin"}
    for i, name in enumerate(("h1", "h2", "h3")):
        node = {"nodename": name, "provider_uuid": f"9f0e8a70-0000-4000-8000-00000000000{i}"}
        assert client.put(f"/scheduler/v1/hosts/{name}", json=node, headers=admin).status_code in (
            200,
            201,
        )
    service = "/scheduler/v1/hosts/{}/service"
    assert client.put(service.format("h2"), json={"disabled": True}, headers=admin).is_success
    assert client.put(service.format("h3"), json={"forced_down": True}, headers=admin).is_success
    _login(client, "admin")
    live = client.get("/dashboard/live").text
    assert '<path class="disabled"' in live and '<path class="forced-down"' in live
    assert "1 up · 0 down · 1 disabled · 1 forced down" in live
    rows = client.get("/dashboard").text
    assert 'class="state forced-down">forced down<' in rows
