"""The scheduler's in-memory host cache (Nova HostManager's host states).

mirror.py follows the scheduler's tables, liveness.py the heartbeats,
batches.py builds HostBatches; cache.py wires them into `HostCache`.
"""

from corral.scheduler.host_cache.cache import CacheStats, HostCache

__all__ = ["CacheStats", "HostCache"]
