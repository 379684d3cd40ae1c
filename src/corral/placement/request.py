"""What a caller asks of the candidate engine, by name, before ids are resolved.

These are corral's counterparts of upstream Placement's `lib.RequestGroup` and
`lib.RequestWideParams`. They are plain immutable values: the API layer builds
them from a query string (`corral.api.placement.query_params`), the scheduler
builds them from a request spec, and the engine only reads them.

Trait and aggregate requirements are conjunctions of disjunctions: each
element of `required_traits` (or `member_of`) is a set of names of which a
provider needs at least one, and it needs that for every element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


def _frozen_mapping(data: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class RequestGroup:
    """One request group: `resources`/`required`/`member_of`/`in_tree` with one suffix.

    The unsuffixed group (suffix "") may be satisfied by several providers of
    one tree plus sharing providers; a suffixed (granular) group must be
    satisfied by exactly one provider.
    """

    suffix: str = ""
    # resource class name -> amount (>= 1), in the order the request gave them
    resources: Mapping[str, int] = field(default_factory=_frozen_mapping)
    required_traits: tuple[frozenset[str], ...] = ()
    forbidden_traits: frozenset[str] = frozenset()
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggs: frozenset[str] = frozenset()
    # uuid of any provider; the group must be satisfied from that provider's tree
    in_tree: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.resources, MappingProxyType):
            object.__setattr__(self, "resources", _frozen_mapping(self.resources))

    @property
    def use_same_provider(self) -> bool:
        """Granular groups must be satisfied by a single provider."""
        return bool(self.suffix)


class GroupPolicy(StrEnum):
    """How granular groups may share providers (`group_policy=`)."""

    NONE = "none"
    ISOLATE = "isolate"


@dataclass(frozen=True)
class RequestWideParams:
    """Parameters of GET /allocation_candidates that apply to the request as a whole."""

    # At most this many candidates (None: all). With randomisation on, a random sample.
    limit: int | None = None
    group_policy: GroupPolicy | None = None
    # `root_required`: traits the root of every candidate's tree must have / lack.
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    # One set of group suffixes per `same_subtree` parameter: the providers that
    # satisfy those groups must all lie under one of them.
    same_subtrees: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class CandidateRequest:
    """A whole GET /allocation_candidates request, ready for the engine.

    `groups` keeps the order of first appearance in the query string; the
    unsuffixed group, when present, is keyed by "".
    `nested_aware` is False before microversion 1.29: candidates that take
    resources from two providers of one tree are then dropped, as upstream.
    """

    groups: Mapping[str, RequestGroup]
    params: RequestWideParams = field(default_factory=RequestWideParams)
    nested_aware: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.groups, MappingProxyType):
            object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))

    @property
    def resource_class_names(self) -> set[str]:
        return {rc for group in self.groups.values() for rc in group.resources}
