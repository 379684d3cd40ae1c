"""The claim stage: the only stage that writes.

Nova's SchedulerManager._claim_resources (the report client's
claim_resources: PUT /allocations/{consumer} with the candidate's
allocation request) and, in the same transaction, the instance's record on
its host and in its server group. The capacity check inside that
transaction, under the providers' row locks, is what guarantees that no
capacity is handed out twice (corral.placement.allocations); the batch's
figures the rank stage read are only a shortcut.

As the report client's claim_resources, a claim first reads what the
consumer holds and its generation (GET /allocations/{consumer}). A consumer
holding nothing is claimed as a new one (consumer generation null). One
that holds allocations (an evacuation: the instance still holds its dead
source host) gets the "doubled-up" allocation of
_move_operation_alloc_request: everything it holds stays, and the
candidate's providers it does not hold yet are added; that is written
under the generation read. A consumer changed between the read and the
write (the generation moved) fails the request, as Nova lets
AllocationUpdateFailed fail the build or move: ConsumerChanged. A claim
refused for room or a provider race (after `allocation_conflict_retry_count`
attempts) only refuses the host, and the next one is tried.

The instance record is written only for an instance corral does not know
yet (its own placements count for affinity before any compute reports
them). A known instance (a move) stays on its host: Nova's HostManager
learns of a move from the compute's update_instance_info casts or, here,
the Nova database feed, not from the scheduling decision.

A round's claims go in one transaction in which each claim is accepted or
refused on its own (corral.placement.batched_claims). A request that failed
part-way gives back what its earlier instances claimed (Nova's
_cleanup_allocations); a consumer that held allocations before its claim
gets those back rather than losing everything, so a failed request never
drops what a moving instance holds on its source.
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
)
from corral.errors import ConcurrentUpdate, Conflict, NotFound
from corral.placement import consumers
from corral.placement.allocations import (
    ConsumerWrite,
    ProviderConflict,
    consumer_allocations,
    replace_in,
    run_write,
)
from corral.placement.batched_claims import BatchOutcome, ConsumerExists, claim_each_in
from corral.placement.candidates import Candidate
from corral.placement.consumers import ConsumerSpec, Defaults, Owner
from corral.scheduler.admission import group_uuid
from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import RequestSpec
from corral.store import consumers as consumer_store
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
    # the server group the instance joins: None for none, or for one the store
    # does not hold yet (InstanceGroup.stored)
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
    # A group the store does not hold yet (InstanceGroup.stored) is not joined
    # here: the Nova feed brings its members from Nova.
    group = spec.instance_group
    return Claim(write, placed, group_uuid(spec) if group is None or group.stored else None)


Allocations = dict[str, dict[str, int]]


class ConsumerChanged(Exception):
    """Nova's AllocationUpdateFailed: the consumer changed between the read
    of its allocations and the claim's write."""

    def __init__(self, uuid: str, detail: str) -> None:
        super().__init__(
            f"Failed to update allocations for consumer {uuid}. Error: another process "
            f"changed the consumer after the scheduler read it during the claim ({detail})"
        )
        self.uuid = uuid


@dataclass(frozen=True, slots=True)
class Landed:
    """A claim that was written: what its consumer held before (empty: a new one)."""

    uuid: str
    held_before: Allocations


def merge_allocations(held: Allocations, wanted: Allocations) -> Allocations:
    """Nova's report._move_operation_alloc_request: what the consumer holds,
    plus the wanted allocations of every provider it does not hold yet (a
    provider it holds already, shared storage say, keeps its amounts)."""
    merged = {rp: dict(res) for rp, res in held.items()}
    for rp, res in wanted.items():
        if rp not in merged:
            merged[rp] = dict(res)
    return merged


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

    def held(self, uuid: str) -> tuple[Allocations, int | None]:
        """What the consumer holds and its generation (None: it holds nothing),
        as the report client's GET /allocations/{consumer} reads them."""
        current = consumer_allocations(self.db, uuid)
        if not current.allocations:
            return {}, None
        held = {rp: dict(part.resources) for rp, part in current.allocations.items()}
        return held, current.generation

    def claim(self, claim: Claim) -> Landed | None:
        """Claim in a transaction of its own (merged with what the consumer
        holds): None when the host was full by then or a provider race was
        lost every time; ConsumerChanged when the consumer changed meanwhile."""
        held, generation = self.held(claim.uuid)
        spec = claim.write.consumer
        consumer = ConsumerSpec(
            uuid=spec.uuid,
            project_id=spec.project_id,
            user_id=spec.user_id,
            consumer_type=spec.consumer_type,
            # null for a new consumer, as Nova's scheduler claims with
            generation=generation,
            check_generation=True,
        )
        allocations = merge_allocations(held, claim.write.allocations)
        write = ConsumerWrite(consumer, allocations)
        owners = self._owners(consumer)

        def work(conn: Connection) -> None:
            replace_in(conn, [write], owners)
            group = {claim.uuid: claim.group} if claim.group is not None else {}
            record_new_in(conn, [claim.placed], group)

        try:
            run_write(self.db, self.settings.claim_retries, work)
        except ProviderConflict as exc:
            LOG.info("claim of %s on %s lost its race: %s", claim.uuid, claim.placed.host, exc)
            return None
        except ConcurrentUpdate as exc:
            # A consumer generation conflict (a provider one is ProviderConflict).
            raise ConsumerChanged(claim.uuid, str(exc)) from exc
        except (Conflict, NotFound) as exc:
            LOG.info("claim of %s on %s refused: %s", claim.uuid, claim.placed.host, exc)
            return None
        if held:
            LOG.info(
                "claim of %s doubled up its allocations: held %s, added %s",
                claim.uuid,
                sorted(held),
                sorted(set(allocations) - set(held)),
            )
        return Landed(claim.uuid, held)

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

    def give_back(self, landed: Sequence[Landed]) -> None:
        """Nova's _cleanup_allocations: a request that failed part-way keeps
        nothing it claimed. A new consumer loses its allocations and its
        record; one that held allocations before (a move) is put back to them."""
        for claim in landed:
            try:
                if claim.held_before:
                    self._restore(claim)
                else:
                    delete_instance(self.db, claim.uuid)
            except NotFound:
                continue
            except Exception:
                LOG.exception("could not give back the claim of instance %s", claim.uuid)

    def _restore(self, claim: Landed) -> None:
        """Write back what the consumer held before its claim; giving back
        cannot over-commit (its old amounts fitted, or leave it no fuller)."""
        consumer = ConsumerSpec(uuid=claim.uuid)
        with self.db.read() as conn:
            row = consumer_store.get_by_uuids(conn, [claim.uuid]).get(claim.uuid)
        if row is None:
            return
        write = ConsumerWrite(consumer, {rp: dict(r) for rp, r in claim.held_before.items()})
        owner = Owner(row.project_id, row.user_id, row.consumer_type_id)
        run_write(
            self.db,
            self.settings.claim_retries,
            lambda conn: replace_in(conn, [write], {claim.uuid: owner}),
        )
