"""`corral check-config` on a corral config and on a Nova nova.conf."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORRAL = str(Path(sys.executable).with_name("corral"))

NOVA_CONF = """\
[DEFAULT]
transport_url = rabbit://nova:s3cret@rabbit.example.com:5672/
my_ip = 10.0.0.5
debug = true
scheduler_default_filters = RamFilter
[api_database]
connection = mysql+pymysql://nova:dbpass@db/nova_api
[api]
auth_strategy = noauth2
bind_host = 0.0.0.0
[scheduler]
workers = 5000
driver = filter_scheduler
[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
enabled_filters = ComputeFilter,nova.scheduler.filters.compute_filter.ComputeFilter
weight_classes = nova.scheduler.weights.all_weighers
ram_weight_multiplier = 2.0
[placement]
auth_url = http://keystone.example.com/v3
password = placementpass
[keystone_authtoken]
auth_url = http://keystone.example.com/v3
"""


def check(
    tmp_path: Path, text: str, *args: str, mode: int = 0o600
) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "nova.conf"
    conf.write_text(text)
    conf.chmod(mode)
    return subprocess.run(
        [CORRAL, "--config-file", str(conf), "check-config", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nova_conf_report_json(tmp_path: Path) -> None:
    result = check(tmp_path, NOVA_CONF, "--format", "json", mode=0o666)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    conf = tmp_path / "nova.conf"
    errors = [e["message"] for e in report["errors"]]
    assert errors[0] == (
        f"config file {conf} has mode 0666: it is writable by its group and everyone; corral "
        f"refuses config that anyone but its owner can change (run: chmod go-w {conf})"
    )
    assert any(e.startswith("[scheduler] workers = 5000 is not allowed") for e in errors)
    assert any(e.startswith("[api] auth_strategy = noauth2 trusts any token") for e in errors)
    # Every Nova import path is an error naming the static name to write instead.
    assert any(
        e.startswith(
            "[filter_scheduler] enabled_filters = "
            "nova.scheduler.filters.compute_filter.ComputeFilter is a Nova import path; corral "
            "loads nothing by import path. Use 'ComputeFilter', its registered name (one of: "
        )
        for e in errors
    )
    assert any(
        e.startswith(
            "[filter_scheduler] available_filters = nova.scheduler.filters.all_filters is a "
            "Nova import path; corral loads nothing by import path. Use 'all' or one of: "
            "AggregateImagePropertiesIsolation, "
        )
        for e in errors
    )
    assert any(
        e.startswith(
            "[filter_scheduler] weight_classes = nova.scheduler.weights.all_weighers is a Nova "
            "import path; corral loads nothing by import path. Use 'all' or one of: "
            "BuildFailureWeigher, "
        )
        for e in errors
    )
    # A refused available_filters does not also make every enabled filter an error.
    assert not any("is not in [filter_scheduler] available_filters" in e for e in errors)
    # Nova's rabbit:// transport_url is corral's too: it starts the RPC workers.
    assert not any(e.startswith("[DEFAULT] transport_url") for e in errors)

    honoured = {(o["section"], o["key"]): o for o in report["honoured"]}
    assert honoured[("filter_scheduler", "ram_weight_multiplier")]["value"] == "2.0"
    assert honoured[("DEFAULT", "transport_url")]["value"] == "***"
    assert (
        "for nova.scheduler.filters.all_filters write 'all'"
        in (honoured[("filter_scheduler", "available_filters")]["note"])
    )
    assert (
        "for nova.scheduler.weights.all_weighers write 'all'"
        in (honoured[("filter_scheduler", "weight_classes")]["note"])
    )
    assert ("keystone_authtoken", "auth_url") in honoured

    ignored = {(o["section"], o["key"]): o["reason"] for o in report["ignored"]}
    assert ignored[("DEFAULT", "my_ip")] == "corral has no such option"
    assert ignored[("DEFAULT", "scheduler_default_filters")] == (
        "old name: use [filter_scheduler] enabled_filters"
    )
    assert ignored[("scheduler", "driver")] == "corral has one scheduler, the filter scheduler"
    assert ("placement", "password") in ignored
    # No secret is ever printed.
    for secret in ("s3cret", "dbpass", "placementpass"):
        assert secret not in result.stdout


def test_text_report_for_people(tmp_path: Path) -> None:
    result = check(tmp_path, NOVA_CONF)
    assert result.returncode == 1
    out = result.stdout
    assert out.startswith(f"corral check-config: {tmp_path / 'nova.conf'}\nHost source: ")
    assert "\nErrors:\n  - [scheduler] workers = 5000 is not allowed" in out
    assert "\nHonoured:\n" in out and "\nIgnored:\n" in out
    assert "  [api_database] connection = ***: Nova's API database, read-only" in out
    assert "\nHost source: hosts from Nova's databases ([api_database] connection" in out
    assert (
        "  - [filter_scheduler] weight_classes = nova.scheduler.weights.all_weighers is a Nova "
        "import path; corral loads nothing by import path. Use 'all' or one of: "
    ) in out
    # workers, noauth2 and the three import paths.
    assert out.rstrip().splitlines()[-1].startswith("5 error(s), ")


def test_clean_corral_config_exits_zero(tmp_path: Path) -> None:
    result = check(tmp_path, "[api]\nworkers = 1\n[filter_scheduler]\nhost_subset_size = 2\n")
    assert result.returncode == 0, result.stdout
    assert "\n0 error(s), " in result.stdout
    assert "  [api] workers = 1: API worker processes, within the machine's worker cap" in (
        result.stdout
    )
