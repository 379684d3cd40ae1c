"""What handlers reach through the request: the layers below and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.api.policy import PolicyEnforcer
    from corral.placement.index import PlacementIndex
    from corral.scheduler.engine import Scheduler
    from corral.store.database import Database


@dataclass
class PlacementSettings:
    randomize_allocation_candidates: bool = False
    max_allocation_candidates: int = -1
    allocation_conflict_retry_count: int = 10
    incomplete_consumer_project_id: str = "00000000-0000-0000-0000-000000000000"
    incomplete_consumer_user_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass
class HostSettings:
    """[DEFAULT] options the scheduler's host API reads."""

    service_down_time: int = 60
    default_availability_zone: str = "nova"


@dataclass
class Services:
    db: Database
    policy: PolicyEnforcer
    placement: PlacementSettings = field(default_factory=PlacementSettings)
    # The in-memory candidate index (GET /allocation_candidates).
    index: PlacementIndex | None = None
    # What the scheduler's host API needs to say whether a service is up.
    host_settings: HostSettings = field(default_factory=HostSettings)
    # Nova's filter scheduler (select_destinations, explain); None without an index.
    scheduler: Scheduler | None = None
    extras: dict[str, Any] = field(default_factory=dict)
