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
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_group(group)
    conf.register_opts(OPTS, group=group)
