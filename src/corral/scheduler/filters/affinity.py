"""Nova's affinity_filter module: instance and server-group (anti-)affinity, CIDR."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostFilter, column, scheduler_hint
from corral.scheduler.spec import RequestSpec


def _uuid_set(hint: object) -> set[str]:
    """Nova's instance_uuids_overlap accepts one uuid or a list of them."""
    if isinstance(hint, str):
        return {hint}
    if isinstance(hint, list | tuple):
        return {str(u) for u in hint}
    return set()


def _overlap(batch: HostBatch, uuids: set[str]) -> Mask:
    instances: list[Mapping[str, str]] = list(column(batch, "instances"))
    return np.fromiter(
        (not uuids.isdisjoint(on_host.keys()) for on_host in instances),
        dtype=np.bool_,
        count=len(batch),
    )


class DifferentHostFilter(HostFilter):
    """Nova: with hint `different_host`, hosts running any of those instances fail."""

    name = "DifferentHostFilter"
    run_filter_once_per_request = True
    reason = "runs an instance named by the different_host hint"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        uuids = scheduler_hint(spec, "different_host")
        if not uuids:
            return np.ones(len(batch), dtype=np.bool_)
        return ~_overlap(batch, _uuid_set(uuids))


class SameHostFilter(HostFilter):
    """Nova: with hint `same_host`, only hosts running one of those instances pass."""

    name = "SameHostFilter"
    run_filter_once_per_request = True
    reason = "runs none of the instances named by the same_host hint"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        uuids = scheduler_hint(spec, "same_host")
        if not uuids:
            return np.ones(len(batch), dtype=np.bool_)
        return _overlap(batch, _uuid_set(uuids))


class SimpleCIDRAffinityFilter(HostFilter):
    """Nova: with hint `build_near_host_ip`, only hosts whose IP is in that network pass.

    The network is `build_near_host_ip` + `cidr` (hint, default "/24"), host
    bits allowed as netaddr allows them. Where Nova's netaddr would raise (an
    unparseable hint, a host without an IP) the host fails with a reason.
    """

    name = "SimpleCIDRAffinityFilter"
    run_filter_once_per_request = True

    def _network(self, spec: RequestSpec) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        address = scheduler_hint(spec, "build_near_host_ip")
        if not address:
            return None
        cidr = scheduler_hint(spec, "cidr", "/24")
        return ipaddress.ip_network(f"{address}{cidr}", strict=False)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        try:
            network = self._network(spec)
        except (ValueError, TypeError):
            return np.zeros(len(batch), dtype=np.bool_)
        if network is None:
            return np.ones(len(batch), dtype=np.bool_)
        version = network.version
        mask = int(network.netmask)
        prefix = int(network.network_address)
        return np.fromiter(
            (
                (parsed := _address(ip)) is not None
                and parsed[0] == version
                and parsed[1] & mask == prefix
                for ip in batch.host_ip
            ),
            dtype=np.bool_,
            count=len(batch),
        )

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        try:
            network = self._network(spec)
        except (ValueError, TypeError):
            return ["invalid build_near_host_ip/cidr hint"] * int(np.count_nonzero(~passed))
        return [
            "host has no IP address" if not batch.host_ip[i] else f"host IP not in {network}"
            for i in np.flatnonzero(~passed).tolist()
        ]


def _address(ip: str | None) -> tuple[int, int] | None:
    """(IP version, address as an int), or None; inet_pton is ~10x ipaddress's speed."""
    if not ip:
        return None
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, ip), "big")
        except (OSError, ValueError, TypeError):
            continue
    try:  # what inet_pton refuses but Python reads (a scoped IPv6 address)
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return address.version, int(address)


def _max_server_per_host(rules: Mapping[str, str]) -> int:
    """Nova's InstanceGroup.rules: max_server_per_host as an int, default 1."""
    if rules and "max_server_per_host" in rules:
        return int(rules["max_server_per_host"])
    return 1


class ServerGroupAntiAffinityFilter(HostFilter):
    """Nova: for an anti-affinity group, a host passes while it runs fewer than
    `max_server_per_host` (rule, default 1) members of the group.

    The host already running the instance itself passes (move operations).
    """

    name = "ServerGroupAntiAffinityFilter"
    policy_name = "anti-affinity"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        group = spec.instance_group
        if group is None or group.policy != self.policy_name:
            return np.ones(len(batch), dtype=np.bool_)
        try:
            limit = _max_server_per_host(group.rules)
        except ValueError:
            return np.zeros(len(batch), dtype=np.bool_)
        members = set(group.members)
        instances: list[Mapping[str, str]] = list(column(batch, "instances"))
        own = spec.instance_uuid
        return np.fromiter(
            (
                (own is not None and own in on_host)
                or len(members.intersection(on_host.keys())) < limit
                for on_host in instances
            ),
            dtype=np.bool_,
            count=len(batch),
        )

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        group = spec.instance_group
        try:
            limit = _max_server_per_host(group.rules) if group else 1
        except ValueError:
            return ["invalid max_server_per_host rule"] * int(np.count_nonzero(~passed))
        return [f"server group anti-affinity: {limit} member(s) of the group already here"] * int(
            np.count_nonzero(~passed)
        )


class ServerGroupAffinityFilter(HostFilter):
    """Nova: for an affinity group that has hosts already, only those hosts pass."""

    name = "ServerGroupAffinityFilter"
    policy_name = "affinity"
    reason = "server group affinity: not a host of the group"

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        group = spec.instance_group
        if group is None or group.policy != self.policy_name or not group.hosts:
            return np.ones(len(batch), dtype=np.bool_)
        hosts = set(group.hosts)
        return np.fromiter((h in hosts for h in batch.host), dtype=np.bool_, count=len(batch))
