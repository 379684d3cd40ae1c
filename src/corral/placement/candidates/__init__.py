"""The allocation candidate search over the in-memory index."""

from corral.placement.candidates.engine import SearchSettings, find_candidates, search
from corral.placement.candidates.result import Candidate, CandidateResult

__all__ = ["Candidate", "CandidateResult", "SearchSettings", "find_candidates", "search"]
