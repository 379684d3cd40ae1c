"""Config names filters and weighers from the real registry: unknown names stop startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.scheduler import registry
from corral.scheduler.filters import ALL_FILTERS, HostFilter, PreFilter
from corral.scheduler.request_filters import ALL_REQUEST_FILTERS, RequestFilter
from corral.scheduler.stages.prefilter import PRE_FILTERS
from corral.scheduler.weighers import ALL_WEIGHERS, HostWeigher
from corral.service.config_files import ConfigSource
from corral.service.launcher import ServeOptions, prepare
from corral.service.limits import compute_cap
from corral.service.validation import registry_names
from tests.unit.scheduler_fixtures import make_conf

CAP = compute_cap(cpus=2, available_bytes=3 * 1024**3)
FILTERS = ", ".join(sorted(registry.FILTERS))
WEIGHERS = ", ".join(sorted(registry.WEIGHERS))


def errors(tmp_path: Path, text: str) -> list[str]:
    conf = tmp_path / "corral.conf"
    conf.write_text(text)
    conf.chmod(0o600)
    opts = ServeOptions(source=ConfigSource(files=(str(conf),)))
    plan, problems = prepare(opts, cap=CAP, names=registry_names())
    found = [p.message for p in problems if p.severity == "error"]
    assert (plan is None) == bool(found)
    return found


def test_registry_names_are_the_real_registry() -> None:
    names = registry_names()
    assert names.filters == registry.valid_filter_names() and len(names.filters) == 22
    assert names.weighers == registry.valid_weigher_names() and len(names.weighers) == 13


def test_defaults_and_all_start(tmp_path: Path) -> None:
    assert errors(tmp_path, "") == []
    text = (
        "[filter_scheduler]\n"
        "available_filters = all\n"
        "enabled_filters = NUMATopologyFilter,PciPassthroughFilter,ComputeFilter\n"
        "weight_classes = all,RAMWeigher\n"
    )
    assert errors(tmp_path, text) == []


def test_all_means_every_registered_weigher() -> None:
    weighers = list(registry.WEIGHERS.values())
    assert registry.weigher_classes(["all"]) == weighers
    # As in Nova, a weigher named twice (itself and through "all") weighs twice.
    ram = registry.WEIGHERS["RAMWeigher"]
    assert registry.weigher_classes(["all", "RAMWeigher"]) == [*weighers, ram]


def test_registry_resolves_no_import_path() -> None:
    for path in ("nova.scheduler.weights.all_weighers", "nova.scheduler.weights.ram.RAMWeigher"):
        with pytest.raises(registry.UnknownPlugin, match="is an import path; corral loads nothing"):
            registry.weigher_classes([path])
    with pytest.raises(registry.UnknownPlugin, match="is an import path; corral loads nothing"):
        registry.filter_classes(["nova.scheduler.filters.all_filters"])
    with pytest.raises(registry.UnknownPlugin, match="unknown filter 'all'"):
        registry.filter_classes(["all"])


def test_nova_all_paths_are_startup_errors_naming_all(tmp_path: Path) -> None:
    text = (
        "[filter_scheduler]\n"
        "available_filters = nova.scheduler.filters.all_filters\n"
        "weight_classes = nova.scheduler.weights.all_weighers\n"
    )
    assert errors(tmp_path, text) == [
        "[filter_scheduler] available_filters = nova.scheduler.filters.all_filters is a Nova "
        f"import path; corral loads nothing by import path. Use 'all' or one of: {FILTERS}",
        "[filter_scheduler] weight_classes = nova.scheduler.weights.all_weighers is a Nova "
        f"import path; corral loads nothing by import path. Use 'all' or one of: {WEIGHERS}",
    ]


def test_unknown_filter_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    assert errors(tmp_path, "[filter_scheduler]\nenabled_filters = ComputeFilter,RamFilter\n") == [
        f"[filter_scheduler] enabled_filters: unknown filter 'RamFilter'. Use one of: {FILTERS}"
    ]
    assert errors(tmp_path, "[filter_scheduler]\nenabled_filters = AvailabilityZoneFilter\n") == [
        "[filter_scheduler] enabled_filters: unknown filter 'AvailabilityZoneFilter'. "
        f"Use one of: {FILTERS}"
    ]


def test_unknown_weigher_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    assert errors(tmp_path, "[filter_scheduler]\nweight_classes = Heavy\n") == [
        f"[filter_scheduler] weight_classes: unknown weigher 'Heavy'. Use 'all' or one of: "
        f"{WEIGHERS}"
    ]


def test_nova_import_paths_name_the_registered_class(tmp_path: Path) -> None:
    text = (
        "[filter_scheduler]\n"
        "enabled_filters = nova.scheduler.filters.numa_topology_filter.NUMATopologyFilter\n"
    )
    assert errors(tmp_path, text) == [
        "[filter_scheduler] enabled_filters = "
        "nova.scheduler.filters.numa_topology_filter.NUMATopologyFilter is a Nova import path; "
        "corral loads nothing by import path. Use 'NUMATopologyFilter', its registered name "
        f"(one of: {FILTERS})"
    ]


def test_enabled_filters_must_be_available(tmp_path: Path) -> None:
    text = (
        "[filter_scheduler]\navailable_filters = ComputeFilter\n"
        "enabled_filters = ComputeFilter,JsonFilter\n"
    )
    assert errors(tmp_path, text) == [
        "[filter_scheduler] enabled_filters: filter 'JsonFilter' is not in "
        "[filter_scheduler] available_filters; add it there or remove it here"
    ]


def test_every_extension_point_table_is_filled() -> None:
    tables: dict[str, dict[str, type]] = {
        "request filters": registry.REQUEST_FILTERS,
        "pre-filters": registry.PRE_FILTERS,
        "filters": registry.FILTERS,
        "candidate filters": registry.CANDIDATE_FILTERS,
        "weighers": registry.WEIGHERS,
    }
    for kind, table in tables.items():
        assert table, kind
        for name, cls in table.items():
            assert cls.name == name, (kind, name)  # type: ignore[attr-defined]
    assert len(registry.REQUEST_FILTERS) == len(ALL_REQUEST_FILTERS)
    assert list(registry.PRE_FILTERS.values()) == list(PRE_FILTERS)
    assert list(registry.FILTERS.values()) == list(ALL_FILTERS)
    assert list(registry.WEIGHERS.values()) == list(ALL_WEIGHERS)
    assert all(issubclass(c, RequestFilter) for c in registry.REQUEST_FILTERS.values())
    assert all(issubclass(c, PreFilter) for c in registry.PRE_FILTERS.values())
    assert all(issubclass(c, HostFilter) for c in registry.FILTERS.values())
    assert all(issubclass(c, HostWeigher) for c in registry.WEIGHERS.values())
    # Pre-filters are always on, never a configurable host filter.
    assert not set(registry.PRE_FILTERS) & set(registry.FILTERS)


def test_candidate_filters_are_numa_and_pci() -> None:
    assert set(registry.CANDIDATE_FILTERS) == {"NUMATopologyFilter", "PciPassthroughFilter"}
    assert all(c.judges_candidates for c in registry.CANDIDATE_FILTERS.values())
    others = set(registry.FILTERS) - set(registry.CANDIDATE_FILTERS)
    assert not any(registry.FILTERS[name].judges_candidates for name in others)


def test_request_filters_in_novas_order() -> None:
    # nova.scheduler.request_filter.ALL_REQUEST_FILTERS, less routed_networks_filter
    # (it needs Neutron).
    nova_order = [
        "require_tenant_aggregate",
        "map_az_to_placement_aggregate",
        "require_image_type_support",
        "compute_status_filter",
        "isolate_aggregates",
        "transform_image_metadata",
        "accelerators_filter",
        "packed_virtqueue_filter",
        "remote_managed_ports_filter",
        "ephemeral_encryption_filter",
        "virtio_sound_filter",
        "tpm_secret_security_filter",
        "owner_nova_filter",
    ]
    assert list(registry.REQUEST_FILTERS) == nova_order
    assert [f.name for f in registry.request_filters()] == nova_order


def test_pre_filters_in_novas_order() -> None:
    order = [
        "requested_cell",
        "ignore_hosts",
        "force_hosts",
        "force_nodes",
        "requested_destination",
    ]
    assert list(registry.PRE_FILTERS) == order
    assert [f.name for f in registry.pre_filters()] == order


def test_enabled_filters_and_weighers_follow_config() -> None:
    conf = make_conf(
        filter_scheduler={
            "enabled_filters": ["ComputeFilter", "NUMATopologyFilter"],
            "weight_classes": ["RAMWeigher", "CPUWeigher"],
        }
    )
    assert [f.name for f in registry.enabled_filters(conf)] == [
        "ComputeFilter",
        "NUMATopologyFilter",
    ]
    assert [w.name for w in registry.enabled_weighers(conf)] == ["RAMWeigher", "CPUWeigher"]
