"""Policy enforcement with oslo.policy, rules as upstream Placement registers them.

The rule defaults live in `corral.api.policies`; operators may override them
with a policy file ([oslo_policy] policy_file, policy_dirs), as with upstream.
`[oslo_policy] enforce_new_defaults` picks between the new defaults (admin,
service and project reader roles) and the legacy ones, where the deprecated
`role:admin` is ORed into every rule.

Scope: oslo.policy 6 always enforces a rule's `scope_types` (there is no
`enforce_scope` switch any more). Every Placement rule is project scoped, so a
system-scoped token (`OpenStack-System-Scope: all`) is refused whatever its
roles, under both sets of defaults, exactly as upstream Placement on the same
oslo.policy.
"""

from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from corral.api.context import RequestContext
from corral.api.errors import Forbidden
from corral.api.policies import list_rules

LOG = logging.getLogger(__name__)


class PolicyEnforcer:
    def __init__(self, conf: cfg.ConfigOpts, *, overrides: dict[str, str] | None = None) -> None:
        """`overrides` replace rules for good (conformance profiles, tests): like
        upstream's policy fixture, they stop later policy file reloads, so the
        rules checked are exactly the defaults plus these."""
        enforcer = oslo_policy.Enforcer(conf)
        # Every default changed in the secure-RBAC work; a warning per rule per
        # process would only bury the real log lines (upstream does the same).
        enforcer.suppress_default_change_warnings = True
        enforcer.register_defaults(list_rules())
        enforcer.load_rules()
        if overrides:
            enforcer.set_rules(
                oslo_policy.Rules.from_dict(overrides), overwrite=False, use_conf=False
            )
        self._enforcer = enforcer

    def authorize(
        self, context: RequestContext, action: str, target: dict[str, Any] | None = None
    ) -> None:
        """Forbidden unless the caller may perform `action` on `target`.

        The default target is the caller's own project and user, as upstream's
        `RequestContext.can`. An unregistered `action` is a programming error
        (PolicyNotRegistered propagates and becomes a 500), never a silent deny.
        """
        if target is None:
            target = {"project_id": context.project_id, "user_id": context.user_id}
        creds = context.to_policy_values()
        # Without do_raise a scope mismatch is a plain denial (with it, InvalidScope).
        if not self._enforcer.authorize(action, target, creds, do_raise=False):
            LOG.debug("policy check for %s failed with credentials %s", action, creds)
            raise Forbidden(f"Policy does not allow {action} to be performed.")
