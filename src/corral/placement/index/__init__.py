"""The in-memory index of providers, inventories, usage, traits and aggregates."""

from corral.placement.index.live import PlacementIndex
from corral.placement.index.state import IndexState, ProviderSummary
from corral.placement.index.view import IndexView, ResourceColumn

__all__ = ["IndexState", "IndexView", "PlacementIndex", "ProviderSummary", "ResourceColumn"]
