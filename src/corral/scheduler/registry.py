"""The static registry of the scheduler's extension points: name -> class.

One table per extension point, each of one declared interface:

- request filters: `request_filters.RequestFilter`, listed in
  `request_filters.ALL_REQUEST_FILTERS`;
- pre-filters: `filters.base.PreFilter`, listed in `stages.prefilter.PRE_FILTERS`;
- host filters: `filters.base.HostFilter`, listed in `filters.ALL_FILTERS`;
- candidate filters: `filters.base.CandidateFilter`, the host filters that
  also judge each allocation candidate (NUMA, PCI);
- weighers: `weighers.base.HostWeigher`, listed in `weighers.ALL_WEIGHERS`.

Request filters and pre-filters are always on, in their lists' order (as
in Nova); host filters and weighers are chosen by name from config. The
tables are filled at import time from those explicit lists, never from
config: a config names entries of these dicts, and an unknown name
or an import path is a startup error (corral.service.validation). Nothing here
imports a module by a name it was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from oslo_config import cfg

from corral.conf.scheduler import ALL_WEIGHERS_NAME
from corral.scheduler.filters import ALL_FILTERS, CandidateFilter, HostFilter, PreFilter
from corral.scheduler.request_filters import ALL_REQUEST_FILTERS, RequestFilter
from corral.scheduler.stages.prefilter import PRE_FILTERS as ALL_PRE_FILTERS
from corral.scheduler.weighers import ALL_WEIGHERS, HostWeigher

REQUEST_FILTERS: dict[str, type[RequestFilter]] = {cls.name: cls for cls in ALL_REQUEST_FILTERS}
PRE_FILTERS: dict[str, type[PreFilter]] = {cls.name: cls for cls in ALL_PRE_FILTERS}
FILTERS: dict[str, type[HostFilter]] = {cls.name: cls for cls in ALL_FILTERS}
CANDIDATE_FILTERS: dict[str, type[CandidateFilter]] = {
    name: cls for name, cls in FILTERS.items() if issubclass(cls, CandidateFilter)
}
WEIGHERS: dict[str, type[HostWeigher]] = {cls.name: cls for cls in ALL_WEIGHERS}

T = TypeVar("T")


class UnknownPlugin(ValueError):
    """A filter or weigher name the registry does not have."""


def valid_filter_names() -> frozenset[str]:
    return frozenset(FILTERS)


def valid_weigher_names() -> frozenset[str]:
    return frozenset(WEIGHERS)


def _lookup(names: Iterable[str], table: dict[str, T], every: str | None, kind: str) -> list[T]:
    classes: list[T] = []
    for name in names:
        if every is not None and name == every:
            classes.extend(table.values())
        elif name in table:
            classes.append(table[name])
        else:
            valid = ", ".join(sorted(table))
            if "." in name:
                raise UnknownPlugin(
                    f"{name!r} is an import path; corral loads nothing by import path. "
                    f"Valid {kind} names: {valid}"
                )
            raise UnknownPlugin(f"unknown {kind} {name!r}. Valid names: {valid}")
    return classes


def filter_classes(names: Iterable[str]) -> list[type[HostFilter]]:
    """The classes of [filter_scheduler] enabled_filters, in order.

    There is no "every filter" here: enabled_filters is an order, and `all`
    (like Nova's all_filters) only belongs in available_filters.
    """
    return _lookup(names, FILTERS, None, "filter")


def weigher_classes(names: Iterable[str]) -> list[type[HostWeigher]]:
    """The classes of [filter_scheduler] weight_classes, in order.

    `all` means every weigher. As in Nova, a weigher named twice (itself and
    through `all`) weighs twice.
    """
    return _lookup(names, WEIGHERS, ALL_WEIGHERS_NAME, "weigher")


def enabled_filters(conf: cfg.ConfigOpts) -> list[HostFilter]:
    """Instances of the configured filters, in the configured order."""
    return [cls(conf) for cls in filter_classes(conf.filter_scheduler.enabled_filters)]


def enabled_weighers(conf: cfg.ConfigOpts) -> list[HostWeigher]:
    """Instances of the configured weighers."""
    return [cls(conf) for cls in weigher_classes(conf.filter_scheduler.weight_classes)]


def request_filters() -> list[RequestFilter]:
    """Nova's request filters, in Nova's order (each reads its own options)."""
    return [cls() for cls in REQUEST_FILTERS.values()]


def pre_filters() -> list[PreFilter]:
    """Nova HostManager's pre-filters, in Nova's order."""
    return [cls() for cls in PRE_FILTERS.values()]
