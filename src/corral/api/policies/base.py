"""The base rules every Placement API rule refers to, as upstream Placement 16.0.0 has them.

Every API rule is scoped to projects. Under the legacy defaults
(`[oslo_policy] enforce_new_defaults = False`) oslo.policy ORs each new check
string with the deprecated `role:admin`, so an admin keeps every right it had
before the reader/member/service roles existed.
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN_API = "admin_api"
SERVICE_API = "service_api"
ADMIN_OR_SERVICE_API = "admin_or_service_api"
PROJECT_READER_API = "project_reader_api"
ADMIN_OR_PROJECT_READER_OR_SERVICE_API = "admin_or_project_reader_or_service_api"

# Check strings the API rules use.
ADMIN_OR_SERVICE = f"rule:{ADMIN_OR_SERVICE_API}"
ADMIN = f"rule:{ADMIN_API}"
SERVICE = f"rule:{SERVICE_API}"
ADMIN_OR_PROJECT_READER_OR_SERVICE = f"rule:{ADMIN_OR_PROJECT_READER_OR_SERVICE_API}"

PROJECT_SCOPE = ["project"]

_DEPRECATED_REASON = """
Placement API policies are introducing new default roles with scope_type
capabilities. Old policies are deprecated and silently going to be ignored
in the placement 6.0.0 (Xena) release.
"""
# oslo_log's versionutils.deprecated.WALLABY; spelled out to keep oslo.log out.
_WALLABY = "W"


def deprecated_admin() -> policy.DeprecatedRule:
    """The legacy `role:admin` default that the new rules replace.

    Upstream names it `rule:admin_api` (a name, not a reference); kept verbatim
    because oslo.policy reports it in deprecation messages and policy files.
    """
    return policy.DeprecatedRule(
        name=f"rule:{ADMIN_API}",
        check_str="role:admin",
        deprecated_reason=_DEPRECATED_REASON,
        deprecated_since=_WALLABY,
    )


def api_rule(
    name: str,
    check_str: str,
    description: str,
    operations: list[tuple[str, str]],
) -> policy.DocumentedRuleDefault:
    """A project-scoped API rule documented with its (method, path) operations."""
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check_str,
        description=description,
        operations=[{"method": method, "path": path} for method, path in operations],
        scope_types=list(PROJECT_SCOPE),
    )


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.RuleDefault(
            ADMIN_API,
            "role:admin",
            description="Default rule for most placement APIs.",
            scope_types=list(PROJECT_SCOPE),
        ),
        policy.RuleDefault(
            SERVICE_API,
            "role:service",
            description="Default rule for service-to-service placement APIs.",
            scope_types=list(PROJECT_SCOPE),
            deprecated_rule=deprecated_admin(),
        ),
        policy.RuleDefault(
            ADMIN_OR_SERVICE_API,
            "role:admin or role:service",
            description="Default rule for most placement APIs.",
            scope_types=list(PROJECT_SCOPE),
            deprecated_rule=deprecated_admin(),
        ),
        # Upstream gives this one no scope_types; it is only ever referenced
        # from rules that have them.
        policy.RuleDefault(
            name=PROJECT_READER_API,
            check_str="role:reader and project_id:%(project_id)s",
            description="Default rule for Project level reader APIs.",
            deprecated_rule=deprecated_admin(),
        ),
        policy.RuleDefault(
            ADMIN_OR_PROJECT_READER_OR_SERVICE_API,
            "role:admin or rule:project_reader_api or role:service",
            description="Default rule for project level reader APIs.",
            scope_types=list(PROJECT_SCOPE),
            deprecated_rule=deprecated_admin(),
        ),
    ]
