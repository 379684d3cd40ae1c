"""Placement policy rule defaults (filled in by the policy work)."""

from __future__ import annotations

from oslo_policy import policy


def list_rules() -> list[policy.RuleDefault]:
    return []
