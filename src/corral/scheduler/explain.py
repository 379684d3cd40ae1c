"""Why hosts were ruled out: the answer to "why no host?".

Every stage of a decision (placement's resource, trait and aggregate checks,
then each host filter) records how many hosts it removed and for what
reason. `Explanation.summary()` folds that into one line, largest reason
first, as NoValidHost carries it:

    0/10,000 hosts available: 9,200 lacked MEMORY_MB, 600 not in AZ az2, 200 disabled
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Reasons shown in a summary line; the rest are folded into "N other".
SUMMARY_REASONS = 6


@dataclass(frozen=True, slots=True)
class StageReport:
    """One stage of the pipeline: placement, or one host filter by its Nova name."""

    stage: str
    hosts_in: int
    hosts_out: int
    # reason phrase -> hosts removed for it
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def removed(self) -> int:
        return self.hosts_in - self.hosts_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "hosts_in": self.hosts_in,
            "hosts_out": self.hosts_out,
            "removed": self.removed,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


@dataclass(frozen=True, slots=True)
class RankedHost:
    """A host that passed every filter, with its combined weight."""

    host: str
    node: str
    provider_uuid: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "node": self.node,
            "provider_uuid": self.provider_uuid,
            "weight": round(self.weight, 6),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """What one decision saw: hosts known, each stage's removals, the ranking."""

    hosts_total: int
    stages: tuple[StageReport, ...]
    ranked: tuple[RankedHost, ...] = ()
    # Hosts that passed every stage (the ranking may show fewer).
    hosts_available: int = 0
    # Set when the request itself could not be turned into a search
    # (an unknown resource class, say): nothing was searched.
    refusal: str | None = None

    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for stage in self.stages:
            total.update(stage.reasons)
        return total

    def summary(self) -> str:
        head = f"{self.hosts_available:,}/{self.hosts_total:,} hosts available"
        if self.refusal is not None:
            return f"{head}: {self.refusal}"
        ordered = sorted(self.reasons().items(), key=lambda kv: (-kv[1], kv[0]))
        shown = [f"{count:,} {reason}" for reason, count in ordered[:SUMMARY_REASONS] if count]
        rest = sum(count for _reason, count in ordered[SUMMARY_REASONS:])
        if rest:
            shown.append(f"{rest:,} other")
        return f"{head}: {', '.join(shown)}" if shown else head

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "hosts_total": self.hosts_total,
            "hosts_available": self.hosts_available,
            "refusal": self.refusal,
            "stages": [stage.to_dict() for stage in self.stages],
            "ranked": [host.to_dict() for host in self.ranked],
        }
