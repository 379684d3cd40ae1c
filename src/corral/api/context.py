"""Who is asking: the identity and roles a request carries, for policy checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestContext:
    user_id: str | None = None
    project_id: str | None = None
    roles: list[str] = field(default_factory=list)
    system_scope: str | None = None
    request_id: str = ""
    service_roles: list[str] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_policy_values(self) -> dict[str, Any]:
        """The credential dict oslo.policy checks rules against."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": self.roles,
            "system_scope": self.system_scope,
            "service_roles": self.service_roles,
            "domain_id": None,
            "user_domain_id": None,
            "project_domain_id": None,
        }
