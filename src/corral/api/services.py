"""What handlers reach through the request: the layers below and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.api.policy import PolicyEnforcer
    from corral.store.database import Database


@dataclass
class PlacementSettings:
    randomize_allocation_candidates: bool = False
    max_allocation_candidates: int = -1
    allocation_conflict_retry_count: int = 10


@dataclass
class Services:
    db: Database
    policy: PolicyEnforcer
    placement: PlacementSettings = field(default_factory=PlacementSettings)
    extras: dict[str, Any] = field(default_factory=dict)
