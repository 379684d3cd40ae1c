"""Table definitions (SQLAlchemy Core).

The layout follows upstream Placement's so that its semantics carry over
one-to-one (ids for standard resource classes, consumers keyed by uuid in
allocations), plus `change_log`, the sequence of provider changes that each
process's in-memory index follows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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

# A provider's inventory of one class as capacity checks read it (the key,
# then the fields of Placement's capacity rule).
INVENTORY_LIMIT_COLUMNS = (
    inventories.c.resource_provider_id,
    inventories.c.resource_class_id,
    inventories.c.total,
    inventories.c.reserved,
    inventories.c.min_unit,
    inventories.c.max_unit,
    inventories.c.step_size,
    inventories.c.allocation_ratio,
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

# --- what the scheduler knows beyond Placement (Nova's compute nodes, services,
# host aggregates, server groups and instances). Created by migration 0002.
# Their writes go to `change_log` too, with the kinds of
# corral.store.host_changes, where `resource_provider_id` holds the id of the
# changed row of that kind's table.

# A compute node: one hypervisor node of a service host, and the root resource
# provider of its resources. The JSON columns hold what the compute reports.
compute_hosts = Table(
    "compute_hosts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255), nullable=False),
    Column("nodename", String(255), nullable=False),
    Column("provider_uuid", String(36), nullable=False),
    Column("hypervisor_type", String(255), nullable=False),
    Column("hypervisor_version", BigInteger, nullable=False),
    Column("hypervisor_hostname", String(255), nullable=False),
    Column("cpu_info", JSON, nullable=False),
    Column("capabilities", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("supported_instances", JSON, nullable=False),
    Column("host_ip", String(64), nullable=True),
    Column("numa_topology", JSON, nullable=True),
    Column("pci_stats", JSON, nullable=False),
    Column("num_io_ops", Integer, nullable=False),
    Column("failed_builds", Integer, nullable=False),
    Column("cell_uuid", String(36), nullable=True),
    *_timestamps(),
    UniqueConstraint("provider_uuid"),
    UniqueConstraint("host", "nodename"),
)

# The nova-compute service of a host: Nova's `services` row, as far as
# scheduling reads it. Heartbeats only move `last_heartbeat`.
compute_services = Table(
    "compute_services",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255), nullable=False),
    Column("binary", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("disabled_reason", String(255), nullable=True),
    Column("forced_down", Boolean, nullable=False),
    Column("last_heartbeat", DateTime, nullable=True),
    *_timestamps(),
    UniqueConstraint("host", "binary"),
    Index("ix_compute_services_last_heartbeat", "last_heartbeat"),
)

host_aggregates = Table(
    "host_aggregates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("name", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("uuid"),
    UniqueConstraint("name"),
)

host_aggregate_metadata = Table(
    "host_aggregate_metadata",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("aggregate_id", Integer, ForeignKey("host_aggregates.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("aggregate_id", "key"),
)

host_aggregate_hosts = Table(
    "host_aggregate_hosts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("aggregate_id", Integer, ForeignKey("host_aggregates.id"), nullable=False),
    Column("host", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("aggregate_id", "host"),
    Index("ix_host_aggregate_hosts_host", "host"),
)

server_groups = Table(
    "server_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("name", String(255), nullable=False),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("policy", String(32), nullable=False),
    Column("rules", JSON, nullable=False),
    *_timestamps(),
    UniqueConstraint("uuid"),
)

server_group_members = Table(
    "server_group_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_id", Integer, ForeignKey("server_groups.id"), nullable=False),
    Column("instance_uuid", String(36), nullable=False),
    *_timestamps(),
    UniqueConstraint("group_id", "instance_uuid"),
    Index("ix_server_group_members_instance", "instance_uuid"),
)

# An instance placed on a compute node: what affinity, instance counts and the
# image-properties weigher read. Its resources are Placement allocations held
# by a consumer of the same uuid.
instances = Table(
    "instances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("host", String(255), nullable=False),
    Column("node", String(255), nullable=False),
    Column("provider_uuid", String(36), nullable=True),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("flavor", JSON, nullable=False),
    Column("image_properties", JSON, nullable=False),
    *_timestamps(),
    UniqueConstraint("uuid"),
    Index("ix_instances_host_node", "host", "node"),
)
