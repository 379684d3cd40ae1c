"""Questions the tests ask about hosts, instances and server groups.

The host cache answers only what the scheduler asks (corral.scheduler.host_cache);
these answer the rest from the cache's public state (a batch of every host)
or from the store, so the tests can check what the cache followed.
"""

from __future__ import annotations

from corral.placement.index import IndexState, IndexView
from corral.scheduler.batch import HostBatch
from corral.scheduler.host_cache import HostCache
from corral.store import server_groups as group_store
from corral.store.database import Database


def every_host(cache: HostCache) -> HostBatch:
    """Every registered compute node (resources read as none: no index given)."""
    return cache.batch_for(cache.all_provider_uuids(), IndexView(IndexState()))


def instance_counts(cache: HostCache) -> dict[str, int]:
    """Instances per host (all nodes of a host together)."""
    counts: dict[str, int] = {}
    batch = every_host(cache)
    for host, instances in zip(batch.host, batch.instances, strict=True):
        if instances:
            counts[host] = counts.get(host, 0) + len(instances)
    return counts


def host_of_instance(cache: HostCache, instance_uuid: str) -> str | None:
    batch = every_host(cache)
    for host, instances in zip(batch.host, batch.instances, strict=True):
        if instance_uuid in instances:
            return host
    return None


def group_hosts(cache: HostCache, group_uuid: str) -> set[str]:
    """The hosts the members of the group are on (empty for an unknown group)."""
    group = cache.instance_group(group_uuid)
    return set() if group is None else set(group.hosts)


def member_counts(cache: HostCache, group_uuid: str) -> dict[str, int]:
    """Members of the group per host."""
    group = cache.instance_group(group_uuid)
    if group is None:
        return {}
    members = set(group.members)
    counts: dict[str, int] = {}
    batch = every_host(cache)
    for host, instances in zip(batch.host, batch.instances, strict=True):
        on_host = len(members.intersection(instances))
        if on_host:
            counts[host] = counts.get(host, 0) + on_host
    return counts


def group_of_instance(db: Database, instance_uuid: str) -> str | None:
    """The uuid of the server group the instance is a member of (from the store)."""
    with db.read() as conn:
        for group in group_store.by_ids(conn):
            if instance_uuid in group.members:
                return group.uuid
    return None
