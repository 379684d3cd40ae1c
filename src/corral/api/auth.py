"""Authentication strategies: who the caller is, before policy decides what they may do.

`noauth2` trusts the token as `user[:project]`, exactly like upstream Placement's
NoAuthMiddleware (user `admin` is the only one that gets the admin role unless
`X-Roles` says otherwise). It is for tests and single-node labs; the launcher
refuses it on anything but a loopback address. `keystone` validates tokens with
keystonemiddleware and reads the identity headers it sets.
"""

from __future__ import annotations

from typing import Protocol

from corral.api.context import RequestContext
from corral.errors import Unauthorized

# Paths readable without a token: the version document.
PUBLIC_PATHS = frozenset({"/", ""})


class Authenticator(Protocol):
    def authenticate(self, path: str, headers: dict[str, str]) -> RequestContext:
        """The caller's context, or Unauthorized."""


def _split_roles(value: str) -> list[str]:
    return [r.strip() for r in value.split(",") if r.strip()]


class NoAuth2:
    def authenticate(self, path: str, headers: dict[str, str]) -> RequestContext:
        if path in PUBLIC_PATHS:
            return RequestContext()
        token = headers.get("x-auth-token")
        if token is None:
            raise Unauthorized("")
        user_id, _sep, project_id = token.partition(":")
        project_id = project_id or user_id
        if "x-roles" in headers:
            roles = _split_roles(headers["x-roles"])
        elif user_id == "admin":
            roles = ["admin"]
        else:
            roles = []
        system_scope = headers.get("openstack-system-scope") or None
        return RequestContext(
            user_id=user_id or None,
            project_id=None if system_scope else project_id,
            roles=roles,
            system_scope=system_scope,
        )
