"""`[api] auth_strategy = keystone` against a real Keystone (keystone 30.0.0 from PyPI).

`corral serve` runs as a real process, its keystonemiddleware logging in to
Keystone as a service user and validating the tokens Keystone issues to the
admin, a project member, a project reader, a user with no role and the
service user itself. Policy is corral's default, upstream Placement 16.0.0's
new defaults: most routes (and every /scheduler/v1 one) admin or service only;
GET /usages also a reader of the project asked about.
"""

from __future__ import annotations

import datetime
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.real_keystone import SHORT_EXPIRATION_S, RealKeystone
from tests.functional.test_launcher import Service

# keystonemiddleware's token cache, kept short so that a revocation shows
# within the suite (its default is 300 s).
TOKEN_CACHE_S = 2
REJECTION = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}
VERSION = {"openstack-api-version": "placement latest", "accept": "application/json"}


@pytest.fixture(scope="module")
def stack(
    keystone_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RealKeystone, str]]:
    """Keystone set up and serving, and `corral serve` validating its tokens.
    corral starts while Keystone is being set up: keystonemiddleware first
    reaches Keystone on the first request that carries a token."""
    ks = RealKeystone(tmp_path_factory.mktemp("keystone"), keystone_python)
    tmp = tmp_path_factory.mktemp("corral")
    svc: Service | None = None
    try:
        ks.start()
        conf = "[api]\nauth_strategy = keystone\n" + ks.authtoken_section(
            token_cache_time=TOKEN_CACHE_S
        )
        svc = Service(tmp, f"sqlite:///{tmp / 'corral.db'}", conf, workers=1)
        ks.ready()
        svc.wait_workers(1)
        yield ks, svc.url
    finally:
        try:
            if svc is not None:
                svc.stop()
        except subprocess.TimeoutExpired:
            svc.proc.kill()
            svc.proc.wait(30)
        finally:
            ks.stop()


@pytest.fixture(scope="module")
def keystone(stack: tuple[RealKeystone, str]) -> RealKeystone:
    return stack[0]


@pytest.fixture(scope="module")
def corral(stack: tuple[RealKeystone, str]) -> str:
    return stack[1]


def call(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    json: Any = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {**VERSION, **(extra or {})}
    if token is not None:
        headers["x-auth-token"] = token
    return httpx.request(method, base + path, headers=headers, json=json, timeout=30)


ADMIN_ONLY = [
    ("GET", "/resource_providers"),
    ("GET", "/traits"),
    ("GET", "/scheduler/v1/hosts"),
    ("GET", "/scheduler/v1/server_groups"),
]


def test_public_paths_need_no_token(corral: str) -> None:
    for path in ("/", "/healthcheck", "/openapi.json"):
        assert call(corral, "GET", path).status_code == 200, path


def test_no_token_and_a_garbage_token_are_401_naming_keystone(
    corral: str, keystone: RealKeystone
) -> None:
    for token in (None, "garbage"):
        for path in (
            "/resource_providers",
            "/scheduler/v1/hosts",
            f"/usages?project_id={keystone.project_id}",
        ):
            resp = call(corral, "GET", path, token)
            assert resp.status_code == 401, (token, path, resp.text)
            assert resp.headers["www-authenticate"] == f'Keystone uri="{keystone.url}"'
            # keystonemiddleware's own rejection, as upstream Placement sends it.
            assert resp.headers["content-type"].startswith("application/json")
            assert resp.json() == REJECTION


def test_admin_may_use_placement_and_the_scheduler(corral: str, keystone: RealKeystone) -> None:
    token, body = keystone.token("admin")
    assert {r["name"] for r in body["roles"]} >= {"admin", "member", "reader"}
    created = call(corral, "POST", "/resource_providers", token, json={"name": "rp-admin"})
    assert created.status_code == 200, created.text
    for method, path in ADMIN_ONLY:
        assert call(corral, method, path, token).status_code == 200, path
    listed = call(corral, "GET", "/resource_providers", token).json()["resource_providers"]
    assert "rp-admin" in {rp["name"] for rp in listed}
    # An admin sees any project's usage.
    for project in (keystone.project_id, keystone.other_project_id):
        assert call(corral, "GET", f"/usages?project_id={project}", token).status_code == 200


def test_service_role_may_use_placement(corral: str, keystone: RealKeystone) -> None:
    token, body = keystone.token("corral")
    assert [r["name"] for r in body["roles"]] == ["service"]
    for method, path in ADMIN_ONLY:
        assert call(corral, method, path, token).status_code == 200, path
    created = call(corral, "POST", "/resource_providers", token, json={"name": "rp-service"})
    assert created.status_code == 200, created.text


@pytest.mark.parametrize("who", ["member", "reader"])
def test_project_users_are_403_on_admin_routes_and_read_their_own_usage(
    corral: str, keystone: RealKeystone, who: str
) -> None:
    token, body = keystone.token(who)
    assert body["project"]["id"] == keystone.project_id
    for method, path in ADMIN_ONLY:
        resp = call(corral, method, path, token)
        assert resp.status_code == 403, (path, resp.text)
    refused = call(corral, "POST", "/resource_providers", token, json={"name": f"rp-{who}"})
    assert refused.status_code == 403
    detail = refused.json()["errors"][0]["detail"]
    assert "Policy does not allow placement:resource_providers:create to be performed." in detail
    # Identity headers a caller sends are stripped: only the token speaks.
    forged = {"x-roles": "admin", "x-service-roles": "service", "x-project-id": "admin"}
    resp = call(corral, "GET", "/resource_providers", token, extra=forged)
    assert resp.status_code == 403, resp.text
    own = call(corral, "GET", f"/usages?project_id={keystone.project_id}", token)
    assert own.status_code == 200, own.text
    assert own.json() == {"usages": {}}
    other = call(corral, "GET", f"/usages?project_id={keystone.other_project_id}", token)
    assert other.status_code == 403


def test_a_user_with_no_role_is_refused(corral: str, keystone: RealKeystone) -> None:
    # No role on any project: Keystone issues it an unscoped token only.
    token, body = keystone.token("norole")
    assert "project" not in body and "roles" not in body
    for method, path in [*ADMIN_ONLY, ("GET", f"/usages?project_id={keystone.project_id}")]:
        resp = call(corral, method, path, token)
        assert resp.status_code == 403, (path, resp.status_code, resp.text)


def test_a_revoked_token_is_401_once_the_token_cache_lets_it_go(
    corral: str, keystone: RealKeystone
) -> None:
    token, _body = keystone.token("admin")
    assert call(corral, "GET", "/resource_providers", token).status_code == 200
    keystone.revoke(token)
    assert keystone.validate(token) == 404
    # keystonemiddleware keeps a validated token for token_cache_time seconds;
    # past that it asks Keystone again and learns of the revocation.
    revoked_at = time.monotonic()
    deadline = revoked_at + TOKEN_CACHE_S + 15
    while True:
        resp = call(corral, "GET", "/resource_providers", token)
        if resp.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == f'Keystone uri="{keystone.url}"'
    assert resp.json() == REJECTION
    assert time.monotonic() - revoked_at < TOKEN_CACHE_S + 15


def test_an_expired_token_is_401(corral: str, keystone: RealKeystone) -> None:
    token, body = keystone.token("admin", short=True)
    expires = datetime.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    issued = datetime.datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert (expires - issued).total_seconds() == pytest.approx(SHORT_EXPIRATION_S, abs=1)
    fresh = call(corral, "GET", "/resource_providers", token)
    if datetime.datetime.now(datetime.UTC) < expires:
        assert fresh.status_code == 200, fresh.text
    wait = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() + 1
    time.sleep(max(wait, 0))
    # Cached (validated a moment ago) or not, an expired token is refused.
    resp = call(corral, "GET", "/resource_providers", token)
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == f'Keystone uri="{keystone.url}"'
    assert resp.json() == REJECTION
    assert keystone.validate(token) == 404
