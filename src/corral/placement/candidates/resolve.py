"""From names in a request to ids in the index, with upstream's checks in upstream's order.

Upstream validates and searches group by group: a group that can match
nothing ends the search (an empty 200) before a later group's names are even
looked at, so a bad trait name in group 2 is only reported when group 1
matched something. `GroupResolver` reproduces that: call `resolve(group)`
right before searching the group.

Resource class and trait names are looked up in the database (the authority
on which names exist, across processes); aggregates and providers in the
index, caught up to the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from corral.errors import BadRequest
from corral.placement.index.state import IndexState
from corral.placement.request import CandidateRequest, RequestGroup
from corral.store import resource_classes, snapshot


class NoCandidates(Exception):
    """Nothing can match: the answer is an empty list, not an error."""


@dataclass(frozen=True)
class ResolvedGroup:
    suffix: str
    use_same_provider: bool
    rc_ids: tuple[int, ...]
    rc_names: tuple[str, ...]
    amounts: tuple[int, ...]
    required: tuple[frozenset[int], ...]  # trait ids, each set any-of
    forbidden: frozenset[int]  # trait ids
    member_of: tuple[frozenset[int], ...]  # aggregate ids, each set any-of
    forbidden_aggs: frozenset[int]
    tree_root: int | None  # slot of the in_tree provider's root


@dataclass(frozen=True)
class RootFilter:
    required: frozenset[int]
    forbidden: frozenset[int]


class NameSource(Protocol):
    """Which resource class and trait names exist, and their ids."""

    def rc_ids(self, names: Collection[str]) -> dict[str, int]: ...

    def trait_ids(self, names: Collection[str]) -> dict[str, int]: ...


class StoreNames:
    """Names as the database knows them, within the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rc_ids(self, names: Collection[str]) -> dict[str, int]:
        return resource_classes.ids_for_names(self.conn, names) if names else {}

    def trait_ids(self, names: Collection[str]) -> dict[str, int]:
        return snapshot.trait_ids(self.conn, names) if names else {}


class GroupResolver:
    def __init__(self, names: NameSource, state: IndexState, request: CandidateRequest) -> None:
        self.state = state
        self._rc_ids = names.rc_ids(request.resource_class_names)
        trait_names = set(request.params.root_required | request.params.root_forbidden)
        for group in request.groups.values():
            trait_names |= group.forbidden_traits
            for any_of in group.required_traits:
                trait_names |= any_of
        self._trait_ids = names.trait_ids(trait_names)

    def trait_ids(self, names: Iterable[str]) -> frozenset[int]:
        """Ids of the traits; 400 naming the first unknown one (sorted, for a stable text)."""
        out = set()
        for name in sorted(names):
            ident = self._trait_ids.get(name)
            if ident is None:
                raise BadRequest(f"No such trait(s): {name}.")
            out.add(ident)
        return frozenset(out)

    def root_filter(self, request: CandidateRequest) -> RootFilter | None:
        params = request.params
        if not (params.root_required or params.root_forbidden):
            return None
        return RootFilter(
            required=self.trait_ids(params.root_required),
            forbidden=self.trait_ids(params.root_forbidden),
        )

    def resolve(self, group: RequestGroup) -> ResolvedGroup:
        """The group in ids, or NoCandidates when it can match nothing."""
        rc_ids = []
        for name in group.resources:
            ident = self._rc_ids.get(name)
            if ident is None:
                raise BadRequest(
                    f"Invalid resource class in resources parameter: No such resource class {name}."
                )
            rc_ids.append(ident)
        member_of = self._member_of(group)
        required = tuple(self.trait_ids(any_of) for any_of in group.required_traits)
        forbidden: frozenset[int] = frozenset()
        if group.forbidden_traits:
            forbidden = self.trait_ids(group.forbidden_traits)
        tree_root = None
        if group.in_tree is not None:
            slot = self.state.slot_of_uuid.get(group.in_tree)
            if slot is None:
                raise NoCandidates(f"no provider {group.in_tree}")
            tree_root = int(self.state.root[slot])
        known_aggs = self.state.aggregate_id_of_uuid
        return ResolvedGroup(
            suffix=group.suffix,
            use_same_provider=group.use_same_provider,
            rc_ids=tuple(rc_ids),
            rc_names=tuple(group.resources),
            amounts=tuple(group.resources.values()),
            required=required,
            forbidden=forbidden,
            member_of=member_of,
            forbidden_aggs=frozenset(
                known_aggs[u] for u in group.forbidden_aggs if u in known_aggs
            ),
            tree_root=tree_root,
        )

    def _member_of(self, group: RequestGroup) -> tuple[frozenset[int], ...]:
        """Aggregate ids per any-of set; NoCandidates when no provider is in all of them."""
        if not group.member_of:
            return ()
        known = self.state.aggregate_id_of_uuid
        sets = tuple(
            frozenset(known[u] for u in any_of if u in known) for any_of in group.member_of
        )
        if not all(sets):
            raise NoCandidates("an aggregate set nobody is in")
        state = self.state
        members = state.aggregates.all_of_any(sets, state.size) & state.alive[: state.size]
        if not members.any():
            raise NoCandidates("no provider in the aggregates")
        return sets
