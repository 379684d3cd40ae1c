"""Policy enforcement with oslo.policy, rules as upstream Placement registers them.

The rule defaults live in `corral.api.policies`; operators may override them
with a policy file ([oslo_policy] policy_file), as with upstream.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from corral.api.context import RequestContext
from corral.api.policies import list_rules
from corral.errors import Forbidden


class PolicyEnforcer:
    def __init__(self, conf: cfg.ConfigOpts, *, overrides: dict[str, str] | None = None) -> None:
        self._enforcer = oslo_policy.Enforcer(conf)
        self._enforcer.register_defaults(list_rules())
        if overrides:
            self._enforcer.set_rules(
                oslo_policy.Rules.from_dict(overrides), overwrite=False, use_conf=True
            )
        self._enforcer.load_rules()

    def authorize(
        self, context: RequestContext, action: str, target: dict[str, Any] | None = None
    ) -> None:
        if target is None:
            target = {"project_id": context.project_id, "user_id": context.user_id}
        creds = context.to_policy_values()
        try:
            self._enforcer.authorize(
                action,
                target,
                creds,
                do_raise=True,
                exc=oslo_policy.PolicyNotAuthorized,
                action=action,
            )
        except oslo_policy.InvalidScope:
            raise Forbidden(f"Policy does not allow {action} to be performed.") from None
        except oslo_policy.PolicyNotAuthorized:
            raise Forbidden(f"Policy does not allow {action} to be performed.") from None
