"""Policy defaults and enforcement: legacy, secure-RBAC and open-policy, as upstream Placement."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from oslo_policy import policy as oslo_policy

from corral.api.context import RequestContext
from corral.api.errors import Forbidden
from corral.api.policies import list_rules
from corral.api.policy import PolicyEnforcer
from corral.conf import new_conf
from corral.service.profiles import apply_profile

RP_LIST = "placement:resource_providers:list"
RESHAPE = "placement:reshaper:reshape"
USAGES = "placement:usages"

ADMIN = RequestContext(user_id="u", project_id="admin-project", roles=["admin", "member", "reader"])
SERVICE = RequestContext(user_id="nova", project_id="service", roles=["service"])
MEMBER = RequestContext(user_id="u", project_id="p1", roles=["member", "reader"])
READER = RequestContext(user_id="u", project_id="p1", roles=["reader"])
NOBODY = RequestContext(user_id="u", project_id="p1", roles=[])
SYSTEM_ADMIN = RequestContext(user_id="u", roles=["admin", "member", "reader"], system_scope="all")
DOMAIN_ADMIN = RequestContext(user_id="u", roles=["admin"], domain_id="d1")


def enforcer(profile: str = "default", policy_file: Path | None = None) -> PolicyEnforcer:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    overrides = apply_profile(conf, profile)
    if policy_file is not None:
        conf.set_override("policy_file", str(policy_file), group="oslo_policy")
    return PolicyEnforcer(conf, overrides=overrides)


def allowed(
    enf: PolicyEnforcer, ctx: RequestContext, rule: str, target: dict[str, str] | None = None
) -> bool:
    try:
        enf.authorize(ctx, rule, target)
    except Forbidden:
        return False
    return True


def test_rule_names_are_upstream_ones() -> None:
    # corral's own API (scheduler:*) adds rules of its own after upstream's.
    names = [r.name for r in list_rules() if not r.name.startswith("scheduler:")]
    assert len(names) == len(set(names)) == 38
    assert names[:5] == [
        "admin_api",
        "service_api",
        "admin_or_service_api",
        "project_reader_api",
        "admin_or_project_reader_or_service_api",
    ]
    api = [r for r in list_rules() if r.name.startswith("placement:")]
    assert all(r.scope_types == ["project"] for r in api)
    checks = {r.name: r.check_str for r in api}
    assert checks[RESHAPE] == "rule:service_api"
    assert checks[USAGES] == "rule:admin_or_project_reader_or_service_api"
    assert {v for k, v in checks.items() if k not in (RESHAPE, USAGES)} == {
        "rule:admin_or_service_api"
    }


def test_list_rules_builds_fresh_objects() -> None:
    # Each enforcer must own its rules: oslo.policy may rewrite what it is given.
    assert list_rules()[0] is not list_rules()[0]


def test_legacy_defaults_admin_does_everything_including_reshape() -> None:
    enf = enforcer("default")
    for rule in (r.name for r in list_rules() if r.name.startswith("placement:")):
        assert allowed(enf, ADMIN, rule), rule
    assert allowed(enf, SERVICE, RESHAPE)
    assert allowed(enf, SERVICE, RP_LIST)


def test_legacy_defaults_refuse_members_readers_and_roleless() -> None:
    enf = enforcer("default")
    for ctx in (MEMBER, READER, NOBODY):
        assert not allowed(enf, ctx, RP_LIST)
        assert not allowed(enf, ctx, RESHAPE)


def test_secure_rbac_reshape_is_for_services_only() -> None:
    enf = enforcer("secure-rbac")
    assert allowed(enf, SERVICE, RESHAPE)
    assert not allowed(enf, ADMIN, RESHAPE)
    assert allowed(enf, ADMIN, RP_LIST)
    assert allowed(enf, SERVICE, RP_LIST)
    assert not allowed(enf, MEMBER, RP_LIST)


def test_secure_rbac_project_reader_sees_only_own_usages() -> None:
    enf = enforcer("secure-rbac")
    assert allowed(enf, READER, USAGES, {"project_id": "p1"})
    assert not allowed(enf, READER, USAGES, {"project_id": "p2"})
    assert allowed(enf, ADMIN, USAGES, {"project_id": "p2"})
    assert not allowed(enf, NOBODY, USAGES, {"project_id": "p1"})


def test_legacy_usages_reader_rule_is_ored_with_admin() -> None:
    enf = enforcer("default")
    assert allowed(enf, READER, USAGES, {"project_id": "p1"})
    assert not allowed(enf, READER, USAGES, {"project_id": "p2"})


def test_default_target_is_own_project() -> None:
    enf = enforcer("secure-rbac")
    assert allowed(enf, READER, USAGES)


@pytest.mark.parametrize("profile", ["default", "secure-rbac", "open-policy"])
def test_system_and_domain_scope_are_refused(profile: str) -> None:
    # Every rule is project scoped, and oslo.policy always enforces scope.
    enf = enforcer(profile)
    for ctx in (SYSTEM_ADMIN, DOMAIN_ADMIN):
        assert not allowed(enf, ctx, RP_LIST)
        assert not allowed(enf, ctx, USAGES, {"project_id": "p1"})


def test_open_policy_opens_every_rule_but_admin_api() -> None:
    enf = enforcer("open-policy")
    for rule in (r.name for r in list_rules() if r.name.startswith("placement:")):
        assert allowed(enf, NOBODY, rule), rule
    assert not allowed(enf, NOBODY, "admin_api")
    assert allowed(enf, ADMIN, "admin_api")


def test_unregistered_rule_is_an_error_not_a_denial() -> None:
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        enforcer().authorize(ADMIN, "placement:no_such_rule")


def test_forbidden_message_names_the_rule() -> None:
    with pytest.raises(Forbidden, match=f"Policy does not allow {RP_LIST} to be performed."):
        enforcer().authorize(MEMBER, RP_LIST)


def test_policy_file_overrides_a_default(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(f'"{RP_LIST}": "role:member"\n')
    enf = enforcer("secure-rbac", policy_file)
    only_admin = RequestContext(user_id="u", project_id="p1", roles=["admin"])
    assert allowed(enf, MEMBER, RP_LIST)
    assert not allowed(enf, only_admin, RP_LIST)
    assert allowed(enf, only_admin, "placement:resource_providers:show")


def test_to_policy_values_keys_match_oslo_context() -> None:
    values = ADMIN.to_policy_values()
    assert set(values) == {
        "user_id",
        "user_domain_id",
        "system_scope",
        "domain_id",
        "project_id",
        "project_domain_id",
        "roles",
        "is_admin_project",
        "service_user_id",
        "service_user_domain_id",
        "service_project_id",
        "service_project_domain_id",
        "service_roles",
    }


def test_every_rule_name_in_the_handlers_is_registered() -> None:
    # A typo in a handler's rule name would only show as a 500 at request time.
    handlers = Path(__file__).resolve().parents[2] / "src" / "corral" / "api" / "placement"
    registered = {r.name for r in list_rules()}
    used = {
        node.value
        for path in handlers.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("placement:")
    }
    assert used <= registered, sorted(used - registered)


def test_profile_overrides_stay_in_their_own_conf() -> None:
    # Two apps in one process (as in these tests) must not share settings.
    first = new_conf()
    first([], project="corral", default_config_files=[])
    apply_profile(first, "cors")
    second = new_conf()
    second([], project="corral", default_config_files=[])
    assert second.api.auth_strategy == "keystone"
    assert second.cors.allowed_origin == []
