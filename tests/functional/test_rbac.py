"""Who may do what, end to end through noauth2 and policy, under each conformance profile."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from corral.conf import new_conf
from corral.service.appfactory import build_app
from tests.conftest import make_client
from tests.keystone_double import authtoken_section, fake_keystone

SYSTEM_ADMIN = {"x-roles": "admin,member,reader", "openstack-system-scope": "all"}
PROJECT_ADMIN = {"x-roles": "admin,member,reader"}
MEMBER = {"x-roles": "member,reader"}
READER = {"x-roles": "reader"}
SERVICE = {"x-roles": "service"}


class Caller:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        token: str = "user",
        json: Any = None,
    ) -> Any:
        hdrs = {
            "x-auth-token": token,
            "accept": "application/json",
            "openstack-api-version": "placement latest",
            **headers,
        }
        return self.client.request(method, path, headers=hdrs, json=json)


@pytest.fixture(params=["default", "secure-rbac", "open-policy"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def caller(database_url: str, profile: str) -> Iterator[Caller]:
    client, _app = make_client(database_url, profile)
    with client:
        yield Caller(client)


@pytest.fixture
def legacy(database_url: str) -> Iterator[Caller]:
    yield from caller(database_url, "default")


@pytest.fixture
def secure(database_url: str) -> Iterator[Caller]:
    yield from caller(database_url, "secure-rbac")


@pytest.fixture
def open_policy(database_url: str) -> Iterator[Caller]:
    yield from caller(database_url, "open-policy")


def create_rp(call: Caller, headers: dict[str, str], token: str = "user") -> Any:
    return call(
        "POST", "/resource_providers", headers, token=token, json={"name": uuid.uuid4().hex}
    )


def test_legacy_admin_token_and_service_role_may_write(legacy: Caller) -> None:
    assert create_rp(legacy, {}, token="admin").status_code == 200
    assert create_rp(legacy, SERVICE).status_code == 200
    assert create_rp(legacy, PROJECT_ADMIN).status_code == 200


def test_legacy_roleless_member_and_reader_are_forbidden(legacy: Caller) -> None:
    for headers in ({}, MEMBER, READER):
        resp = create_rp(legacy, headers)
        assert resp.status_code == 403
        err = resp.json()["errors"][0]
        assert err["title"] == "Forbidden"
        assert err["code"] == "placement.undefined_code"
        assert (
            "Policy does not allow placement:resource_providers:create to be performed."
            in err["detail"]
        )
    assert legacy("GET", "/resource_providers", MEMBER).status_code == 403


def test_secure_rbac_admin_and_service_only(secure: Caller) -> None:
    assert secure("GET", "/resource_providers", PROJECT_ADMIN).status_code == 200
    assert secure("GET", "/resource_providers", SERVICE).status_code == 200
    assert secure("GET", "/traits", SERVICE).status_code == 200
    for headers in (MEMBER, READER, {}):
        assert secure("GET", "/resource_providers", headers).status_code == 403
        assert secure("GET", "/traits", headers).status_code == 403


def test_system_scope_is_refused_under_every_profile(database_url: str, profile: str) -> None:
    for call in caller(database_url, profile):
        assert call("GET", "/resource_providers", SYSTEM_ADMIN).status_code == 403
        assert create_rp(call, SYSTEM_ADMIN).status_code == 403
        assert call("GET", "/traits", SYSTEM_ADMIN).status_code == 403


def test_open_policy_lets_any_project_user_in(open_policy: Caller) -> None:
    resp = create_rp(open_policy, {})
    assert resp.status_code == 200
    rp = resp.json()["uuid"]
    assert open_policy("GET", f"/resource_providers/{rp}", READER).status_code == 200
    assert open_policy("GET", f"/resource_providers/{rp}/aggregates", {}).status_code == 200
    assert open_policy("DELETE", f"/resource_providers/{rp}", {}).status_code == 204


def test_forbidden_is_decided_before_the_body_is_read(legacy: Caller) -> None:
    # Policy comes first, as upstream: a refused caller learns nothing from
    # validation errors about the body it sent.
    resp = legacy("POST", "/resource_providers", MEMBER, json={"bogus": True})
    assert resp.status_code == 403


@pytest.fixture
def keystone_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app with `auth_strategy = keystone`, validating against the Keystone double."""
    with fake_keystone() as url:
        config = tmp_path / "corral.conf"
        config.write_text(
            "[api]\nauth_strategy = keystone\n"
            "[oslo_policy]\nenforce_new_defaults = false\n" + authtoken_section(url)
        )
        conf = new_conf()
        conf(["--config-file", str(config)], project="corral", default_config_files=[])
        with TestClient(build_app(conf, database_url)) as client:
            yield client


def test_keystone_strategy_end_to_end(keystone_client: TestClient) -> None:
    headers = {"accept": "application/json"}
    assert keystone_client.get("/", headers=headers).status_code == 200
    missing = keystone_client.get("/resource_providers", headers=headers)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Keystone uri="http://127.0.0.1:')
    assert missing.json()["error"]["message"] == (
        "The request you have made requires authentication."
    )
    forged = {**headers, "x-auth-token": "forged", "x-roles": "admin", "x-user-id": "admin"}
    assert keystone_client.get("/resource_providers", headers=forged).status_code == 401
    # A valid member token: authenticated, but the legacy defaults want admin.
    member = {**headers, "x-auth-token": "good", "x-roles": "admin"}
    resp = keystone_client.get("/resource_providers", headers=member)
    assert resp.status_code == 403
    # System scope from Keystone is honoured, and refused by the project-scoped rules.
    system = {**headers, "x-auth-token": "system"}
    assert keystone_client.get("/resource_providers", headers=system).status_code == 403
