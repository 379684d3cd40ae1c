"""What handlers reach through the request: the layers below and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.api.policy import PolicyEnforcer
    from corral.placement.index import PlacementIndex
    from corral.store.database import Database


@dataclass
class PlacementSettings:
    randomize_allocation_candidates: bool = False
    max_allocation_candidates: int = -1
    allocation_conflict_retry_count: int = 10
    incomplete_consumer_project_id: str = "00000000-0000-0000-0000-000000000000"
    incomplete_consumer_user_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass
class Services:
    db: Database
    policy: PolicyEnforcer
    placement: PlacementSettings = field(default_factory=PlacementSettings)
    # The in-memory candidate index (GET /allocation_candidates).
    index: PlacementIndex | None = None
    extras: dict[str, Any] = field(default_factory=dict)
