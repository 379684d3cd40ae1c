"""What a candidate search returns: plain values, independent of the index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from corral.placement.index.state import ProviderSummary


class Candidate(NamedTuple):
    """One allocation request. Read-only: candidates of one search may share
    their inner dicts.

    `allocations`: per provider uuid, the amount of each resource class, the
    amounts of all groups taking a class from that provider added up.
    `mappings`: per group suffix, the uuids of the providers that satisfy it.
    """

    allocations: dict[str, dict[str, int]]
    mappings: dict[str, list[str]]


@dataclass(frozen=True)
class SingleProviderGroups:
    """Candidates in compact form, for requests whose every group is satisfied
    by one provider (a plain request on a flat cloud, granular requests).

    Candidate i maps group g (suffix `suffixes[g]`) to provider
    `providers[g][i]`. What each provider of candidate i takes depends only on
    which groups share a provider, its `pattern[i]`: `layouts[pattern[i]]`
    lists (g, amounts) for the provider of group g. The amount dicts are
    shared between candidates: read-only.
    """

    suffixes: list[str]
    providers: list[list[str]]
    layouts: list[list[tuple[int, dict[str, int]]]]
    pattern: list[int]

    def __len__(self) -> int:
        return len(self.pattern)

    def expand(self) -> list[Candidate]:
        out = []
        for row, pattern in enumerate(self.pattern):
            allocations = {self.providers[g][row]: res for g, res in self.layouts[pattern]}
            mappings = {s: [self.providers[g][row]] for g, s in enumerate(self.suffixes)}
            out.append(Candidate(allocations, mappings))
        return out


@dataclass
class CandidateResult:
    """Candidates in order, and the summaries of the providers of their trees.

    An answer whose every group is satisfied by one provider is kept compact
    (`single`) and expanded into `Candidate`s only when someone asks for
    `candidates`.
    """

    summaries: list[ProviderSummary] = field(default_factory=list)
    # Every class the request names (summaries before 1.27 show only these).
    requested_classes: frozenset[str] = frozenset()
    single: SingleProviderGroups | None = None
    general: list[Candidate] | None = None

    @property
    def candidates(self) -> list[Candidate]:
        if self.general is None:
            self.general = self.single.expand() if self.single is not None else []
        return self.general

    def __len__(self) -> int:
        if self.general is None and self.single is not None:
            return len(self.single)
        return len(self.candidates)
