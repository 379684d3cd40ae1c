"""The registered options: Nova's groups, names and defaults; what SIGHUP may change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from corral.conf import list_opts, new_conf


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    c = new_conf()
    c([], project="corral", default_config_files=[])
    return c


def test_nova_scheduler_defaults(conf: cfg.ConfigOpts) -> None:
    fs = conf.filter_scheduler
    assert fs.enabled_filters == [
        "ComputeFilter",
        "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter",
    ]
    assert fs.available_filters == ["all"]
    assert fs.weight_classes == ["all"]
    assert fs.host_subset_size == 1
    assert (fs.max_io_ops_per_host, fs.max_instances_per_host) == (8, 50)
    multipliers = {
        "ram": 1.0,
        "cpu": 1.0,
        "disk": 1.0,
        "hypervisor_version": 1.0,
        "num_instances": 0.0,
        "io_ops": -1.0,
        "pci": 1.0,
        "soft_affinity": 1.0,
        "soft_anti_affinity": 1.0,
        "build_failure": 1000000.0,
        "cross_cell_move": 1000000.0,
        "image_props": 0.0,
    }
    for name, value in multipliers.items():
        assert fs[f"{name}_weight_multiplier"] == value, name
    assert conf.metrics.weight_multiplier == 1.0
    sched = conf.scheduler
    assert (sched.topic, sched.max_attempts, sched.max_placement_results) == ("scheduler", 3, 1000)
    assert sched.workers is None and conf.api.workers is None
    assert conf.transport_url is None and conf.service_down_time == 60
    assert conf.debug is False and conf.log_level == "INFO"


def test_only_safe_options_are_mutable() -> None:
    mutable = {(group, opt.name) for group, opts in list_opts() for opt in opts if opt.mutable}
    assert ("DEFAULT", "log_level") in mutable and ("DEFAULT", "debug") in mutable
    assert ("filter_scheduler", "enabled_filters") in mutable
    assert ("filter_scheduler", "ram_weight_multiplier") in mutable
    assert {group for group, _ in mutable} == {"DEFAULT", "filter_scheduler", "metrics"}
    assert ("api", "workers") not in mutable
    assert ("placement_database", "connection") not in mutable


def test_every_option_is_documented() -> None:
    for group, opts in list_opts():
        for opt in opts:
            assert opt.help, f"[{group}] {opt.name} has no help text"


def test_every_number_is_bounded() -> None:
    for group, opts in list_opts():
        for opt in opts:
            t = opt.type
            if hasattr(t, "min") and hasattr(t, "max") and not isinstance(t, cfg.types.Port):
                assert t.min is not None and t.max is not None, f"[{group}] {opt.name}"


def test_options_reference_is_generated_from_the_registered_options() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "tools" / "gen_options_doc.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout
