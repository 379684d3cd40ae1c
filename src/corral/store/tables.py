"""Table definitions (SQLAlchemy Core).

The layout follows upstream Placement's so that its semantics carry over
one-to-one (ids for standard resource classes, consumers keyed by uuid in
allocations), plus `change_log`, the sequence of provider changes that each
process's in-memory index follows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Unicode,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _timestamps() -> list[Column[object]]:
    return [
        Column("created_at", DateTime, nullable=True),
        Column("updated_at", DateTime, nullable=True),
    ]


resource_classes = Table(
    "resource_classes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name"),
)

resource_providers = Table(
    "resource_providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("name", Unicode(200), nullable=False),
    Column("generation", Integer, nullable=False, default=0),
    Column("root_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=True),
    Column("parent_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=True),
    *_timestamps(),
    UniqueConstraint("uuid"),
    UniqueConstraint("name"),
    Index("ix_resource_providers_root", "root_provider_id"),
    Index("ix_resource_providers_parent", "parent_provider_id"),
)

inventories = Table(
    "inventories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=False),
    Column("resource_class_id", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("min_unit", Integer, nullable=False),
    Column("max_unit", Integer, nullable=False),
    Column("step_size", Integer, nullable=False),
    Column("allocation_ratio", Float, nullable=False),
    *_timestamps(),
    UniqueConstraint("resource_provider_id", "resource_class_id"),
    Index("ix_inventories_resource_class", "resource_class_id"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=False),
    Column("consumer_id", String(36), nullable=False),
    Column("resource_class_id", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    *_timestamps(),
    Index(
        "ix_allocations_provider_class_used", "resource_provider_id", "resource_class_id", "used"
    ),
    Index("ix_allocations_resource_class", "resource_class_id"),
    Index("ix_allocations_consumer", "consumer_id"),
)

placement_aggregates = Table(
    "placement_aggregates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    *_timestamps(),
    UniqueConstraint("uuid"),
)

resource_provider_aggregates = Table(
    "resource_provider_aggregates",
    metadata,
    Column(
        "resource_provider_id",
        Integer,
        ForeignKey("resource_providers.id"),
        primary_key=True,
    ),
    Column("aggregate_id", Integer, ForeignKey("placement_aggregates.id"), primary_key=True),
    *_timestamps(),
    Index("ix_rp_aggregates_aggregate", "aggregate_id"),
)

traits = Table(
    "traits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Unicode(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name"),
)

resource_provider_traits = Table(
    "resource_provider_traits",
    metadata,
    Column("trait_id", Integer, ForeignKey("traits.id"), primary_key=True),
    Column(
        "resource_provider_id",
        Integer,
        ForeignKey("resource_providers.id"),
        primary_key=True,
    ),
    *_timestamps(),
    Index("ix_rp_traits_provider", "resource_provider_id"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("external_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("external_id"),
)

consumer_types = Table(
    "consumer_types",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Unicode(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name"),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("generation", Integer, nullable=False, default=0),
    Column("consumer_type_id", Integer, ForeignKey("consumer_types.id"), nullable=True),
    *_timestamps(),
    UniqueConstraint("uuid"),
    Index("ix_consumers_project_uuid", "project_id", "uuid"),
    Index("ix_consumers_project_user_uuid", "project_id", "user_id", "uuid"),
    Index("ix_consumers_consumer_type", "consumer_type_id"),
)

# One row per change to a provider (inventory, traits, aggregates, allocations,
# tree, deletion). `seq` only grows; an index that has applied everything up to
# seq N reloads the providers named in rows after N. Rows are pruned by age.
change_log = Table(
    "change_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("resource_provider_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
