"""ComputeCapabilitiesFilter: flavor extra specs matched against host capabilities."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters import attributes, extra_specs_ops
from corral.scheduler.filters.base import HostByHostFilter
from corral.scheduler.spec import RequestSpec

_ROOT = object()


def capability(batch: HostBatch, row: int, scope: list[str]) -> object:
    """Nova's _get_capabilities: walk `scope` from the HostState.

    The first name is a HostState attribute, else a key of the host's stats;
    later names are keys of the dict reached so far, a JSON string being
    decoded first (cpu_info is one in Nova). None when any step finds nothing.
    """
    cap: object = _ROOT
    stats = batch.capabilities[row]
    for key in scope:
        if isinstance(cap, str):
            try:
                cap = json.loads(cap)
            except ValueError:
                return None
        if cap is _ROOT:
            value = attributes.attribute(batch, row, key)
            cap = stats.get(key) if value is None else value
        elif isinstance(cap, Mapping):
            cap = cap.get(key)
        else:
            return None
        if cap is None:
            return None
    return cap


class ComputeCapabilitiesFilter(HostByHostFilter):
    """Nova: each flavor extra spec scoped `capabilities:` (a path into the host's
    attributes and stats, `:`-separated) must match the host's value with
    extra_specs_ops; an unscoped key is checked the same way when the host
    has such an attribute or stat, and ignored otherwise. Other scopes are
    ignored. `hw:maxphysaddr_bits` = N reads as
    `capabilities:cpu_info:maxphysaddr:bits` = `>= N`.
    """

    name = "ComputeCapabilitiesFilter"
    run_filter_once_per_request = True

    def prepare(self, spec: RequestSpec) -> dict[str, str]:
        especs = dict(spec.flavor.extra_specs)
        bits = especs.pop("hw:maxphysaddr_bits", None)
        if bits is not None:
            especs["capabilities:cpu_info:maxphysaddr:bits"] = ">= " + bits
        return especs

    def check(
        self, batch: HostBatch, row: int, spec: RequestSpec, prepared: dict[str, str]
    ) -> str | None:
        stats = batch.capabilities[row]
        for key, req in prepared.items():
            scope = key.split(":")
            if len(scope) == 1:
                if not (attributes.has_attribute(key) or key in stats):
                    continue
            elif scope[0] != "capabilities":
                continue
            else:
                del scope[0]
            cap = capability(batch, row, scope)
            if cap is None:
                return f"lacks capability {':'.join(scope)}"
            if not extra_specs_ops.match(str(cap), req):
                return f"does not match flavor extra spec {key}"
        return None

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        if not spec.flavor.extra_specs:
            return np.ones(len(batch), dtype=np.bool_)
        return super().host_mask(batch, spec)
