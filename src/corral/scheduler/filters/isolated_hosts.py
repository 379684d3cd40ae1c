"""IsolatedHostsFilter: keep isolated images on isolated hosts."""

from __future__ import annotations

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostFilter
from corral.scheduler.spec import RequestSpec


class IsolatedHostsFilter(HostFilter):
    """Nova's matrix, from [filter_scheduler] isolated_hosts / isolated_images.

    With restrict_isolated_hosts_to_isolated_images (default): isolated hosts
    take only isolated images and isolated images go only to isolated hosts.
    Without it, isolated hosts take any image. With no isolated images listed,
    the isolated hosts are closed when restricting, everything passes when not.
    """

    name = "IsolatedHostsFilter"
    reads_consumption = False
    run_filter_once_per_request = True
    run_on_rebuild = True

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        fs = self.conf.filter_scheduler
        isolated_hosts = set(fs.isolated_hosts)
        restrict = bool(fs.restrict_isolated_hosts_to_isolated_images)
        host_isolated = np.fromiter(
            (h in isolated_hosts for h in batch.host), dtype=np.bool_, count=len(batch)
        )
        if not fs.isolated_images:
            return ~host_isolated if restrict else np.ones(len(batch), dtype=np.bool_)
        image_isolated = spec.image.id in set(fs.isolated_images)
        if restrict:
            return np.asarray(host_isolated == image_isolated, dtype=np.bool_)
        if image_isolated:
            return host_isolated
        return np.ones(len(batch), dtype=np.bool_)

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        isolated_hosts = set(self.conf.filter_scheduler.isolated_hosts)
        return [
            "isolated host, image not isolated"
            if batch.host[i] in isolated_hosts
            else "image is isolated, host is not"
            for i in np.flatnonzero(~passed).tolist()
        ]
