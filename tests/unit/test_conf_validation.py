"""Each refusal of `corral serve`, with its exact message, and nothing started.

prepare() is everything serve does before it binds a socket or starts a
process; a refusal returns no plan, so nothing can start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.service.config_files import ConfigSource
from corral.service.launcher import ServeOptions, prepare
from corral.service.limits import compute_cap
from corral.service.validation import PluginNames, Problem

CAP = compute_cap(cpus=2, available_bytes=3 * 1024**3)  # min(8, 6) = 6
CAP_TEXT = "the worker cap: min(4 x 2 CPUs, 3072 MiB available / 512 MiB per worker) = 6"
NAMES = PluginNames(
    filters=frozenset(
        {
            "ComputeFilter",
            "ComputeCapabilitiesFilter",
            "ImagePropertiesFilter",
            "ServerGroupAntiAffinityFilter",
            "ServerGroupAffinityFilter",
            "RamFilter",
        }
    ),
    weighers=frozenset({"RAMWeigher", "CPUWeigher"}),
)
FILTER_LIST = (
    "ComputeCapabilitiesFilter, ComputeFilter, ImagePropertiesFilter, RamFilter, "
    "ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter"
)


def refusals(tmp_path: Path, text: str, **options: object) -> list[str]:
    conf = tmp_path / "corral.conf"
    conf.write_text(text)
    conf.chmod(0o600)
    opts = ServeOptions(source=ConfigSource(files=(str(conf),)), **options)  # type: ignore[arg-type]
    plan, problems = prepare(opts, cap=CAP, names=NAMES)
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        assert plan is None  # nothing can start without a plan
    return errors


def test_defaults_start(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("")
    conf.chmod(0o600)
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES
    )
    assert plan is not None, problems
    assert plan.api_workers == 2  # the CPU count, within the cap
    assert plan.host == "127.0.0.1" and plan.port == 8778


def test_default_worker_count_is_capped() -> None:
    assert compute_cap(cpus=64, available_bytes=2 * 1024**3).default == 4
    assert compute_cap(cpus=64, available_bytes=0).cap == 1


@pytest.mark.parametrize("value", ["0", "-3", "7", "1000"])
@pytest.mark.parametrize("group", ["api", "scheduler"])
def test_workers_outside_cap_refused(tmp_path: Path, group: str, value: str) -> None:
    assert refusals(tmp_path, f"[{group}]\nworkers = {value}\n") == [
        f"[{group}] workers = {value} is not allowed: it must be a whole number from 1 to 6 "
        f"({CAP_TEXT})"
    ]


def test_workers_flag_outside_cap_refused(tmp_path: Path) -> None:
    assert refusals(tmp_path, "", workers=0) == [
        f"[api] workers = 0 is not allowed: it must be a whole number from 1 to 6 ({CAP_TEXT})"
    ]
    assert refusals(tmp_path, "", workers=7) == [
        f"[api] workers = 7 is not allowed: it must be a whole number from 1 to 6 ({CAP_TEXT})"
    ]


def test_workers_not_a_number_refused(tmp_path: Path) -> None:
    assert refusals(tmp_path, "[api]\nworkers = many\n") == [
        f"[api] workers = many is not allowed: it must be a whole number from 1 to 6 ({CAP_TEXT})"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[scheduler]\nmax_attempts = 0\n",
            "[scheduler] max_attempts = 0 is not allowed: it must be a whole number from 1 to 100",
        ),
        (
            "[api]\nmax_concurrent_requests = 0\n",
            "[api] max_concurrent_requests = 0 is not allowed: it must be a whole number "
            "from 1 to 4096",
        ),
        (
            "[api]\nauth_strategy = none\n",
            "[api] auth_strategy = none is not allowed: it must be one of keystone, noauth2",
        ),
        (
            "[scheduler]\ntopic = a b\n",
            "[scheduler] topic = a b is not allowed: it must be text matching "
            r"^[A-Za-z0-9_.\-]+$; at most 255 characters",
        ),
        (
            "[filter_scheduler]\nram_weight_multiplier = nan\n",
            "[filter_scheduler] ram_weight_multiplier = nan is not allowed: it must be a "
            "finite number (a number from -1000000000.0 to 1000000000.0)",
        ),
        (
            "[filter_scheduler]\nsoft_affinity_weight_multiplier = -1\n",
            "[filter_scheduler] soft_affinity_weight_multiplier = -1 is not allowed: it must "
            "be a number from 0.0 to 1000000000.0",
        ),
        (
            "[DEFAULT]\ndebug = maybe\n",
            "[DEFAULT] debug = maybe is not allowed: it must be true or false",
        ),
        (
            "[api]\nmetrics_allowed_networks = 10.0.0.0/8, the-internet\n",
            "[api] metrics_allowed_networks = the-internet is not allowed: it must be a list "
            "of CIDR networks",
        ),
        (
            "[filter_scheduler]\nisolated_hosts = " + ",".join(["h"] * 300) + "\n",
            "[filter_scheduler] isolated_hosts = (300 items) is not allowed: it must be a list "
            "of at most 256 items",
        ),
    ],
    ids=[
        "int-bound",
        "concurrency-bound",
        "choice",
        "regex",
        "nan",
        "negative-soft-affinity",
        "bool",
        "cidr",
        "list",
    ],
)
def test_bad_values_refused(tmp_path: Path, text: str, message: str) -> None:
    assert refusals(tmp_path, text) == [message]


def test_noauth2_on_public_address_refused(tmp_path: Path) -> None:
    expected = (
        "[api] auth_strategy = noauth2 trusts any token; it may only listen on a loopback "
        "address (127.0.0.1, ::1, localhost), not '0.0.0.0'. Use auth_strategy = keystone "
        "to serve other machines."
    )
    assert refusals(tmp_path, "[api]\nauth_strategy = noauth2\nbind_host = 0.0.0.0\n") == [expected]
    # The --host flag is what serve binds, so it is what is checked.
    assert refusals(tmp_path, "[api]\nauth_strategy = noauth2\n", host="0.0.0.0") == [expected]
    assert refusals(tmp_path, "[api]\nauth_strategy = noauth2\n", host="::1") == []


def test_unknown_filter_refused_with_valid_names(tmp_path: Path) -> None:
    assert refusals(tmp_path, "[filter_scheduler]\nenabled_filters = ComputeFilter,Bogus\n") == [
        f"[filter_scheduler] enabled_filters: unknown filter 'Bogus'. Use one of: {FILTER_LIST}"
    ]


def test_nova_import_path_refused_with_static_name(tmp_path: Path) -> None:
    text = "[filter_scheduler]\nenabled_filters = nova.scheduler.filters.ram_filter.RamFilter\n"
    assert refusals(tmp_path, text) == [
        "[filter_scheduler] enabled_filters = nova.scheduler.filters.ram_filter.RamFilter is a "
        "Nova import path; corral loads nothing by import path. Use 'RamFilter', its registered "
        f"name (one of: {FILTER_LIST})"
    ]


def test_nova_all_paths_refused_with_all(tmp_path: Path) -> None:
    text = (
        "[filter_scheduler]\navailable_filters = nova.scheduler.filters.all_filters\n"
        "weight_classes = nova.scheduler.weights.all_weighers\n"
    )
    # One error each: the enabled filters are not also reported as unavailable.
    assert refusals(tmp_path, text) == [
        "[filter_scheduler] available_filters = nova.scheduler.filters.all_filters is a Nova "
        f"import path; corral loads nothing by import path. Use 'all' or one of: {FILTER_LIST}",
        "[filter_scheduler] weight_classes = nova.scheduler.weights.all_weighers is a Nova "
        "import path; corral loads nothing by import path. Use 'all' or one of: "
        "CPUWeigher, RAMWeigher",
    ]


def test_all_means_every_one_where_nova_has_all_paths(tmp_path: Path) -> None:
    text = "[filter_scheduler]\navailable_filters = all\nweight_classes = all,RAMWeigher\n"
    assert refusals(tmp_path, text) == []


def test_all_is_not_an_enabled_filter(tmp_path: Path) -> None:
    # enabled_filters is the order filters run in; Nova has no "all" there either.
    for value in ("all", "nova.scheduler.filters.all_filters"):
        errors = refusals(tmp_path, f"[filter_scheduler]\nenabled_filters = {value}\n")
        assert len(errors) == 1 and errors[0].endswith(f"Use one of: {FILTER_LIST}")
    assert refusals(tmp_path, "[filter_scheduler]\nenabled_filters = all\n") == [
        "[filter_scheduler] enabled_filters: 'all' is not a filter; it is only for "
        "available_filters, since this list is the order filters run in. "
        f"Use one of: {FILTER_LIST}"
    ]


def test_custom_available_filters_restrict_enabled(tmp_path: Path) -> None:
    text = (
        "[filter_scheduler]\navailable_filters = ComputeFilter\n"
        "enabled_filters = ComputeFilter,RamFilter\n"
    )
    assert refusals(tmp_path, text) == [
        "[filter_scheduler] enabled_filters: filter 'RamFilter' is not in "
        "[filter_scheduler] available_filters; add it there or remove it here"
    ]
    text = "[filter_scheduler]\navailable_filters = my.plugins.GoodFilter\n"
    assert refusals(tmp_path, text) == [
        "[filter_scheduler] available_filters = my.plugins.GoodFilter is a Nova import path; "
        f"corral loads nothing by import path. Use 'all' or one of: {FILTER_LIST}"
    ]


def test_unknown_weigher_refused(tmp_path: Path) -> None:
    text = "[filter_scheduler]\nweight_classes = nova.scheduler.weights.ram.RAMWeigher,Heavy\n"
    assert refusals(tmp_path, text) == [
        "[filter_scheduler] weight_classes = nova.scheduler.weights.ram.RAMWeigher is a Nova "
        "import path; corral loads nothing by import path. Use 'RAMWeigher', its registered "
        "name ('all' or one of: CPUWeigher, RAMWeigher)",
        "[filter_scheduler] weight_classes: unknown weigher 'Heavy'. "
        "Use 'all' or one of: CPUWeigher, RAMWeigher",
    ]


def test_rabbit_transport_url_accepted(tmp_path: Path) -> None:
    text = "[DEFAULT]\ntransport_url = rabbit://nova:s3cret@mq1:5672,nova:s3cret@mq2:5672/nova\n"
    assert refusals(tmp_path, text) == []


def test_rpc_workers_only_with_a_transport_url(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    source = ServeOptions(source=ConfigSource(files=(str(conf),)))
    conf.write_text("[scheduler]\nworkers = 3\n")
    conf.chmod(0o600)
    plan, _ = prepare(source, cap=CAP, names=NAMES)
    assert plan is not None and plan.rpc_workers == 0
    conf.write_text(
        "[DEFAULT]\ntransport_url = rabbit://nova:pw@mq:5672/\n[scheduler]\nworkers = 3\n"
    )
    plan, _ = prepare(source, cap=CAP, names=NAMES)
    assert plan is not None and plan.rpc_workers == 3
    conf.write_text("[DEFAULT]\ntransport_url = rabbit://nova:pw@mq:5672/\n")
    plan, _ = prepare(source, cap=CAP, names=NAMES)
    assert plan is not None and plan.rpc_workers == 2  # the CPU count, within the cap


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (
            "kafka://nova:s3cret@mq.example.com:9092/",
            "transport scheme 'kafka' is not supported; corral speaks to RabbitMQ only "
            "(rabbit://user:password@host:5672/vhost)",
        ),
        ("rabbit:///", "the transport URL names no host"),
    ],
    ids=["other-driver", "no-host"],
)
def test_other_transport_urls_refused(tmp_path: Path, url: str, why: str) -> None:
    text = f"[DEFAULT]\ntransport_url = {url}\n"
    shown = url.replace(":s3cret@", ":***@")
    assert refusals(tmp_path, text) == [f"[DEFAULT] transport_url = {shown} is not allowed: {why}"]


def test_config_source_refused(tmp_path: Path) -> None:
    text = "[DEFAULT]\nconfig_source = remote\n[remote]\ndriver = remote_file\n"
    assert refusals(tmp_path, text) == [
        "[DEFAULT] config_source is not supported: corral reads its configuration from local "
        "files only"
    ]


def test_unknown_options_are_warnings(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("[api]\nworker = 3\n[libvirt]\nvirt_type = kvm\n")
    conf.chmod(0o600)
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES
    )
    assert plan is not None
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "[api] worker: corral has no such option; ignored"),
        ("warning", "[libvirt]: no corral option is in this section; ignored"),
    ]


def test_missing_config_file_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(missing),))), cap=CAP, names=NAMES
    )
    assert plan is None
    assert [str(p) for p in problems] == [
        f"config file {missing} cannot be examined: No such file or directory"
    ]


def test_problem_str_is_its_message() -> None:
    assert str(Problem("error", "[a] b", "boom")) == "boom"


def test_auth_strategy_flag_noauth2_only_on_loopback(tmp_path: Path) -> None:
    """`make run` passes --auth-strategy noauth2; it must not open a non-loopback bind."""
    assert refusals(tmp_path, "", auth_strategy="noauth2", host="127.0.0.1") == []
    refused = refusals(tmp_path, "", auth_strategy="noauth2", host="0.0.0.0")
    assert len(refused) == 1 and "noauth2" in refused[0]


def test_routed_networks_option_warns_that_it_is_not_applied(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("[scheduler]\nquery_placement_for_routed_network_aggregates = true\n")
    conf.chmod(0o600)
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES
    )
    assert plan is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "does not apply Nova's routed_networks_filter" in problems[0].message


def test_untracked_instances_without_nova_databases_warn(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("[filter_scheduler]\ntrack_instance_changes = false\n")
    conf.chmod(0o600)
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES
    )
    assert plan is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "know only the instances corral placed itself" in problems[0].message
    # With Nova's databases read, instances come from there: nothing to say.
    conf.write_text(
        "[filter_scheduler]\ntrack_instance_changes = false\n"
        "[api_database]\nconnection = mysql+pymysql://corral@db.example.com/nova_api\n"
    )
    plan, problems = prepare(
        ServeOptions(source=ConfigSource(files=(str(conf),))), cap=CAP, names=NAMES
    )
    assert plan is not None
    assert not [p for p in problems if "track_instance_changes" in p.message]
