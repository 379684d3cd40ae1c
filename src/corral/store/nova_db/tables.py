"""Nova 34 (2026.2) API and cell database tables, as far as corral reads them.

Declared, not reflected (no round trip at start, and a missing column is an
error at the first read rather than a silent None), and bound to no MetaData
that corral ever creates: these tables are Nova's (nova.db.api.models and
nova.db.main.models), written by Nova alone.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text

# Never passed to create_all: the schema is Nova's (`nova-manage api_db sync`).
api_metadata = MetaData()
cell_metadata = MetaData()

# --- API database (nova.db.api.models) -----------------------------------------

cell_mappings = Table(
    "cell_mappings",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36)),
    Column("name", String(255)),
    Column("database_connection", Text),
    # Boolean in Nova's models: tinyint(1) on MySQL, boolean on PostgreSQL.
    Column("disabled", Boolean),
)

host_mappings = Table(
    "host_mappings",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("cell_id", Integer),
    Column("host", String(255)),
)

aggregates = Table(
    "aggregates",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36)),
    Column("name", String(255)),
)

aggregate_hosts = Table(
    "aggregate_hosts",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255)),
    Column("aggregate_id", Integer),
)

aggregate_metadata = Table(
    "aggregate_metadata",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("aggregate_id", Integer),
    Column("key", String(255)),
    Column("value", String(255)),
)

instance_groups = Table(
    "instance_groups",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36)),
    Column("name", String(255)),
    Column("project_id", String(255)),
    Column("user_id", String(255)),
)

instance_group_member = Table(
    "instance_group_member",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_uuid", String(255)),
    Column("group_id", Integer),
)

instance_group_policy = Table(
    "instance_group_policy",
    api_metadata,
    Column("id", Integer, primary_key=True),
    Column("policy", String(255)),
    Column("rules", Text),
    Column("group_id", Integer),
)

# --- cell database (nova.db.main.models) ---------------------------------------

compute_nodes = Table(
    "compute_nodes",
    cell_metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36)),
    Column("host", String(255)),
    Column("hypervisor_hostname", String(255)),
    Column("hypervisor_type", Text),
    Column("hypervisor_version", Integer),
    Column("vcpus", Integer),
    Column("memory_mb", Integer),
    Column("local_gb", Integer),
    Column("vcpus_used", Integer),
    Column("memory_mb_used", Integer),
    Column("local_gb_used", Integer),
    Column("cpu_info", Text),
    Column("stats", Text),
    Column("metrics", Text),
    Column("numa_topology", Text),
    Column("pci_stats", Text),
    Column("supported_instances", Text),
    Column("host_ip", String(39)),
    Column("cpu_allocation_ratio", Float),
    Column("ram_allocation_ratio", Float),
    Column("disk_allocation_ratio", Float),
    Column("deleted", Integer),
)

services = Table(
    "services",
    cell_metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255)),
    Column("binary", String(255)),
    Column("disabled", Boolean),
    Column("disabled_reason", String(255)),
    Column("forced_down", Boolean),
    Column("last_seen_up", DateTime),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("version", Integer),
    Column("deleted", Integer),
)

instances = Table(
    "instances",
    cell_metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36)),
    Column("host", String(255)),
    Column("node", String(255)),
    Column("project_id", String(255)),
    Column("user_id", String(255)),
    Column("vm_state", String(255)),
    Column("updated_at", DateTime),
    Column("deleted", Integer),
)

instance_extra = Table(
    "instance_extra",
    cell_metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_uuid", String(36)),
    Column("flavor", Text),
    Column("updated_at", DateTime),
    Column("deleted", Integer),
)

instance_system_metadata = Table(
    "instance_system_metadata",
    cell_metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_uuid", String(36)),
    Column("key", String(255)),
    Column("value", String(255)),
    Column("deleted", Integer),
)
