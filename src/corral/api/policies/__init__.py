"""Placement policy rule defaults: the names, check strings and scopes of upstream 16.0.0.

`list_rules()` builds fresh rule objects on every call, so each enforcer
(one per app; tests build several with different settings) owns its own.
"""

from __future__ import annotations

from oslo_policy import policy

from corral.api.policies import (
    aggregate,
    allocation,
    allocation_candidate,
    base,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    scheduler,
    trait,
    usage,
)

_MODULES = (
    base,
    resource_provider,
    resource_class,
    inventory,
    aggregate,
    usage,
    trait,
    allocation,
    allocation_candidate,
    reshaper,
    scheduler,
)


def list_rules() -> list[policy.RuleDefault]:
    return [rule for module in _MODULES for rule in module.list_rules()]
