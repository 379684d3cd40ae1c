"""The overview page: utilisation per zone, aggregate and cell, the host map, the last hour.

Utilisation is corral.scheduler.fleet's (the host cache and the placement
index, as a request's search reads them). The scheduling figures are the
counters /metrics exports (corral.metrics), since the service started.
The map and the figures are one fragment (`/dashboard/live`) that htmx
fetches again every REFRESH_SECONDS; the host table is paginated.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from corral import metrics
from corral.api.dashboard import forms, render
from corral.api.dashboard.buckets import BUCKET_LABELS, bucket_class
from corral.api.http import Request, Response
from corral.api.policies import scheduler as policy
from corral.api.scheduler.select import scheduler_of
from corral.scheduler import fleet as fleet_state
from corral.scheduler.fleet import CLASSES, Fleet

REFRESH_SECONDS = 10
HOSTS_PER_PAGE = 50
STATES = ("down", "disabled", "forced down")
_LABELS = {
    **{f"u{i}": label for i, label in enumerate(BUCKET_LABELS)},
    **{state.replace(" ", "-"): state for state in STATES},
}
# A cell is one unit wide; the gap keeps neighbours apart at any zoom.
CELL = 0.8


@dataclass(frozen=True)
class Usage:
    """One resource class summed over some hosts."""

    resource_class: str
    used: int
    capacity: float

    @property
    def share(self) -> float:
        return self.used / self.capacity if self.capacity > 0 else 0.0


@dataclass(frozen=True)
class GroupRow:
    """Hosts grouped by zone, aggregate or cell."""

    name: str
    hosts: int
    usage: tuple[Usage, ...]


@dataclass(frozen=True)
class ZoneMap:
    """One zone's host map: an SVG path per colour, one square per host."""

    zone: str
    hosts: int
    columns: int
    rows: int
    # css class -> SVG path data
    paths: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...]


def _usage(fleet: Fleet, rows: Iterable[int]) -> tuple[Usage, ...]:
    totals = fleet.totals(rows)
    return tuple(Usage(rc, *totals[rc]) for rc in CLASSES)


def group_rows(fleet: Fleet, keys: Sequence[Iterable[str]]) -> list[GroupRow]:
    """Per name, the utilisation of the rows whose keys hold it (a row may be in several)."""
    members: dict[str, list[int]] = defaultdict(list)
    for row, names in enumerate(keys):
        for name in names:
            members[name].append(row)
    return [
        GroupRow(name, len(rows), _usage(fleet, rows)) for name, rows in sorted(members.items())
    ]


def state_class(state: str) -> str:
    return state.replace(" ", "-")


def zone_maps(fleet: Fleet) -> list[ZoneMap]:
    shares = fleet.utilisation()
    by_zone: dict[str, list[int]] = defaultdict(list)
    for row, zone in enumerate(fleet.batch.availability_zone):
        by_zone[zone].append(row)
    maps = []
    for zone, rows in sorted(by_zone.items()):
        # About twice as wide as tall, at least ten across so a few hosts stay small.
        columns = max(10, math.ceil(math.sqrt(len(rows) * 2)))
        paths: dict[str, list[str]] = defaultdict(list)
        for i, row in enumerate(rows):
            state = fleet.state(row)
            css = bucket_class(float(shares[row])) if state == "up" else state_class(state)
            y, x = divmod(i, columns)
            paths[css].append(f"M{x} {y}h{CELL}v{CELL}h-{CELL}z")
        counts = [(_LABELS[css], len(paths[css])) for css in _LABELS if css in paths]
        maps.append(
            ZoneMap(
                zone=zone,
                hosts=len(rows),
                columns=columns,
                rows=math.ceil(len(rows) / columns),
                paths=tuple((css, "".join(p)) for css, p in sorted(paths.items())),
                counts=tuple(counts),
            )
        )
    return maps


@dataclass(frozen=True)
class Rates:
    """The scheduling counters of /metrics."""

    selected: int
    no_valid_host: int
    errors: int
    claim_conflicts: int

    @property
    def no_valid_host_rate(self) -> float:
        decided = self.selected + self.no_valid_host
        return self.no_valid_host / decided if decided else 0.0


def rates() -> Rates:
    outcomes = metrics.scheduling_outcomes()
    return Rates(
        selected=int(outcomes.get("selected", 0)),
        no_valid_host=int(outcomes.get("no_valid_host", 0)),
        errors=int(outcomes.get("error", 0)),
        claim_conflicts=int(sum(metrics.claim_conflicts().values())),
    )


def _live_context(fleet: Fleet) -> dict[str, Any]:
    batch = fleet.batch
    aggregates = fleet.aggregates()
    states = [fleet.state(row) for row in range(len(fleet))]
    return {
        "fleet_usage": _usage(fleet, range(len(fleet))),
        "hosts_total": len(fleet),
        "state_counts": {s: states.count(s) for s in ("up", *STATES)},
        "zones": group_rows(fleet, [(z,) for z in batch.availability_zone]),
        "aggregates": group_rows(
            fleet, [[aggregates[i].name for i in ids] for ids in batch.aggregate_ids]
        ),
        "cells": group_rows(fleet, [(c or "(none)",) for c in batch.cell_uuid]),
        "maps": zone_maps(fleet),
        "bucket_labels": [(f"u{i}", label) for i, label in enumerate(BUCKET_LABELS)],
        "states": [(state_class(s), s) for s in STATES],
        "rates": rates(),
        "refresh": REFRESH_SECONDS,
    }


@dataclass(frozen=True)
class HostRow:
    host: str
    node: str
    zone: str
    state: str
    instances: int
    usage: tuple[Usage, ...]


def host_rows(fleet: Fleet, rows: Sequence[int]) -> list[HostRow]:
    batch = fleet.batch
    return [
        HostRow(
            host=batch.host[row],
            node=batch.node[row],
            zone=batch.availability_zone[row],
            state=fleet.state(row),
            instances=int(batch.num_instances[row]),
            usage=tuple(
                Usage(rc, int(fleet.used[rc][row]), float(fleet.capacity[rc][row]))
                for rc in CLASSES
            ),
        )
        for row in rows
    ]


def snapshot(req: Request) -> Fleet:
    scheduler = scheduler_of(req)
    return fleet_state.snapshot(scheduler.index, scheduler.hosts)


def overview(req: Request) -> Response:
    """The overview: utilisation, the host map and the scheduling counters, then every host."""
    req.authorize(policy.DASHBOARD_VIEW)
    query = dict(req.query)
    search = forms.name(query, "host")
    number = forms.page_number(query)
    fleet = snapshot(req)
    rows = list(range(len(fleet)))
    if search is not None:
        needle = search.lower()
        rows = [r for r in rows if needle in fleet.batch.host[r].lower()]
    pages = forms.Pages(number, HOSTS_PER_PAGE, len(rows))
    return render.page(
        req,
        "overview.html",
        title="Overview",
        search=search or "",
        pages=pages,
        hosts=host_rows(fleet, rows[pages.start : pages.stop]),
        **_live_context(fleet),
    )


def live(req: Request) -> Response:
    """The part of the overview htmx refreshes."""
    req.authorize(policy.DASHBOARD_VIEW)
    fleet = snapshot(req)
    return render.page(req, "overview_live.html", **_live_context(fleet))
