"""What every host filter is: a Nova filter over a whole HostBatch.

A filter answers `filter(batch, spec)` with a boolean mask (True: the host
passes). Cheap filters compute the mask from numpy columns; the few that need
per-host structure subclass `HostByHostFilter` and answer one host at a time.
When a request fits nowhere the engine asks the filters that removed hosts for
`reasons(...)`, one short phrase per removed host ("disabled", "not in
aggregate for flavor m1.small"), and folds them into the NoValidHost
explanation. Reasons are computed only then, never on the success path.

Three kinds are declared here, each an extension point the registry lists
(corral.scheduler.registry): `HostFilter` (Nova's BaseHostFilter, enabled by
`[filter_scheduler] enabled_filters`), `CandidateFilter` (a host filter that
also says which of a host's allocation candidates fit: Nova's
CandidateFilterMixin, NUMATopologyFilter and PciPassthroughFilter) and
`PreFilter` (Nova HostManager's ignore/force hosts and requested
destination, always on and always first).

Class attributes mirror Nova's: `name` is Nova's class name (the name config
uses), `run_filter_once_per_request` is Nova's attribute of that name and
`run_on_rebuild` Nova's RUN_ON_REBUILD: a filter that does not run on
rebuild passes every host when the request is a rebuild check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from oslo_config import cfg

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.columns import IncompleteBatch, column
from corral.scheduler.explain import StageReport
from corral.scheduler.spec import LimitValue, RequestSpec

__all__ = [
    "CandidateFilter",
    "HostByHostFilter",
    "HostFilter",
    "IncompleteBatch",
    "PreFilter",
    "column",
    "request_is_rebuild",
    "scheduler_hint",
]


def scheduler_hint(spec: RequestSpec, name: str, default: Any = None) -> Any:
    """Nova's RequestSpec.get_scheduler_hint: a one-item list reads as its item."""
    value = spec.scheduler_hints.get(name)
    if value is None:
        return default
    if isinstance(value, list | tuple):
        return value[0] if len(value) == 1 else list(value)
    return value


def request_is_rebuild(spec: RequestSpec) -> bool:
    """Nova's scheduler.utils.request_is_rebuild: hint _nova_check_type == ['rebuild']."""
    value = spec.scheduler_hints.get("_nova_check_type")
    return value is not None and list(value) == ["rebuild"]


class HostFilter:
    """Base of every filter; subclasses implement `host_mask`."""

    name: ClassVar[str]
    run_filter_once_per_request: ClassVar[bool] = False
    run_on_rebuild: ClassVar[bool] = False
    # The phrase for a removed host when a filter has only one reason.
    reason: ClassVar[str] = "rejected"
    # whether the verdict reads what choosing a host changes in the batch
    # (usage, instances, the server group's hosts); False lets a batch's mask
    # be reused for the next instance ranked over the same batch
    reads_consumption: ClassVar[bool] = True
    # whether it also keeps, per host, only the allocation candidates that fit
    # (a CandidateFilter); only then do batches carry candidates' mappings
    judges_candidates: ClassVar[bool] = False
    # whether it writes Nova's host_state.limits for the hosts it passes
    # (`host_limits`); only NUMATopologyFilter does in Nova 34
    sets_limits: ClassVar[bool] = False

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def run_filter_for_index(self, index: int) -> bool:
        """Nova's BaseFilter.run_filter_for_index: the index-th instance of a request."""
        return not (self.run_filter_once_per_request and index > 0)

    def filter(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        """True for every host that passes."""
        if not self.run_on_rebuild and request_is_rebuild(spec):
            return np.ones(len(batch), dtype=np.bool_)
        if len(batch) == 0:
            return np.zeros(0, dtype=np.bool_)
        mask = self.host_mask(batch, spec)
        assert mask.dtype == np.bool_ and mask.shape == (len(batch),)
        return mask

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        raise NotImplementedError

    def host_limits(
        self, batch: HostBatch, row: int, spec: RequestSpec
    ) -> Mapping[str, LimitValue]:
        """What the filter puts in Nova's host_state.limits for host `row`,
        which it passed; they reach the compute in Selection.limits."""
        return {}

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        """One phrase per host that did not pass (rows where `passed` is False), in order."""
        return [self.reason] * int(np.count_nonzero(~passed))

    def stage_report(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> StageReport:
        """This filter's stage of an explanation: hosts in, hosts kept, why the rest went."""
        reasons: dict[str, int] = {}
        if not passed.all():
            for reason in self.reasons(batch, spec, passed):
                reasons[reason] = reasons.get(reason, 0) + 1
        return StageReport(self.name, len(batch), int(np.count_nonzero(passed)), reasons)


class HostByHostFilter(HostFilter):
    """A filter that looks at one host at a time: `check` says why a host fails.

    `prepare(spec)` runs once per call and its result reaches every `check`,
    so what depends on the request alone (a parsed topology, a query) is
    worked out once, not once per host.
    """

    def prepare(self, spec: RequestSpec) -> Any:
        return None

    def check(self, batch: HostBatch, row: int, spec: RequestSpec, prepared: Any) -> str | None:
        """None when the host passes, else the short reason it does not."""
        raise NotImplementedError

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        prepared = self.prepare(spec)
        return np.fromiter(
            (self.check(batch, row, spec, prepared) is None for row in range(len(batch))),
            dtype=np.bool_,
            count=len(batch),
        )

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        prepared = self.prepare(spec)
        return [
            self.check(batch, row, spec, prepared) or self.reason
            for row in np.flatnonzero(~passed).tolist()
        ]


class CandidateFilter(HostFilter):
    """A host filter that judges each allocation candidate of a host (Nova's
    CandidateFilterMixin): a host passes when one of its candidates fits, and
    keeps only the candidates that do."""

    judges_candidates = True

    def passing_candidates(self, batch: HostBatch, row: int, spec: RequestSpec) -> list[int]:
        """The indexes, into `batch.candidate_mappings[row]`, of the candidates that fit."""
        raise NotImplementedError


class PreFilter(HostFilter):
    """Nova HostManager's narrowing by what the request names (hosts to
    ignore, hosts or nodes to force, the requested destination): always on,
    run before the host filters, also on rebuild."""

    run_on_rebuild = True
    reads_consumption = False

    def __init__(self) -> None:
        pass

    def applies(self, spec: RequestSpec) -> bool:
        """Whether the request names anything this pre-filter narrows by."""
        raise NotImplementedError
