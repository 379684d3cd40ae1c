"""Nova host aggregates, mirrored to Placement aggregates as Nova's API does.

Adding a host to an aggregate adds the aggregate's uuid to the Placement
aggregates of the host's compute node providers; removing it takes it out.
The mirror runs after the aggregate change commits and replaces the
provider's aggregates with its generation, retrying when another writer
moved the generation, so it never drops a concurrent change. Like Nova, a
provider Placement does not know yet is left alone; registering the node
later (corral.compute.hosts.register_node) mirrors the host's aggregates.

Availability zones follow Nova's rules: an aggregate's `availability_zone`
metadata is its hosts' zone, it cannot be empty, a host is in one zone at
most, and the zone of hosts running instances cannot be changed.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from corral.errors import BadRequest, ConcurrentUpdate, Conflict, CorralError, NotFound
from corral.placement import aggregates as placement_aggregates
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as store
from corral.store import instances as instance_store
from corral.store.database import Database, utcnow
from corral.store.host_aggregates import AggregateRow

LOG = logging.getLogger(__name__)

AZ_KEY = "availability_zone"
# Attempts at replacing one provider's aggregates against concurrent writers.
MIRROR_ATTEMPTS = 10


def aggregate_not_found(ref: int | str) -> NotFound:
    return NotFound(f"Aggregate {ref} could not be found.")


def _require(conn: Connection, ref: int | str) -> AggregateRow:
    row = store.get_by_id(conn, ref) if isinstance(ref, int) else store.get_by_uuid(conn, ref)
    if row is None:
        raise aggregate_not_found(ref)
    return row


def _name_exists(name: str) -> Conflict:
    return Conflict(f"Aggregate {name} already exists.")


# --- reads ---------------------------------------------------------------------


def get_aggregate(db: Database, ref: int | str) -> AggregateRow:
    """By id (int) or uuid (str)."""
    with db.read() as conn:
        return _require(conn, ref)


def list_aggregates(db: Database) -> list[AggregateRow]:
    with db.read() as conn:
        return store.by_ids(conn)


# --- availability zone rules ---------------------------------------------------


def _check_zone_change(
    conn: Connection,
    aggregate: AggregateRow,
    metadata: Mapping[str, str | None],
    hosts: Sequence[str],
    *,
    check_instances: bool,
    refusal: type[CorralError] = BadRequest,
) -> None:
    """Nova's AggregateAPI.is_safe_to_update_az; refused as Nova's API answers
    (409 when adding a host, 400 when changing the aggregate)."""
    if AZ_KEY not in metadata:
        return
    zone = metadata[AZ_KEY]
    if not zone:
        raise refusal(f"Aggregate {aggregate.name} does not support empty named availability zone")
    conflicting = sorted(
        {
            other.metadata[AZ_KEY]
            for other in store.of_hosts(conn, hosts)
            if other.id != aggregate.id
            and AZ_KEY in other.metadata
            and other.metadata[AZ_KEY] != zone
        }
    )
    if conflicting:
        raise refusal(f"One or more hosts already in availability zone(s) {conflicting}")
    same_zone = aggregate.metadata.get(AZ_KEY) == zone
    if check_instances and not same_zone and hosts and instance_store.count_on_hosts(conn, hosts):
        raise refusal("One or more hosts contain instances in this zone")


# --- writes --------------------------------------------------------------------


def create_aggregate(db: Database, name: str, availability_zone: str | None) -> AggregateRow:
    metadata = {AZ_KEY: availability_zone} if availability_zone else {}
    with db.write() as conn:
        try:
            new_id = store.insert(conn, str(uuidlib.uuid4()), name, metadata, utcnow())
        except store.NameTaken:
            raise _name_exists(name) from None
        return _require(conn, new_id)


def update_aggregate(
    db: Database, ref: int | str, *, name: str | None, availability_zone: str | None, set_zone: bool
) -> AggregateRow:
    """Rename, and/or set the zone (`set_zone`: the body named one, maybe null)."""
    now = utcnow()
    with db.write() as conn:
        aggregate = _require(conn, ref)
        if name is not None and name != aggregate.name:
            try:
                store.rename(conn, aggregate.id, name, now)
            except store.NameTaken:
                raise _name_exists(name) from None
        if set_zone:
            changes = {AZ_KEY: availability_zone}
            _check_zone_change(conn, aggregate, changes, aggregate.hosts, check_instances=True)
            store.update_metadata(conn, aggregate.id, changes, now)
        return _require(conn, aggregate.id)


def set_metadata(db: Database, ref: int | str, changes: Mapping[str, str | None]) -> AggregateRow:
    """Set keys; a None value removes its key (Nova's set_metadata action)."""
    with db.write() as conn:
        aggregate = _require(conn, ref)
        _check_zone_change(conn, aggregate, changes, aggregate.hosts, check_instances=True)
        store.update_metadata(conn, aggregate.id, changes, utcnow())
        return _require(conn, aggregate.id)


def delete_aggregate(db: Database, ref: int | str) -> None:
    with db.write() as conn:
        aggregate = _require(conn, ref)
        if aggregate.hosts:
            raise BadRequest(
                f"Cannot delete aggregate {aggregate.id}. Reason: Host aggregate is not empty."
            )
        store.delete(conn, aggregate.id)


def add_host(db: Database, ref: int | str, host: str) -> AggregateRow:
    """Nova's add_host_to_aggregate: the host must run a compute service."""
    with db.write() as conn:
        if host_store.service(conn, host) is None:
            raise NotFound(f"Compute host {host} could not be found.")
        aggregate = _require(conn, ref)
        if host in aggregate.hosts:
            raise Conflict(f"Aggregate {aggregate.id} already has host {host}.")
        _check_zone_change(
            conn, aggregate, aggregate.metadata, [host], check_instances=False, refusal=Conflict
        )
        store.add_host(conn, aggregate.id, host, utcnow())
        providers = [n.values.provider_uuid for n in host_store.nodes_of_host(conn, host)]
        result = _require(conn, aggregate.id)
    mirror_host_aggregates(db, providers, [result.uuid])
    return result


def remove_host(db: Database, ref: int | str, host: str) -> AggregateRow:
    with db.write() as conn:
        if host_store.service(conn, host) is None:
            raise NotFound(f"Compute host {host} could not be found.")
        aggregate = _require(conn, ref)
        if not store.remove_host(conn, aggregate.id, host):
            raise NotFound(f"Cannot remove host {host} in aggregate {aggregate.id}")
        providers = [n.values.provider_uuid for n in host_store.nodes_of_host(conn, host)]
        result = _require(conn, aggregate.id)
    unmirror_host(db, providers, [result.uuid])
    return result


# --- the Placement mirror ------------------------------------------------------


def mirror_host_aggregates(
    db: Database, provider_uuids: Sequence[str], aggregate_uuids: Sequence[str]
) -> None:
    """Make each provider a member of every one of the aggregates."""
    for provider_uuid in provider_uuids:
        _replace(db, provider_uuid, add=aggregate_uuids, remove=())


def unmirror_host(
    db: Database, provider_uuids: Sequence[str], aggregate_uuids: Sequence[str]
) -> None:
    """Take each provider out of the aggregates."""
    for provider_uuid in provider_uuids:
        _replace(db, provider_uuid, add=(), remove=aggregate_uuids)


def mirror_many(db: Database, changes: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> None:
    """`mirror_host_aggregates` and `unmirror_host` for many providers at once
    (provider uuid -> (aggregate uuids to add, to remove)), in one transaction
    that bumps the generation of each provider it changes."""
    wanted = {p: (add, remove) for p, (add, remove) in changes.items() if add or remove}
    for provider_uuid in sorted(placement_aggregates.change_many(db, wanted)):
        LOG.warning(
            "resource provider %s is not in Placement; its aggregates are not mirrored",
            provider_uuid,
        )


def _replace(
    db: Database, provider_uuid: str, *, add: Sequence[str], remove: Sequence[str]
) -> None:
    if not add and not remove:
        return
    for _ in range(MIRROR_ATTEMPTS):
        try:
            current = placement_aggregates.provider_aggregates(db, provider_uuid)
        except NotFound:
            LOG.warning(
                "resource provider %s is not in Placement; its aggregates are not mirrored",
                provider_uuid,
            )
            return
        gone = set(remove)
        wanted = [u for u in current.aggregates if u not in gone]
        wanted += [u for u in add if u not in wanted]
        if wanted == current.aggregates:
            return
        try:
            placement_aggregates.set_provider_aggregates(
                db, provider_uuid, wanted, current.generation
            )
            return
        except ConcurrentUpdate:
            continue
        except NotFound:
            return
    LOG.warning(
        "gave up mirroring aggregates to resource provider %s after %d conflicts",
        provider_uuid,
        MIRROR_ATTEMPTS,
    )
