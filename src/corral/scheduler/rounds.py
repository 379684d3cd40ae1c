"""Rounds: the requests that queued while the last round ran, decided together.

Calls that arrive while a round is being decided wait for the next round
(corral.scheduler.coalesce, flat combining). In a round, single-instance
requests with the same spec but for the instance (an equivalence class, as
Borg's) share one search and are placed one after the other over the same
batch, each consuming its host as the instances of one request do, with
the same rank, consume and alternates stages as the one-request path
(corral.scheduler.pipeline). All their claims are written in one
transaction in which each claim is accepted or refused on its own; a
refused request (another process took the room meanwhile) is decided again
on the one-request path, as are requests for several instances or none,
and rebuild checks (which claim nothing).

The requests of a server group must see each other's hosts, so each group
is decided by one class or one request per pass; an instance named twice
waits for the next pass too (its first claim lands first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from corral import metrics
from corral.scheduler.admission import Admitted, group_uuid
from corral.scheduler.filters.base import request_is_rebuild
from corral.scheduler.pipeline import Pipeline
from corral.scheduler.spec import NoValidHost, Selection
from corral.scheduler.stages.alternates import selections
from corral.scheduler.stages.claim import Claim, claim_for
from corral.scheduler.stages.consume import consume
from corral.scheduler.stages.rank import RankMemo, choices

Outcome = list[list[Selection]] | BaseException


@dataclass(frozen=True, slots=True)
class QueuedRequest:
    """A select_destinations call waiting for its round."""

    admitted: Admitted
    uuids: tuple[str, ...]
    return_alternates: bool

    @property
    def uuid(self) -> str | None:
        """The instance of a single-instance request: those are decided in
        classes, but for a rebuild check, which claims nothing."""
        if len(self.uuids) != 1 or request_is_rebuild(self.admitted.spec):
            return None
        return self.uuids[0]

    def class_key(self, position: int) -> str:
        """Requests with the same key are one equivalence class."""
        if self.uuid is None:
            return f"alone {position}"
        return repr(dataclasses.replace(self.admitted.spec, instance_uuid=None))


@dataclass(frozen=True, slots=True)
class _Decided:
    """A request's host, chosen in a round; it is the answer once its claim lands."""

    position: int
    selections: list[Selection]
    claim: Claim


def decide_round(pipeline: Pipeline, requests: Sequence[QueuedRequest]) -> list[Outcome]:
    """One outcome per request, in order: its selections, or what to raise."""
    metrics.record_round(len(requests))
    outcomes: dict[int, Outcome] = {}
    todo = list(enumerate(requests))
    while todo:
        todo = _pass(pipeline, todo, outcomes)
    return [outcomes[i] for i in range(len(requests))]


def _pass(
    pipeline: Pipeline,
    todo: list[tuple[int, QueuedRequest]],
    outcomes: dict[int, Outcome],
) -> list[tuple[int, QueuedRequest]]:
    """One pass over the queued requests; returns those left for the next pass."""
    classes: dict[str, list[tuple[int, QueuedRequest]]] = {}
    alone: list[tuple[int, QueuedRequest]] = []
    later: list[tuple[int, QueuedRequest]] = []
    named: set[str] = set()
    group_taker: dict[str, str] = {}
    for i, request in todo:
        key = request.class_key(i)
        group = group_uuid(request.admitted.spec)
        if not named.isdisjoint(request.uuids) or (
            group is not None and group_taker.setdefault(group, key) != key
        ):
            later.append((i, request))
            continue
        named.update(request.uuids)
        if request.uuid is None:
            alone.append((i, request))
        else:
            classes.setdefault(key, []).append((i, request))
    decided: list[_Decided] = []
    for members in classes.values():
        _decide_class(pipeline, members, outcomes, decided)
    accepted = pipeline.claimer.claim_each([d.claim for d in decided])
    refused = []
    for d in decided:
        if d.claim.uuid in accepted:
            outcomes[d.position] = [d.selections]
        else:
            refused.append(d.position)
    by_position = dict(todo)
    for i, request in [*((i, by_position[i]) for i in refused), *alone]:
        try:
            outcomes[i] = pipeline.decide(
                request.admitted, request.uuids, request.return_alternates
            )
        except Exception as exc:
            outcomes[i] = exc
    return later


def _decide_class(
    pipeline: Pipeline,
    members: list[tuple[int, QueuedRequest]],
    outcomes: dict[int, Outcome],
    decided: list[_Decided],
) -> None:
    """One search for requests that ask the same thing, then a host for each."""
    try:
        search, spec = pipeline.search.run(members[0][1].admitted)
    except Exception as exc:
        for i, _ in members:
            outcomes[i] = exc
        return
    if search.refusal is not None:
        explanation = pipeline.diagnosis.refused(search)
        for i, _ in members:
            outcomes[i] = NoValidHost(explanation.summary(), explanation)
        return
    memo = RankMemo()
    batch = search.batch
    for i, request in members:
        try:
            mine = dataclasses.replace(spec, instance_uuid=request.admitted.spec.instance_uuid)
            ranked = pipeline.ranker.rank(search, batch, mine, 0, memo)
            row = next(choices(search, ranked), None)
            if row is None:
                outcomes[i] = pipeline.diagnosis.no_valid_host(search, batch, mine, 0, 0)
                continue
            chosen = selections(
                search,
                ranked,
                row,
                set(),
                return_alternates=request.return_alternates,
                max_attempts=pipeline.settings.max_attempts,
            )
            candidate = search.offered[ranked.batch.provider_uuid[row]][0]
            claim = claim_for(request.uuids[0], mine, ranked.batch, row, candidate)
            decided.append(_Decided(i, chosen, claim))
            spec = consume(
                search, batch, ranked.origin(row), mine, request.uuids[0], ranked.limits(row)
            )
        except Exception as exc:
            outcomes[i] = exc
