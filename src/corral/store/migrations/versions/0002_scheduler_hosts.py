"""What the scheduler knows beyond Placement: compute hosts, services, host
aggregates, server groups and instances.

Revision ID: 0002
Revises: 0001

The tables are spelled out here (not taken from corral.store.tables) so this
revision keeps creating the same schema whatever later revisions change;
tests/functional/test_scheduler_hosts.py checks that the upgraded schema and
corral.store.tables agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "compute_hosts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("nodename", sa.String(255), nullable=False),
        sa.Column("provider_uuid", sa.String(36), nullable=False),
        sa.Column("hypervisor_type", sa.String(255), nullable=False),
        sa.Column("hypervisor_version", sa.BigInteger, nullable=False),
        sa.Column("hypervisor_hostname", sa.String(255), nullable=False),
        sa.Column("cpu_info", sa.JSON, nullable=False),
        sa.Column("capabilities", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("supported_instances", sa.JSON, nullable=False),
        sa.Column("host_ip", sa.String(64), nullable=True),
        sa.Column("numa_topology", sa.JSON, nullable=True),
        sa.Column("pci_stats", sa.JSON, nullable=False),
        sa.Column("num_io_ops", sa.Integer, nullable=False),
        sa.Column("failed_builds", sa.Integer, nullable=False),
        sa.Column("cell_uuid", sa.String(36), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("provider_uuid", name="uq_compute_hosts_provider_uuid"),
        sa.UniqueConstraint("host", "nodename", name="uq_compute_hosts_host"),
    )
    op.create_table(
        "compute_services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("forced_down", sa.Boolean, nullable=False),
        sa.Column("last_heartbeat", sa.DateTime, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("host", "binary", name="uq_compute_services_host"),
    )
    op.create_index("ix_compute_services_last_heartbeat", "compute_services", ["last_heartbeat"])
    op.create_table(
        "host_aggregates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("uuid", name="uq_host_aggregates_uuid"),
        sa.UniqueConstraint("name", name="uq_host_aggregates_name"),
    )
    op.create_table(
        "host_aggregate_metadata",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "aggregate_id",
            sa.Integer,
            sa.ForeignKey(
                "host_aggregates.id",
                name="fk_host_aggregate_metadata_aggregate_id_host_aggregates",
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("aggregate_id", "key", name="uq_host_aggregate_metadata_aggregate_id"),
    )
    op.create_table(
        "host_aggregate_hosts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "aggregate_id",
            sa.Integer,
            sa.ForeignKey(
                "host_aggregates.id", name="fk_host_aggregate_hosts_aggregate_id_host_aggregates"
            ),
            nullable=False,
        ),
        sa.Column("host", sa.String(255), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("aggregate_id", "host", name="uq_host_aggregate_hosts_aggregate_id"),
    )
    op.create_index("ix_host_aggregate_hosts_host", "host_aggregate_hosts", ["host"])
    op.create_table(
        "server_groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("uuid", name="uq_server_groups_uuid"),
    )
    op.create_table(
        "server_group_members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey(
                "server_groups.id", name="fk_server_group_members_group_id_server_groups"
            ),
            nullable=False,
        ),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("group_id", "instance_uuid", name="uq_server_group_members_group_id"),
    )
    op.create_index("ix_server_group_members_instance", "server_group_members", ["instance_uuid"])
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("provider_uuid", sa.String(36), nullable=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("flavor", sa.JSON, nullable=False),
        sa.Column("image_properties", sa.JSON, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("uuid", name="uq_instances_uuid"),
    )
    op.create_index("ix_instances_host_node", "instances", ["host", "node"])


def downgrade() -> None:
    for name in (
        "instances",
        "server_group_members",
        "server_groups",
        "host_aggregate_hosts",
        "host_aggregate_metadata",
        "host_aggregates",
        "compute_services",
        "compute_hosts",
    ):
        op.drop_table(name)
