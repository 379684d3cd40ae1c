"""ImagePropertiesFilter: the image's architecture, hypervisor type and VM mode."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import numpy as np
from oslo_utils import versionutils

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters.base import HostByHostFilter
from corral.scheduler.spec import RequestSpec


def canonical_architecture(name: object) -> str | None:
    """Nova's fields.Architecture.canonicalize (an unknown name stays as lowered)."""
    if name is None:
        return None
    new = str(name).lower()
    if new in ("i386", "i486", "i586", "x86_32", "x86_32p"):
        new = "i686"
    if new == "amd64":
        new = "x86_64"
    return new


def canonical_hv_type(name: object) -> str | None:
    """Nova's fields.HVType.canonicalize."""
    if name is None:
        return None
    new = str(name).lower()
    return "xen" if new == "xapi" else new


def canonical_vm_mode(mode: object) -> str | None:
    """Nova's fields.VMMode.canonicalize."""
    if mode is None:
        return None
    new = str(mode).lower()
    return {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}.get(new, new)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class ImagePropertiesFilter(HostByHostFilter):
    """Nova: an image naming an architecture (`hw_architecture`, else
    [filter_scheduler] image_properties_default_architecture), hypervisor type
    (`img_hv_type`) or VM mode (`hw_vm_mode`) needs a host advertising a
    supported instance with all of them; that entry must also satisfy
    `img_hv_requested_version` against the host's hypervisor version and
    `hw_maxphysaddr_bits` against cpu_info maxphysaddr bits (each only when
    both sides are known).
    """

    name = "ImagePropertiesFilter"
    reads_consumption = False
    run_filter_once_per_request = True
    run_on_rebuild = True

    def _wanted(self, props: Mapping[str, object]) -> tuple[str | None, str | None, str | None]:
        default_arch = self.conf.filter_scheduler.image_properties_default_architecture
        return (
            canonical_architecture(props.get("hw_architecture", default_arch)),
            canonical_hv_type(props.get("img_hv_type")),
            canonical_vm_mode(props.get("hw_vm_mode")),
        )

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        if not any(self._wanted(spec.image.properties)):
            return np.ones(len(batch), dtype=np.bool_)
        verdicts = self._verdicts(batch, spec, range(len(batch)))
        return np.fromiter((v is None for v in verdicts), dtype=np.bool_, count=len(batch))

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        rows = np.flatnonzero(~passed).tolist()
        return [v or self.reason for v in self._verdicts(batch, spec, rows)]

    def _verdicts(
        self, batch: HostBatch, spec: RequestSpec, rows: Iterable[int]
    ) -> list[str | None]:
        """check() per row, once per kind of host: the answer depends only on the
        supported instances, hypervisor version and maxphysaddr bits."""
        prepared = self.prepare(spec)
        seen: dict[tuple[object, ...], str | None] = {}
        out: list[str | None] = []
        for row in rows:
            maxphysaddr = (batch.cpu_info[row] or {}).get("maxphysaddr")
            bits = maxphysaddr.get("bits") if isinstance(maxphysaddr, Mapping) else None
            key = (batch.supported_instances[row], int(batch.hypervisor_version[row]), bits)
            try:
                verdict = seen[key]
            except (KeyError, TypeError):  # TypeError: an unhashable value; no memo
                verdict = self.check(batch, row, spec, prepared)
                with contextlib.suppress(TypeError):
                    seen[key] = verdict
            out.append(verdict)
        return out

    def prepare(self, spec: RequestSpec) -> tuple[str | None, str | None, str | None]:
        return self._wanted(spec.image.properties)

    def check(
        self,
        batch: HostBatch,
        row: int,
        spec: RequestSpec,
        prepared: tuple[str | None, str | None, str | None],
    ) -> str | None:
        props = spec.image.properties
        wanted = prepared
        if not any(wanted):
            return None
        supported = batch.supported_instances[row]
        if not supported:
            return "advertises no supported instance types"
        if not any(all(not want or want in entry for want in wanted) for entry in supported):
            # Nova's _compare_props: each requested value anywhere in the entry.
            return "does not support image " + "/".join(w for w in wanted if w)
        version_ok = self._version_ok(int(batch.hypervisor_version[row]), props)
        if version_ok is None:
            return "invalid img_hv_requested_version"
        if not version_ok:
            return "hypervisor version does not satisfy img_hv_requested_version"
        if not self._maxphysaddr_ok(batch.cpu_info[row], props):
            return "fewer maxphysaddr bits than hw_maxphysaddr_bits"
        return None

    @staticmethod
    def _version_ok(hypervisor_version: int, props: Mapping[str, object]) -> bool | None:
        required = props.get("img_hv_requested_version")
        if not (hypervisor_version and required):
            return True
        try:
            predicate = versionutils.VersionPredicate(str(required))
            return predicate.satisfied_by(versionutils.convert_version_to_str(hypervisor_version))
        except ValueError:
            return None

    @staticmethod
    def _maxphysaddr_ok(cpu_info: Mapping[str, object], props: Mapping[str, object]) -> bool:
        required = _int_or_none(props.get("hw_maxphysaddr_bits"))
        if not required:
            return True
        maxphysaddr = cpu_info.get("maxphysaddr") if cpu_info else None
        bits = _int_or_none(maxphysaddr.get("bits")) if isinstance(maxphysaddr, Mapping) else None
        if not bits:
            return True
        return bits >= required
