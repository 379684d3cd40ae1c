"""[placement_database]: where the source of truth lives."""

from __future__ import annotations

from oslo_config import cfg

group = cfg.OptGroup("placement_database", title="Placement database")

OPTS = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of the database. Empty: SQLite in the data directory. "
        "postgresql://user@host/db for several processes or machines.",
    ),
    cfg.BoolOpt(
        "sync_on_startup",
        default=True,
        help="Upgrade the schema and sync standard names when the service starts.",
    ),
    cfg.IntOpt("max_pool_size", default=10, min=1, max=200, help="Connections per process."),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts: oslo.config only shallow-copies a registered
    # OptGroup, so confs sharing the module-level one would share its option table,
    # overrides included.
    conf.register_group(cfg.OptGroup(group.name, title=group.title))
    conf.register_opts(OPTS, group=group)
