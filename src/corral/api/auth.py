"""Authentication strategies: who the caller is, before policy decides what they may do.

`noauth2` trusts the token as `user[:project]`, exactly like upstream Placement's
NoAuthMiddleware followed by its PlacementKeystoneContext: user `admin` is the
only one that gets the admin role unless `X-Roles` says otherwise,
`OpenStack-System-Scope` makes the request system scoped, and the other
identity headers (`X-Project-Id`, `X-Domain-Id`, ...) are read as
keystonemiddleware would have set them. It is for tests and single-node labs;
the launcher refuses it on anything but a loopback address. `keystone`
(corral.api.keystone) validates tokens with keystonemiddleware and reads the
identity headers it sets.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from corral.api.context import RequestContext
from corral.api.errors import Unauthenticated

# Paths readable without a token: the version document and the OpenAPI
# document (corral.api.openapi), which say nothing the source does not, and the
# operator endpoints (corral.api.ops), which guard themselves.
PUBLIC_PATHS = frozenset({"/", "", "/openapi.json", "/healthcheck", "/metrics"})


class UnsafeAuthConfig(ValueError):
    """noauth2 asked for on an address other machines can reach."""


def check_bind_address(auth_strategy: str, host: str) -> None:
    """Refuse noauth2 unless the service listens on loopback only.

    noauth2 believes whatever token it is given, so anyone who can connect is
    admin. Names other than `localhost` are not resolved: what they resolve to
    can change after this check.
    """
    if auth_strategy != "noauth2":
        return
    if host.strip("[]").lower() == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UnsafeAuthConfig(
            f"[api] auth_strategy = noauth2 trusts any token; it may only listen on a "
            f"loopback address (127.0.0.1, ::1, localhost), not {host!r}. "
            "Use auth_strategy = keystone to serve other machines."
        )


class Authenticator(Protocol):
    async def authenticate(self, method: str, path: str, headers: dict[str, str]) -> RequestContext:
        """The caller's context (headers have lower-case names), or a CorralError."""


class NoAuth2:
    async def authenticate(self, method: str, path: str, headers: dict[str, str]) -> RequestContext:
        if path in PUBLIC_PATHS:
            return RequestContext.from_identity_headers(headers)
        token = headers.get("x-auth-token")
        if token is None:
            raise Unauthenticated("")
        user_id, _sep, project_id = token.partition(":")
        identity = dict(headers)
        # What the fake token vouches for replaces anything the caller sent
        # under the same header; the rest is read as keystonemiddleware's output.
        identity["x-user-id"] = user_id
        if not headers.get("openstack-system-scope"):
            identity["x-tenant-id"] = project_id or user_id
        if "x-roles" not in headers:
            identity["x-roles"] = "admin" if user_id == "admin" else ""
        return RequestContext.from_identity_headers(identity)
