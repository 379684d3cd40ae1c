"""The static registry of scheduler filters and weighers: name -> class.

Filled at import time by the scheduler's own modules, never from config: a
config names entries of these dicts, and an unknown name is a startup error
(corral.service.validation). Nothing here imports a module by a name it was
given.
"""

from __future__ import annotations

FILTERS: dict[str, type] = {}
WEIGHERS: dict[str, type] = {}


def valid_filter_names() -> frozenset[str]:
    return frozenset(FILTERS)


def valid_weigher_names() -> frozenset[str]:
    return frozenset(WEIGHERS)
