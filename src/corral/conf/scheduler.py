"""[scheduler], [filter_scheduler] and [metrics]: the Nova scheduler's options.

Groups, names and defaults are Nova's (2026.2 series), so an operator's
nova.conf means the same here, except where Nova takes an import path: corral
takes a name from its static registry (`corral.scheduler.registry`) and
imports nothing a config names. Every import path, Nova's "everything" paths
`nova.scheduler.filters.all_filters` and `nova.scheduler.weights.all_weighers`
included, is a startup error naming what to write instead
(corral.service.validation); corral's word for "every registered filter /
weigher" is `all`, the default of available_filters and weight_classes.

Options marked mutable are re-read on SIGHUP (weights, filters, subset size);
the rest need a restart.
"""

from __future__ import annotations

from oslo_config import cfg

# In available_filters / weight_classes: every registered filter / weigher.
ALL_FILTERS_NAME = "all"
ALL_WEIGHERS_NAME = "all"

# Nova's default for [filter_scheduler] enabled_filters.
DEFAULT_ENABLED_FILTERS = [
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
]

# Nova's nova.virt.arch.ALL, the choices of image_properties_default_architecture.
ARCHITECTURES = (
    "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32",
    "m68k", "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el",
    "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb",
    "s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64",
    "xtensa", "xtensaeb",
)  # fmt: skip

# Generous bounds for Nova's unbounded multipliers: large enough for Nova's
# own 1e6 defaults, small enough that sums of weights stay finite.
_WEIGHT_BOUND = 1e9

# The most worker processes of one kind any config may ask for; the real
# limit is lower and derived from the machine (corral.service.limits).
WORKERS_HARD_MAX = 1024

# Bounds of [scheduler] nova_db_refresh_interval: often enough that the
# scheduler trails Nova by seconds, seldom enough that a big cloud's read
# (a few queries per cell) is not continuous load on Nova's databases.
NOVA_DB_REFRESH_DEFAULT = 5.0
NOVA_DB_REFRESH_MIN = 0.5
NOVA_DB_REFRESH_MAX = 300.0

scheduler_group = cfg.OptGroup("scheduler", title="Scheduler service")

SCHEDULER_OPTS = [
    cfg.FloatOpt(
        "nova_db_refresh_interval",
        default=NOVA_DB_REFRESH_DEFAULT,
        min=NOVA_DB_REFRESH_MIN,
        max=NOVA_DB_REFRESH_MAX,
        help="Seconds between two reads of Nova's databases (only with [api_database] "
        "connection set; corral.compute.nova_feed). A change in Nova (a service "
        "disabled or forced down, a new compute node, aggregate metadata, an instance "
        "deleted) reaches the scheduler at most this long plus one read of Nova's "
        "databases later. A read that finds nothing changed writes nothing.",
    ),
    cfg.IntOpt(
        "workers",
        min=1,
        max=WORKERS_HARD_MAX,
        help="RPC worker processes serving the scheduler topic (only with "
        "[DEFAULT] transport_url). Default: the CPU count, capped. A value outside "
        "1..cap is refused at start; the cap is min(4 x CPU count, available "
        "memory / 512 MiB).",
    ),
    cfg.StrOpt(
        "topic",
        default="scheduler",
        regex=r"^[A-Za-z0-9_.\-]+$",
        max_length=255,
        help="Message queue topic the RPC workers listen on (Nova's `scheduler`).",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        max=100,
        help="Most hosts (selected plus alternates) returned per instance; "
        "Nova's build retries are limited by this.",
    ),
    cfg.IntOpt(
        "decision_round_size",
        default=64,
        min=1,
        max=256,
        help="Most concurrent single-instance requests decided together in one round: "
        "identical requests share one candidate search and the round's claims are "
        "written in one transaction (each accepted or refused on its own). 1 decides "
        "and claims every request on its own.",
    ),
    cfg.IntOpt(
        "max_placement_results",
        default=1000,
        min=1,
        max=1_000_000,
        help="Most allocation candidates the scheduler asks Placement for per request.",
    ),
    cfg.IntOpt(
        "max_rpc_message_bytes",
        default=4 * 1024 * 1024,
        min=64 * 1024,
        max=64 * 1024 * 1024,
        help="Largest RPC message the scheduler accepts; larger ones are rejected "
        "before they are decoded.",
    ),
    cfg.BoolOpt(
        "limit_tenants_to_placement_aggregate",
        default=False,
        help="Request filter: restrict a project to the aggregates whose "
        "`filter_tenant_id` metadata names it.",
    ),
    cfg.BoolOpt(
        "placement_aggregate_required_for_tenants",
        default=False,
        help="With limit_tenants_to_placement_aggregate: projects named by no "
        "aggregate get no host at all.",
    ),
    cfg.BoolOpt(
        "query_placement_for_image_type_support",
        default=False,
        help="Request filter: require the COMPUTE_IMAGE_TYPE_* trait of the image's disk format.",
    ),
    cfg.BoolOpt(
        "enable_isolated_aggregate_filtering",
        default=False,
        help="Request filter: keep requests off aggregates whose required traits "
        "they do not ask for.",
    ),
    cfg.BoolOpt(
        "image_metadata_prefilter",
        default=False,
        help="Request filter: turn image properties (hw_*, img_hv_type) into required traits.",
    ),
    cfg.BoolOpt(
        "require_owner_nova_trait",
        default=False,
        help="Request filter (Nova's owner_nova_filter): require OWNER_NOVA on the root "
        "provider and on the groups of flavor PCI requests, so that providers other "
        "services (Cyborg) create under a compute root never match. Nova 34 does this "
        "once every nova-compute runs service version 73 (Nova 34), the first to report "
        "the trait; corral does not see service versions, so turn it on when every "
        "compute is upgraded (before, no provider has the trait and nothing fits).",
    ),
    cfg.BoolOpt(
        "query_placement_for_routed_network_aggregates",
        default=False,
        help="Nova's routed_networks_filter, which restricts hosts to the segments of "
        "the requested routed networks. corral does not apply it (it needs Neutron); "
        "setting it true only makes config validation warn.",
    ),
]

filter_scheduler_group = cfg.OptGroup("filter_scheduler", title="Filters and weighers")


def _multiplier(
    name: str, default: float, help_text: str, *, minimum: float | None = None
) -> cfg.Opt:
    return cfg.FloatOpt(
        name,
        default=default,
        min=-_WEIGHT_BOUND if minimum is None else minimum,
        max=_WEIGHT_BOUND,
        mutable=True,
        help=help_text,
    )


FILTER_SCHEDULER_OPTS = [
    cfg.IntOpt(
        "host_subset_size",
        default=1,
        min=1,
        max=1000,
        mutable=True,
        help="Pick each instance's host at random from this many best-weighed hosts.",
    ),
    cfg.IntOpt(
        "max_io_ops_per_host",
        default=8,
        min=0,
        max=100_000,
        help="IoOpsFilter: most instances in an I/O-heavy task state per host.",
    ),
    cfg.IntOpt(
        "max_instances_per_host",
        default=50,
        min=1,
        max=1_000_000,
        help="NumInstancesFilter: most instances per host.",
    ),
    cfg.BoolOpt(
        "track_instance_changes",
        default=True,
        help="Apply the instance casts of the computes (update_instance_info, "
        "delete_instance_info, sync_instance_info) to the instance map the affinity "
        "filters and weighers read. False, as in Nova: they are dropped, and instances "
        "come from Nova's databases ([api_database] connection) and corral's own claims.",
    ),
    cfg.MultiStrOpt(
        "available_filters",
        default=[ALL_FILTERS_NAME],
        help="Filters that may be enabled: names from corral's registry, or "
        f"`{ALL_FILTERS_NAME}` for all of them. An import path (Nova's "
        "`nova.scheduler.filters.all_filters` included) is refused.",
    ),
    cfg.ListOpt(
        "enabled_filters",
        default=DEFAULT_ENABLED_FILTERS,
        mutable=True,
        help="Filters applied, in this order (names from corral's registry).",
    ),
    cfg.ListOpt(
        "weight_classes",
        default=[ALL_WEIGHERS_NAME],
        mutable=True,
        help="Weighers applied: names from corral's registry, or "
        f"`{ALL_WEIGHERS_NAME}` for all of them. An import path (Nova's "
        "`nova.scheduler.weights.all_weighers` included) is refused.",
    ),
    _multiplier("ram_weight_multiplier", 1.0, "RAMWeigher: positive spreads, negative stacks."),
    _multiplier("cpu_weight_multiplier", 1.0, "CPUWeigher: positive spreads, negative stacks."),
    _multiplier("disk_weight_multiplier", 1.0, "DiskWeigher: positive spreads, negative stacks."),
    _multiplier(
        "hypervisor_version_weight_multiplier",
        1.0,
        "HypervisorVersionWeigher: positive prefers newer hypervisors.",
    ),
    _multiplier(
        "num_instances_weight_multiplier",
        0.0,
        "NumInstancesWeigher: positive packs, negative spreads.",
    ),
    _multiplier(
        "io_ops_weight_multiplier",
        -1.0,
        "IoOpsWeigher: negative prefers hosts with fewer I/O-heavy tasks.",
    ),
    _multiplier(
        "pci_weight_multiplier",
        1.0,
        "PCIWeigher: keeps PCI hosts for PCI requests.",
        minimum=0.0,
    ),
    _multiplier(
        "soft_affinity_weight_multiplier",
        1.0,
        "ServerGroupSoftAffinityWeigher.",
        minimum=0.0,
    ),
    _multiplier(
        "soft_anti_affinity_weight_multiplier",
        1.0,
        "ServerGroupSoftAntiAffinityWeigher.",
        minimum=0.0,
    ),
    _multiplier(
        "build_failure_weight_multiplier",
        1000000.0,
        "BuildFailureWeigher: pushes hosts with recent build failures down.",
    ),
    _multiplier(
        "cross_cell_move_weight_multiplier",
        1000000.0,
        "CrossCellWeigher: positive keeps moves within the source cell.",
    ),
    _multiplier(
        "image_props_weight_multiplier",
        0.0,
        "ImagePropertiesWeigher: positive packs instances of similar images.",
    ),
    cfg.ListOpt(
        "image_props_weight_setting",
        default=[],
        mutable=True,
        help="ImagePropertiesWeigher: `property=weight` pairs; empty weighs all properties as 1.",
    ),
    cfg.BoolOpt(
        "shuffle_best_same_weighed_hosts",
        default=False,
        mutable=True,
        help="Shuffle hosts of equal best weight (spreads identical ironic nodes).",
    ),
    cfg.StrOpt(
        "image_properties_default_architecture",
        choices=ARCHITECTURES,
        max_length=64,
        help="ImagePropertiesFilter: architecture assumed for images that name none.",
    ),
    cfg.ListOpt("isolated_images", default=[], help="IsolatedHostsFilter: image UUIDs."),
    cfg.ListOpt("isolated_hosts", default=[], help="IsolatedHostsFilter: host names."),
    cfg.BoolOpt(
        "restrict_isolated_hosts_to_isolated_images",
        default=True,
        help="IsolatedHostsFilter: isolated hosts take isolated images only.",
    ),
    cfg.StrOpt(
        "aggregate_image_properties_isolation_namespace",
        max_length=255,
        help="AggregateImagePropertiesIsolation: only image properties in this namespace count.",
    ),
    cfg.StrOpt(
        "aggregate_image_properties_isolation_separator",
        default=".",
        max_length=16,
        help="AggregateImagePropertiesIsolation: namespace separator.",
    ),
]

workarounds_group = cfg.OptGroup("workarounds", title="Workarounds (Nova's)")

WORKAROUNDS_OPTS = [
    cfg.BoolOpt(
        "disable_fallback_pcpu_query",
        default=False,
        help="Nova's [workarounds] option: a request whose hw:cpu_policy=dedicated is "
        "asked as PCPU also gets the candidates of a second query asking VCPU instead "
        "(hosts still configured with vcpu_pin_set report no PCPU), after the PCPU "
        "ones, as Nova 34 does. True: the PCPU query only.",
    ),
]

metrics_group = cfg.OptGroup("metrics", title="MetricsWeigher")

METRICS_OPTS = [
    cfg.FloatOpt(
        "weight_multiplier",
        default=1.0,
        min=-_WEIGHT_BOUND,
        max=_WEIGHT_BOUND,
        mutable=True,
        help="MetricsWeigher: multiplier of the weighted metrics.",
    ),
    cfg.ListOpt(
        "weight_setting",
        default=[],
        mutable=True,
        help="MetricsWeigher: `metric=ratio` pairs.",
    ),
    cfg.BoolOpt(
        "required",
        default=True,
        mutable=True,
        help="MetricsWeigher: a host missing a metric is an error (true) or "
        "gets weight_of_unavailable (false).",
    ),
    cfg.FloatOpt(
        "weight_of_unavailable",
        default=-10000.0,
        min=-_WEIGHT_BOUND,
        max=_WEIGHT_BOUND,
        mutable=True,
        help="MetricsWeigher: weight of a host missing a metric when not required.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts: oslo.config only shallow-copies a registered
    # OptGroup, so confs sharing the module-level one would share its option table.
    for group, opts in (
        (scheduler_group, SCHEDULER_OPTS),
        (filter_scheduler_group, FILTER_SCHEDULER_OPTS),
        (metrics_group, METRICS_OPTS),
        (workarounds_group, WORKAROUNDS_OPTS),
    ):
        conf.register_group(cfg.OptGroup(group.name, title=group.title))
        conf.register_opts(opts, group=group)
