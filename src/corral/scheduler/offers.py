"""Allocation candidates grouped by the compute host (root provider) they land on.

A search returns up to `max_placement_results` candidates, and a decision
looks at a handful of them (the chosen host's and its alternates'), so
candidates are built only when asked for: a compact answer (one provider per
group, corral.placement.candidates.result.SingleProviderGroups) is grouped
by root with numpy and expanded one candidate at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from corral.placement.candidates import Candidate, CandidateResult
from corral.placement.candidates.result import SingleProviderGroups
from corral.placement.index import IndexView


def _single_candidate(single: SingleProviderGroups, row: int) -> Candidate:
    providers = single.providers
    allocations = {providers[g][row]: res for g, res in single.layouts[single.pattern[row]]}
    mappings = {s: [providers[g][row]] for g, s in enumerate(single.suffixes)}
    return Candidate(allocations, mappings)


class CandidateSource:
    """The candidates of one search, each built on first use."""

    def __init__(self, result: CandidateResult) -> None:
        self._single = result.single
        self._general = result.candidates if result.single is None else None
        self._made: dict[int, Candidate] = {}

    def __call__(self, row: int) -> Candidate:
        made = self._made.get(row)
        if made is None:
            if self._single is not None:
                made = _single_candidate(self._single, row)
            else:
                assert self._general is not None
                made = self._general[row]
            self._made[row] = made
        return made


class HostOffers(Sequence[Candidate]):
    """One host's candidates, best first, built when read."""

    __slots__ = ("_rows", "_source")

    def __init__(self, source: CandidateSource, rows: list[int]) -> None:
        self._source = source
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self._source(row) for row in self._rows[index]]
        return self._source(self._rows[index])

    def __iter__(self) -> Iterator[Candidate]:
        return (self._source(row) for row in self._rows)


def offers_by_root(view: IndexView, result: CandidateResult) -> dict[str, Sequence[Candidate]]:
    """root provider uuid -> its candidates, in the order the search gave them.

    A candidate that spans two trees (a sharing provider's share) is offered
    to each of their roots, as Nova files it under every provider it names.
    """
    rows_of: dict[int, list[int]] = {}
    single = result.single
    if single is not None:
        per_group = [view.root_slots(providers) for providers in single.providers]
        if len(per_group) == 1 and len(per_group[0]):
            # Group the rows by root with one sort; each host's rows keep the
            # search's order, hosts come in the order of their first row.
            roots = per_group[0]
            order = np.argsort(roots, kind="stable")
            if not (np.diff(roots[order]) == 0).any():
                # One candidate per host (compute nodes without nested
                # providers): every row is its own host, in the search's order.
                source = CandidateSource(result)
                return {uuid: HostOffers(source, [row])
                        for row, uuid in enumerate(view.uuids_of(roots.tolist()))}  # fmt: skip
            runs = np.split(order, np.flatnonzero(np.diff(roots[order])) + 1)
            runs.sort(key=lambda run: int(run[0]))
            for run in runs:
                rows_of[int(roots[run[0]])] = run.tolist()
        elif len(per_group) > 1:
            stacked = np.stack(per_group, axis=1).tolist()
            for row, tree_roots in enumerate(stacked):
                for root in dict.fromkeys(tree_roots):
                    rows_of.setdefault(root, []).append(row)
    else:
        for row, candidate in enumerate(result.candidates):
            spanned = view.root_slots(list(candidate.allocations)).tolist()
            for root in dict.fromkeys(spanned):
                rows_of.setdefault(root, []).append(row)
    source = CandidateSource(result)
    root_uuids = view.uuids_of(rows_of)
    return {
        uuid: HostOffers(source, rows)
        for uuid, rows in zip(root_uuids, rows_of.values(), strict=True)
    }


def offered_roots(view: IndexView, result: CandidateResult) -> npt.NDArray[np.intp]:
    """The index slots of the roots the candidates land on (in no set order,
    repeats included), without building a candidate: what counting every
    host needs."""
    single = result.single
    if single is not None:
        parts = [view.root_slots(providers) for providers in single.providers]
    else:
        parts = [view.root_slots(list(c.allocations)) for c in result.candidates]
    if not parts:
        return np.zeros(0, dtype=np.intp)
    return np.concatenate(parts).astype(np.intp)
