"""noauth2 and the keystonemiddleware adapter.

The keystone tests run keystonemiddleware for real against a small Keystone
double on 127.0.0.1 (version document and token validation only), or against
a closed loopback port for "Keystone unreachable"; nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from corral.api.auth import NoAuth2, UnsafeAuthConfig, check_bind_address
from corral.api.context import RequestContext
from corral.api.errors import IdentityUnavailable, Unauthenticated
from corral.api.keystone import KeystoneAuth, wsgi_environ
from corral.conf import new_conf
from tests.keystone_double import authtoken_section, closed_port_url, fake_keystone

PATH = "/resource_providers"


def noauth(headers: dict[str, str], path: str = PATH) -> RequestContext:
    return anyio.run(NoAuth2().authenticate, "GET", path, headers)


# ---------------------------------------------------------------- noauth2


def test_noauth_requires_a_token() -> None:
    with pytest.raises(Unauthenticated) as err:
        noauth({})
    assert err.value.status == 401


def test_noauth_root_needs_no_token() -> None:
    assert noauth({}, path="/").user_id is None


def test_noauth_admin_token_gets_admin_role() -> None:
    ctx = noauth({"x-auth-token": "admin"})
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ("admin", "admin", ["admin"])


def test_noauth_user_project_token_has_no_roles() -> None:
    ctx = noauth({"x-auth-token": "alice:p1"})
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ("alice", "p1", [])


def test_noauth_x_roles_replaces_roles_and_is_stripped() -> None:
    ctx = noauth({"x-auth-token": "admin", "x-roles": "reader, member"})
    assert ctx.roles == ["reader", "member"]


def test_noauth_system_scope_drops_the_token_project() -> None:
    ctx = noauth({"x-auth-token": "user", "openstack-system-scope": "all", "x-roles": "admin"})
    assert (ctx.system_scope, ctx.project_id) == ("all", None)


def test_noauth_x_project_id_wins_as_with_upstream() -> None:
    # Upstream's context reads X-Project-Id before the X-Tenant-Id noauth sets.
    ctx = noauth({"x-auth-token": "user", "x-project-id": "p9", "x-domain-id": "d1"})
    assert (ctx.project_id, ctx.domain_id) == ("p9", "d1")


def test_noauth_user_comes_from_the_token_only() -> None:
    ctx = noauth({"x-auth-token": "bob", "x-user-id": "admin", "x-user": "admin"})
    assert ctx.user_id == "bob"


def test_wsgi_environ_drops_underscore_header_names() -> None:
    environ = wsgi_environ("GET", PATH, {"x_user_id": "evil", "x-auth-token": "t"})
    assert "HTTP_X_USER_ID" not in environ
    assert environ["HTTP_X_AUTH_TOKEN"] == "t"


# ---------------------------------------------------------------- keystone


@pytest.fixture(scope="module")
def keystone_url() -> Iterator[str]:
    with fake_keystone() as url:
        yield url


def keystone_auth(tmp_path: Path, url: str, *, delay: bool = False) -> KeystoneAuth:
    """KeystoneAuth configured from a [keystone_authtoken] section, as an operator would."""
    config = tmp_path / "corral.conf"
    config.write_text(authtoken_section(url, delay=delay))
    conf = new_conf()
    conf(["--config-file", str(config)], project="corral", default_config_files=[])
    return KeystoneAuth(conf)


def test_keystone_no_token_is_401_with_challenge(tmp_path: Path, keystone_url: str) -> None:
    auth = keystone_auth(tmp_path, keystone_url)
    with pytest.raises(Unauthenticated) as err:
        auth.validate("GET", PATH, {})
    assert err.value.challenge == f'Keystone uri="{keystone_url}"'
    assert "requires authentication" in err.value.detail
    # keystonemiddleware's own answer, passed on verbatim.
    assert err.value.content_type == "application/json"
    assert err.value.body is not None
    assert json.loads(err.value.body)["error"]["code"] == 401


def test_keystone_bad_token_is_401(tmp_path: Path, keystone_url: str) -> None:
    auth = keystone_auth(tmp_path, keystone_url)
    with pytest.raises(Unauthenticated):
        auth.validate("GET", PATH, {"x-auth-token": "forged"})


def test_keystone_good_token_sets_identity(tmp_path: Path, keystone_url: str) -> None:
    auth = keystone_auth(tmp_path, keystone_url)
    spoofed = {
        "x-user-id": "admin",
        "x-roles": "admin",
        "x-project-id": "other",
        "openstack-system-scope": "all",
        "x-is-admin-project": "true",
    }
    ctx = auth.validate("GET", PATH, {"x-auth-token": "good", **spoofed})
    assert (ctx.user_id, ctx.project_id) == ("u1", "p1")
    assert ctx.roles == ["member", "reader"]
    assert ctx.system_scope is None
    assert ctx.user_domain_id == "default"
    assert ctx.is_admin_project is False


def test_keystone_system_scoped_token(tmp_path: Path, keystone_url: str) -> None:
    ctx = keystone_auth(tmp_path, keystone_url).validate("GET", PATH, {"x-auth-token": "system"})
    assert (ctx.system_scope, ctx.project_id, ctx.roles) == ("all", None, ["admin"])


def test_keystone_delay_auth_decision_without_token_is_401(
    tmp_path: Path, keystone_url: str
) -> None:
    # AuthProtocol lets the request through unidentified; corral refuses it,
    # and the challenge is still there.
    auth = keystone_auth(tmp_path, keystone_url, delay=True)
    with pytest.raises(Unauthenticated) as err:
        auth.validate("GET", PATH, {})
    assert err.value.challenge == f'Keystone uri="{keystone_url}"'
    assert err.value.body is None


def test_keystone_delay_auth_decision_with_good_token(tmp_path: Path, keystone_url: str) -> None:
    auth = keystone_auth(tmp_path, keystone_url, delay=True)
    assert auth.validate("GET", PATH, {"x-auth-token": "good"}).user_id == "u1"


def test_keystone_unreachable_is_503(tmp_path: Path) -> None:
    auth = keystone_auth(tmp_path, closed_port_url())
    with pytest.raises(IdentityUnavailable) as err:
        auth.validate("GET", PATH, {"x-auth-token": "good"})
    assert err.value.status == 503


def test_keystone_unreachable_with_delay_is_401(tmp_path: Path) -> None:
    auth = keystone_auth(tmp_path, closed_port_url(), delay=True)
    with pytest.raises(Unauthenticated):
        auth.validate("GET", PATH, {"x-auth-token": "good"})


def test_keystone_authenticate_runs_in_a_thread_and_skips_root(
    tmp_path: Path, keystone_url: str
) -> None:
    auth = keystone_auth(tmp_path, keystone_url)
    assert anyio.run(auth.authenticate, "GET", "/", {}).user_id is None
    ctx = anyio.run(auth.authenticate, "GET", PATH, {"x-auth-token": "good"})
    assert ctx.project_id == "p1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_noauth_may_listen_on_loopback(host: str) -> None:
    check_bind_address("noauth2", host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "api.example.com", ""])
def test_noauth_refuses_reachable_addresses(host: str) -> None:
    with pytest.raises(UnsafeAuthConfig, match="loopback"):
        check_bind_address("noauth2", host)


def test_keystone_may_listen_anywhere() -> None:
    check_bind_address("keystone", "0.0.0.0")
