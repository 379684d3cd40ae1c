"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from corral.scheduler.batch import Floats, HostBatch
from corral.scheduler.columns import column
from corral.scheduler.spec import RequestSpec
from corral.scheduler.weighers.base import HostWeigher


def members_on_hosts(batch: HostBatch, spec: RequestSpec, policy: str) -> Floats:
    """Nova's _SoftAffinityWeigherBase: group members on each host, for `policy` groups."""
    group = spec.instance_group
    if group is None or group.policy != policy:
        return np.zeros(len(batch), dtype=np.float64)
    members = set(group.members)
    instances: list[Mapping[str, str]] = list(column(batch, "instances"))
    return np.fromiter(
        (len(members.intersection(on_host.keys())) for on_host in instances),
        dtype=np.float64,
        count=len(batch),
    )


class ServerGroupSoftAffinityWeigher(HostWeigher):
    """Nova: soft-affinity groups prefer hosts with more members of the group."""

    name = "ServerGroupSoftAffinityWeigher"
    multiplier_option = ("filter_scheduler", "soft_affinity_weight_multiplier")
    aggregate_key = "soft_affinity_weight_multiplier"

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return members_on_hosts(batch, spec, "soft-affinity")


class ServerGroupSoftAntiAffinityWeigher(HostWeigher):
    """Nova: soft-anti-affinity groups prefer hosts with fewer members of the group."""

    name = "ServerGroupSoftAntiAffinityWeigher"
    multiplier_option = ("filter_scheduler", "soft_anti_affinity_weight_multiplier")
    aggregate_key = "soft_anti_affinity_weight_multiplier"

    def weigh(self, batch: HostBatch, spec: RequestSpec) -> Floats:
        return -1 * members_on_hosts(batch, spec, "soft-anti-affinity")
