"""Upstream Placement's tables, as openstack-placement 16.0.0 declares them.

The declarations mirror `placement/db/sqlalchemy/models.py` at Alembic head
`a082b8bb98d0`, only as far as the import reads them (columns, no
constraints): the source is never written, so nothing here creates a table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, DateTime, Float, Integer, MetaData, String, Table, select
from sqlalchemy.exc import SQLAlchemyError

from corral.store.database import safe_url
from corral.store.import_placement.report import ImportRefused

# The Alembic revision openstack-placement 16.0.0's `placement-manage db sync`
# ends at (placement/db/sqlalchemy/alembic/versions/a082b8bb98d0_*.py): the
# schema declared below.
UPSTREAM_HEAD = "a082b8bb98d0"

metadata = MetaData()


def _ts() -> list[Column[Any]]:
    # oslo.db's TimestampMixin, on every upstream table.
    return [Column("created_at", DateTime), Column("updated_at", DateTime)]


resource_classes = Table(
    "resource_classes", metadata, Column("id", Integer), Column("name", String), *_ts()
)
resource_providers = Table(
    "resource_providers",
    metadata,
    Column("id", Integer),
    Column("uuid", String),
    Column("name", String),
    Column("generation", Integer),
    Column("root_provider_id", Integer),
    Column("parent_provider_id", Integer),
    *_ts(),
)
inventories = Table(
    "inventories",
    metadata,
    Column("id", Integer),
    Column("resource_provider_id", Integer),
    Column("resource_class_id", Integer),
    Column("total", Integer),
    Column("reserved", Integer),
    Column("min_unit", Integer),
    Column("max_unit", Integer),
    Column("step_size", Integer),
    Column("allocation_ratio", Float),
    *_ts(),
)
allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer),
    Column("resource_provider_id", Integer),
    Column("consumer_id", String),
    Column("resource_class_id", Integer),
    Column("used", Integer),
    *_ts(),
)
placement_aggregates = Table(
    "placement_aggregates", metadata, Column("id", Integer), Column("uuid", String), *_ts()
)
resource_provider_aggregates = Table(
    "resource_provider_aggregates",
    metadata,
    Column("resource_provider_id", Integer),
    Column("aggregate_id", Integer),
    *_ts(),
)
traits = Table("traits", metadata, Column("id", Integer), Column("name", String), *_ts())
resource_provider_traits = Table(
    "resource_provider_traits",
    metadata,
    Column("trait_id", Integer),
    Column("resource_provider_id", Integer),
    *_ts(),
)
projects = Table("projects", metadata, Column("id", Integer), Column("external_id", String), *_ts())
users = Table("users", metadata, Column("id", Integer), Column("external_id", String), *_ts())
consumer_types = Table(
    "consumer_types", metadata, Column("id", Integer), Column("name", String), *_ts()
)
consumers = Table(
    "consumers",
    metadata,
    Column("id", Integer),
    Column("uuid", String),
    Column("project_id", Integer),
    Column("user_id", Integer),
    Column("generation", Integer),
    Column("consumer_type_id", Integer),
    *_ts(),
)
alembic_version = Table("alembic_version", metadata, Column("version_num", String))


def check_source_schema(src: Connection, url: str) -> None:
    """Refuse a source that is not at UPSTREAM_HEAD: the tables above are only
    upstream's at that revision."""
    try:
        versions = [r[0] for r in src.execute(select(alembic_version.c.version_num))]
    except SQLAlchemyError:
        raise ImportRefused(
            f"{safe_url(url)} is not an upstream Placement database (no alembic_version table)"
        ) from None
    if versions != [UPSTREAM_HEAD]:
        raise ImportRefused(
            f"the source schema is at revision {', '.join(versions) or 'none'}, not "
            f"{UPSTREAM_HEAD} (openstack-placement 16.0.0's): run that release's "
            "`placement-manage db sync` on it first"
        )
