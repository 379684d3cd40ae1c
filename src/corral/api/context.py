"""Who is asking: the identity and roles a request carries, for policy checks.

The fields and their sources are oslo.context's: `from_identity_headers`
reads the same headers, in the same order of preference, that
`oslo_context.RequestContext.from_environ` reads from a WSGI environ (the ones
keystonemiddleware sets after validating a token), and `to_policy_values`
gives oslo.policy the same credential keys, so policy rules and policy files
written for upstream Placement mean the same thing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Context field -> identity headers (lower case) that set it, first present wins.
IDENTITY_HEADERS: dict[str, tuple[str, ...]] = {
    "user_id": ("x-user-id", "x-user"),
    "project_id": ("x-project-id", "x-tenant-id", "x-tenant"),
    "domain_id": ("x-domain-id",),
    "system_scope": ("openstack-system-scope",),
    "user_domain_id": ("x-user-domain-id",),
    "project_domain_id": ("x-project-domain-id",),
    "service_user_id": ("x-service-user-id",),
    "service_user_domain_id": ("x-service-user-domain-id",),
    "service_project_id": ("x-service-project-id",),
    "service_project_domain_id": ("x-service-project-domain-id",),
}


def split_roles(value: str | None) -> list[str]:
    """A comma-separated role header as a list (oslo.context strips, keeps empties)."""
    return [r.strip() for r in value.split(",")] if value else []


@dataclass
class RequestContext:
    user_id: str | None = None
    project_id: str | None = None
    roles: list[str] = field(default_factory=list)
    system_scope: str | None = None
    domain_id: str | None = None
    user_domain_id: str | None = None
    project_domain_id: str | None = None
    # Keystone says whether the token's project is the cloud's admin project;
    # oslo.context assumes it is when nobody says, so old policies keep working.
    is_admin_project: bool = True
    service_user_id: str | None = None
    service_user_domain_id: str | None = None
    service_project_id: str | None = None
    service_project_domain_id: str | None = None
    service_roles: list[str] = field(default_factory=list)
    request_id: str = ""

    @classmethod
    def from_identity_headers(cls, headers: Mapping[str, str]) -> RequestContext:
        """The context the identity headers describe (lower-case header names)."""
        values: dict[str, Any] = {}
        for name, sources in IDENTITY_HEADERS.items():
            for header in sources:
                if header in headers:
                    values[name] = headers[header]
                    break
        roles = headers.get("x-roles", headers.get("x-role"))
        return cls(
            **values,
            roles=split_roles(roles),
            service_roles=split_roles(headers.get("x-service-roles")),
            is_admin_project=headers.get("x-is-admin-project", "true").lower() == "true",
        )

    def to_policy_values(self) -> dict[str, Any]:
        """The credential dict oslo.policy checks rules against (oslo.context's keys)."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "roles": list(self.roles),
            "is_admin_project": self.is_admin_project,
            "service_user_id": self.service_user_id,
            "service_user_domain_id": self.service_user_domain_id,
            "service_project_id": self.service_project_id,
            "service_project_domain_id": self.service_project_domain_id,
            "service_roles": list(self.service_roles),
        }
