"""The consume stage: what a chosen host gives up before the next instance.

Nova's HostState.consume_from_request, and the server group's new member:
the next instance of the same request (or of the same round's class) sees
the host's usage, instance count and io_ops with this instance in, and its
group's hosts with this host added, so affinity and anti-affinity hold
between the instances of one request.
"""

from __future__ import annotations

import dataclasses

from corral.scheduler.batch import HostBatch
from corral.scheduler.spec import RequestSpec
from corral.scheduler.stages.search import Search


def consume(
    search: Search, batch: HostBatch, row: int, spec: RequestSpec, uuid: str | None
) -> RequestSpec:
    """Take the host's first (the claimed) candidate out of `batch`'s figures;
    the spec the next instance is ranked with."""
    provider = batch.provider_uuid[row]
    candidates = search.offered.get(provider) or ()
    taken = candidates[0].allocations.get(provider, {}) if candidates else {}
    batch.consume(row, taken, None if uuid is None else (uuid, spec.project_id or ""))
    group = spec.instance_group
    if group is None:
        return spec
    members = group.members if uuid is None or uuid in group.members else (*group.members, uuid)
    grown = dataclasses.replace(group, hosts=(*group.hosts, batch.host[row]), members=members)
    return dataclasses.replace(spec, instance_group=grown)
