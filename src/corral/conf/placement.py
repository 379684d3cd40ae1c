"""[placement]: allocation candidate behaviour, as upstream."""

from __future__ import annotations

from oslo_config import cfg

group = cfg.OptGroup("placement", title="Placement")

OPTS = [
    cfg.BoolOpt(
        "randomize_allocation_candidates",
        default=False,
        help="Shuffle allocation candidates before `limit` cuts the list.",
    ),
    cfg.IntOpt(
        "max_allocation_candidates",
        default=-1,
        min=-1,
        max=1_000_000,
        help="Most candidates generated for one request; -1 for no limit.",
    ),
    cfg.IntOpt(
        "allocation_conflict_retry_count",
        default=10,
        min=0,
        max=100,
        help="Internal retries of an allocation write that lost a generation race.",
    ),
    cfg.StrOpt(
        "incomplete_consumer_project_id",
        default="00000000-0000-0000-0000-000000000000",
        max_length=255,
        help="Project recorded for consumers written before microversion 1.8, "
        "which carried no project.",
    ),
    cfg.StrOpt(
        "incomplete_consumer_user_id",
        default="00000000-0000-0000-0000-000000000000",
        max_length=255,
        help="User recorded for consumers written before microversion 1.8, which carried no user.",
    ),
    cfg.IntOpt(
        "change_log_retention",
        default=3600,
        min=60,
        max=30 * 24 * 3600,
        help="Seconds a provider change stays in the change log that every "
        "process's candidate index follows. An index further behind than this "
        "(a process stopped for longer) reloads in full when it next catches up.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts: oslo.config only shallow-copies a registered
    # OptGroup, so confs sharing the module-level one would share its option table,
    # overrides included.
    conf.register_group(cfg.OptGroup(group.name, title=group.title))
    conf.register_opts(OPTS, group=group)
