"""Change-log kinds of the scheduler's own tables.

Writes to compute hosts, services, host aggregates, server groups and
instances append to the same `change_log` as Placement's writes, so every
process's cached host state (corral.scheduler.host_cache) follows them the
way the placement index follows providers. For these kinds the row's
`resource_provider_id` column holds the id of the changed row in the kind's
own table (a compute_hosts id for HOSTS, an instances id for INSTANCES, ...);
the placement index skips them.

Heartbeats are not logged: at one per host every few seconds they would
swamp the log. Readers poll `compute_services.last_heartbeat` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from corral.store.database import record_changes

HOSTS = "hosts"
SERVICES = "services"
HOST_AGGREGATES = "host_aggregates"
SERVER_GROUPS = "server_groups"
INSTANCES = "instances"

KINDS = frozenset({HOSTS, SERVICES, HOST_AGGREGATES, SERVER_GROUPS, INSTANCES})


def record(conn: Connection, kind: str, row_ids: Iterable[int]) -> None:
    """Log a change to rows of `kind`'s table, inside the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"not a scheduler change kind: {kind!r}")
    record_changes(conn, sorted(set(row_ids)), kind)
