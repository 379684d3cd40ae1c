"""Conformance profiles: the configurations the upstream gabbi files expect."""

from __future__ import annotations

from oslo_config import cfg

from corral.api.policies import list_rules

PROFILES = ("default", "cors", "open-policy", "secure-rbac")


def apply_profile(conf: cfg.ConfigOpts, profile: str) -> dict[str, str]:
    """Set the options a profile needs; return policy rule overrides for it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown conformance profile {profile!r}; valid: {', '.join(PROFILES)}")
    conf.set_override("auth_strategy", "noauth2", group="api")
    secure = profile == "secure-rbac"
    conf.set_override("enforce_new_defaults", secure, group="oslo_policy")
    if profile == "cors":
        conf.set_override("allowed_origin", ["http://valid.example.com"], group="cors")
        conf.set_override("allow_headers", ["openstack-api-version"], group="cors")
    if profile == "open-policy":
        return {rule.name: "@" for rule in list_rules() if rule.name != "admin_api"}
    return {}
