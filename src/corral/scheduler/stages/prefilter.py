"""Nova HostManager's pre-filter, as ordinary filters that always run first.

nova.scheduler.host_manager.HostManager.get_host_states_by_uuids keeps
only the hosts of the requested destination's cell, unless the move may
cross cells (`allow_cross_cell_move`): hosts of other cells are never host
states, so they are neither chosen nor alternates. Its get_filtered_hosts strips
`ignore_hosts`, then keeps only `force_hosts` and `force_nodes` (when any of
them is left, the host filters do not run at all), and
FilterScheduler keeps only the requested destination's host and node
(nova.scheduler.utils / RequestSpec.requested_destination). Host and node
names compare case-insensitively, as Nova lowers them.

They are HostFilters (corral.scheduler.filters.base.PreFilter), so their
reasons reach the explanation the ordinary way; the registry lists them in
PRE_FILTERS and the search stage runs them, in that order, on every batch.
A pre-filter stage shows in an explanation only when it removed a host.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.explain import StageReport
from corral.scheduler.filters.base import PreFilter
from corral.scheduler.spec import RequestSpec


def _matches(values: Sequence[str], wanted: Sequence[str]) -> Mask:
    lowered = {w.lower() for w in wanted}
    return np.fromiter((v.lower() in lowered for v in values), dtype=np.bool_, count=len(values))


class RequestedCell(PreFilter):
    """RequestSpec.requested_destination.cell: a move stays in its cell
    unless `allow_cross_cell_move` (Nova's get_host_states_by_uuids)."""

    name = "requested_cell"
    reason = "not in the requested cell"

    def applies(self, spec: RequestSpec) -> bool:
        destination = spec.requested_destination
        return (
            destination is not None
            and destination.cell_uuid is not None
            and not destination.allow_cross_cell_move
        )

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        destination = spec.requested_destination
        assert destination is not None and destination.cell_uuid is not None
        cell = destination.cell_uuid
        return np.fromiter((c == cell for c in batch.cell_uuid), dtype=np.bool_, count=len(batch))


class IgnoreHosts(PreFilter):
    """RequestSpec.ignore_hosts: the hosts a caller ruled out (Nova's _strip_ignore_hosts)."""

    name = "ignore_hosts"
    reason = "ignored"

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.ignore_hosts)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return ~_matches(batch.host, spec.ignore_hosts)


class ForceHosts(PreFilter):
    """RequestSpec.force_hosts (Nova's _match_forced_hosts)."""

    name = "force_hosts"
    reason = "not a forced host"

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.force_hosts)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return _matches(batch.host, spec.force_hosts)


class ForceNodes(PreFilter):
    """RequestSpec.force_nodes (Nova's _match_forced_nodes)."""

    name = "force_nodes"
    reason = "not a forced node"

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.force_nodes)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        return _matches(batch.node, spec.force_nodes)


class RequestedDestination(PreFilter):
    """RequestSpec.requested_destination's host and node (a move to a named host)."""

    name = "requested_destination"
    reason = "not the requested destination"

    def applies(self, spec: RequestSpec) -> bool:
        destination = spec.requested_destination
        return destination is not None and bool(destination.host or destination.node)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        destination = spec.requested_destination
        assert destination is not None
        keep = np.ones(len(batch), dtype=np.bool_)
        if destination.host:
            keep &= _matches(batch.host, [destination.host])
        if destination.node:
            keep &= _matches(batch.node, [destination.node])
        return keep


# Nova's order: the cell (the host states fetched), then ignored hosts, then
# the forced ones, then the destination.
PRE_FILTERS: tuple[type[PreFilter], ...] = (
    RequestedCell,
    IgnoreHosts,
    ForceHosts,
    ForceNodes,
    RequestedDestination,
)


def forces_hosts(spec: RequestSpec) -> bool:
    """Whether the spec forces hosts or nodes: then the host filters do not run."""
    return bool(spec.force_hosts or spec.force_nodes)


def pre_filter(
    prefilters: Sequence[PreFilter], batch: HostBatch, spec: RequestSpec, stages: list[StageReport]
) -> HostBatch:
    """The batch after every pre-filter that applies; a stage report for each
    one that removed hosts."""
    for prefilter in prefilters:
        if len(batch) == 0 or not prefilter.applies(spec):
            continue
        passed = prefilter.filter(batch, spec)
        if passed.all():
            continue
        stages.append(prefilter.stage_report(batch, spec, passed))
        batch = batch.take(passed)
    return batch
