"""[api_database]: Nova's API database, when corral is Nova's scheduler.

Nova's own group and option (nova.conf.database `api_database`), with Nova's
meaning: the SQLAlchemy URL of the API database. corral only reads it (and,
through its cell mappings, each cell's database): see corral.compute.nova_feed.
"""

from __future__ import annotations

from oslo_config import cfg

group = cfg.OptGroup("api_database", title="Nova API database (read-only)")

OPTS = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of Nova's API database (nova.conf's [api_database] "
        "connection, e.g. mysql+pymysql://corral:SECRET@db/nova_api or "
        "postgresql+psycopg://corral@db/nova_api). Set: corral takes its compute "
        "hosts, services, aggregates, server groups and instances from Nova's "
        "databases, read-only (cell databases through the cell mappings' "
        "database_connection; cell0 is skipped), every [scheduler] "
        "nova_db_refresh_interval seconds, and the host API's writes are "
        "overwritten by what Nova holds. The account needs SELECT only: GRANT "
        "SELECT ON nova_api.* TO corral; GRANT SELECT ON nova_cell1.* TO corral "
        "(one per cell). Unset (the default): hosts come from corral's host API "
        "(/scheduler/v1/hosts).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts (see corral.conf.database).
    conf.register_group(cfg.OptGroup(group.name, title=group.title))
    conf.register_opts(OPTS, group=group)
