"""Allocation candidates per host, for the filters that judge each one (Nova's
CandidateFilterMixin): NUMATopologyFilter and PciPassthroughFilter keep a host
when one of its candidates fits, and `passing_candidates` tells the engine
which ones did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from corral.scheduler.batch import HostBatch

NO_MAPPINGS: tuple[Mapping[str, tuple[str, ...]], ...] = ({},)


def mappings(batch: HostBatch, row: int) -> Sequence[Mapping[str, Sequence[str]]]:
    """The candidates' provider mappings of the host; one empty mapping when the batch
    carries none (Nova's behaviour with no PCI devices tracked in Placement)."""
    if not batch.candidate_mappings:
        return NO_MAPPINGS
    return batch.candidate_mappings[row]
