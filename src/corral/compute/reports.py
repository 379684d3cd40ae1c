"""What Nova's services tell the scheduler, applied to corral's store.

nova-api casts an aggregate to the scheduler when it changes
(update_aggregates, delete_aggregate) and nova-compute casts the instances on
its host (update_instance_info when one lands or is resized,
delete_instance_info when one leaves the host, sync_instance_info with the
host's full list now and then). Nova's scheduler keeps these in memory; corral
keeps them in its database, where every corral process reads them.

None of these touches Placement: Nova's API mirrors aggregates to Placement
itself, and an instance leaving a host is not the end of its allocations
(a live migration moves them). So none of these claims or frees anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import instances as instance_store
from corral.store.database import Database, utcnow
from corral.store.instances import InstanceValues

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class NovaAggregate:
    """Nova's Aggregate as nova-api casts it: Nova owns it, corral mirrors it."""

    uuid: str
    name: str
    hosts: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportedInstance:
    """An instance a compute host says it runs."""

    uuid: str
    node: str
    project_id: str
    user_id: str
    flavor: Mapping[str, Any] = field(default_factory=dict)
    image_properties: Mapping[str, Any] = field(default_factory=dict)


def _replace_aggregate(conn: Connection, existing_id: int, aggregate: NovaAggregate) -> None:
    now = utcnow()
    row = aggregate_store.get_by_id(conn, existing_id)
    assert row is not None
    if row.name != aggregate.name:
        aggregate_store.rename(conn, row.id, aggregate.name, now)
    changes: dict[str, str | None] = {k: None for k in row.metadata if k not in aggregate.metadata}
    changes.update({k: v for k, v in aggregate.metadata.items() if row.metadata.get(k) != v})
    aggregate_store.update_metadata(conn, row.id, changes, now)
    wanted = set(aggregate.hosts)
    for host in sorted(set(row.hosts) - wanted):
        aggregate_store.remove_host(conn, row.id, host)
    for host in sorted(wanted - set(row.hosts)):
        aggregate_store.add_host(conn, row.id, host, now)


def _upsert_aggregate(conn: Connection, aggregate: NovaAggregate) -> None:
    row = aggregate_store.get_by_uuid(conn, aggregate.uuid)
    if row is not None:
        _replace_aggregate(conn, row.id, aggregate)
        return
    try:
        new_id = aggregate_store.insert(conn, aggregate.uuid, aggregate.name, {}, utcnow())
    except aggregate_store.NameTaken:
        # Every RPC worker gets Nova's fanout cast: another one may have just
        # inserted this very aggregate; then this is an update.
        row = aggregate_store.get_by_uuid(conn, aggregate.uuid)
        if row is None:
            raise
        new_id = row.id
    _replace_aggregate(conn, new_id, aggregate)


def update_aggregates(db: Database, aggregates: Sequence[NovaAggregate]) -> None:
    """Make corral's copy of each aggregate what Nova says it is (by uuid)."""
    for aggregate in aggregates:
        try:
            with db.write() as conn:
                _upsert_aggregate(conn, aggregate)
        except aggregate_store.NameTaken:
            LOG.error(
                "aggregate %s from Nova is named %r, the name of another aggregate corral "
                "holds; not mirrored",
                aggregate.uuid,
                aggregate.name,
            )


def delete_aggregate(db: Database, uuid: str) -> bool:
    """Forget the aggregate; False when corral did not have it."""
    with db.write() as conn:
        row = aggregate_store.get_by_uuid(conn, uuid)
        if row is None:
            return False
        aggregate_store.delete(conn, row.id)
        return True


def update_instances(db: Database, host: str, instances: Sequence[ReportedInstance]) -> None:
    """Record that these instances run on `host` (new ones added, moved ones moved)."""
    now = utcnow()
    with db.write() as conn:
        providers = {
            n.nodename: n.values.provider_uuid for n in host_store.nodes_of_host(conn, host)
        }
        for instance in instances:
            values = InstanceValues(
                host=host,
                node=instance.node,
                provider_uuid=providers.get(instance.node),
                project_id=instance.project_id,
                user_id=instance.user_id,
                flavor=dict(instance.flavor),
                image_properties=dict(instance.image_properties),
            )
            row = instance_store.get_by_uuid(conn, instance.uuid)
            if row is None:
                try:
                    instance_store.insert(conn, instance.uuid, values, now)
                    continue
                except instance_store.InstanceExists:
                    # Another RPC worker, handling the same fanout, was first.
                    row = instance_store.get_by_uuid(conn, instance.uuid)
                    if row is None:
                        raise
            if row.values != values:
                instance_store.update(conn, row.id, values, now)


def delete_instance(db: Database, host: str, uuid: str) -> bool:
    """The instance left `host`: forget it there (not elsewhere, and not its
    allocations). False when corral did not have it on that host."""
    with db.write() as conn:
        row = instance_store.get_by_uuid(conn, uuid)
        if row is None or row.values.host != host:
            return False
        instance_store.delete(conn, row.id)
        return True


def sync_instances(db: Database, host: str, uuids: Sequence[str]) -> tuple[list[str], list[str]]:
    """`host` runs exactly these instances: forget the others corral has there.

    Returns (forgotten, unknown): the uuids dropped, and those the host runs
    that corral has no record of (it cannot make one from a uuid alone; the
    host's next update_instance_info brings them).
    """
    reported = set(uuids)
    forgotten: list[str] = []
    with db.write() as conn:
        on_host = {
            row.uuid: row.id
            for row in instance_store.page(
                conn, host=host, project_id=None, after_id=None, limit=1_000_000
            )
        }
        for uuid, row_id in on_host.items():
            if uuid not in reported:
                instance_store.delete(conn, row_id)
                forgotten.append(uuid)
    unknown = sorted(reported - set(on_host))
    return sorted(forgotten), unknown
