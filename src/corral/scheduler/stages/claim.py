"""The claim stage: the only stage that writes.

Nova's SchedulerManager._claim_resources (the report client's
claim_resources: PUT /allocations/{consumer} with the candidate's
allocation request) and, in the same transaction, the instance's record on
its host and in its server group. The capacity check inside that
transaction, under the providers' row locks, is what guarantees that no
capacity is handed out twice (corral.placement.allocations); the batch's
figures the rank stage read are only a shortcut.

A round's claims go in one transaction in which each claim is accepted or
refused on its own (corral.placement.batched_claims). A request that failed
part-way gives back what its earlier instances claimed (Nova's
_cleanup_allocations).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from corral import metrics
from corral.compute.instances import (
    PlacedInstance,
    delete_instance,
    record_new_in,
    record_placed_in,
)
from corral.errors import Conflict, NotFound
from corral.placement import consumers
from corral.placement.allocations import ConsumerWrite, replace_in, run_write
from corral.placement.batched_claims import BatchOutcome, ConsumerExists, claim_each_in
from corral.placement.candidates import Candidate
from corral.placement.consumers import ConsumerSpec, Defaults, Owner
from corral.scheduler.admission import group_uuid
from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import RequestSpec
from corral.store.database import Database

LOG = logging.getLogger("corral.scheduler")

CONSUMER_TYPE = "INSTANCE"
# Placement's default owner of consumers written without one.
INCOMPLETE_CONSUMER = Defaults(
    "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"
)
# Owners (project, user) remembered; past that the cache starts again.
OWNER_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class ClaimSettings:
    claim_retries: int = 10
    consumer_defaults: Defaults = INCOMPLETE_CONSUMER


@dataclass(frozen=True, slots=True)
class Claim:
    """What claiming one candidate for one instance writes."""

    write: ConsumerWrite
    placed: PlacedInstance
    group: str | None

    @property
    def uuid(self) -> str:
        return self.placed.uuid


def claim_for(
    uuid: str, spec: RequestSpec, batch: HostBatch, row: int, candidate: Candidate
) -> Claim:
    """The allocations and the instance record a claim of `candidate` writes."""
    consumer = ConsumerSpec(
        uuid=uuid,
        project_id=spec.project_id,
        user_id=spec.user_id,
        consumer_type=CONSUMER_TYPE,
    )
    write = ConsumerWrite(consumer, {rp: dict(res) for rp, res in candidate.allocations.items()})
    flavor = spec.flavor
    placed = PlacedInstance(
        uuid=uuid,
        host=batch.host[row],
        node=batch.node[row],
        project_id=spec.project_id or "",
        user_id=spec.user_id or "",
        provider_uuid=batch.provider_uuid[row],
        flavor={
            "name": flavor.name,
            "flavorid": flavor.flavorid,
            "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb,
            "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb,
            "swap": flavor.swap,
            "extra_specs": dict(flavor.extra_specs),
        },
        image_properties=dict(spec.image.properties),
    )
    return Claim(write, placed, group_uuid(spec))


class Claimer:
    """Writes claims; thread-safe."""

    def __init__(self, db: Database, settings: ClaimSettings) -> None:
        self.db = db
        self.settings = settings
        self._owner_lock = threading.Lock()
        self._owner_cache: dict[tuple[str, str], Owner] = {}

    def _owners(self, spec: ConsumerSpec) -> dict[str, Owner]:
        """The project and user rows of a consumer, resolved once per pair."""
        key = (spec.project_id or "", spec.user_id or "")
        with self._owner_lock:
            owner = self._owner_cache.get(key)
        if owner is None:
            owner = consumers.resolve_owners(self.db, [spec], self.settings.consumer_defaults)[
                spec.uuid
            ]
            with self._owner_lock:
                if len(self._owner_cache) > OWNER_CACHE_SIZE:
                    self._owner_cache.clear()
                self._owner_cache[key] = owner
        return {spec.uuid: owner}

    def claim(self, claim: Claim) -> bool:
        """Claim in a transaction of its own: False when the host was full by then."""
        owners = self._owners(claim.write.consumer)

        def work(conn: Connection) -> None:
            replace_in(conn, [claim.write], owners)
            record_placed_in(conn, [claim.placed], claim.group)

        try:
            run_write(self.db, self.settings.claim_retries, work)
        except (Conflict, NotFound) as exc:
            LOG.info("claim of %s on %s refused: %s", claim.uuid, claim.placed.host, exc)
            return False
        return True

    def claim_each(self, claims: Sequence[Claim]) -> set[str]:
        """A round's claims and instance records in one transaction, each
        accepted or refused on its own: the uuids of the accepted ones."""
        if not claims:
            return set()
        owners: dict[str, Any] = {}
        for claim in claims:
            owners.update(self._owners(claim.write.consumer))

        def work(conn: Connection) -> BatchOutcome:
            outcome = claim_each_in(conn, [c.write for c in claims], owners)
            accepted = set(outcome.accepted)
            landed = [c for c in claims if c.uuid in accepted]
            record_new_in(
                conn,
                [c.placed for c in landed],
                {c.uuid: c.group for c in landed if c.group is not None},
            )
            return outcome

        try:
            outcome = run_write(self.db, self.settings.claim_retries, work)
        except Exception:
            # One bad record (a group deleted meanwhile, say) must not fail the
            # others: the caller decides each again on its own.
            LOG.exception("the claims of a round of %d failed", len(claims))
            return set()
        for uuid, why in outcome.refused.items():
            if not isinstance(why, ConsumerExists):
                LOG.info("claim of %s refused in its round: %s", uuid, why)
                metrics.record_claim_conflict("next_host")
        return set(outcome.accepted)

    def give_back(self, uuids: Sequence[str]) -> None:
        """Nova's _cleanup_allocations: a request that failed part-way keeps nothing."""
        for uuid in uuids:
            try:
                delete_instance(self.db, uuid)
            except NotFound:
                continue
            except Exception:
                LOG.exception("could not give back the claim of instance %s", uuid)
