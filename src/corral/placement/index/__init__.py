"""The in-memory index of providers, inventories, usage, traits and aggregates."""

from corral.placement.index.live import PlacementIndex
from corral.placement.index.state import IndexState, ProviderSummary

__all__ = ["IndexState", "PlacementIndex", "ProviderSummary"]
