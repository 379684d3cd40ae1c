"""The initial schema: Placement's tables and the change log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Table

from corral.store import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _own_tables() -> list[Table]:
    """The tables of this revision only; later revisions create theirs."""
    return [
        tables.resource_classes,
        tables.resource_providers,
        tables.inventories,
        tables.allocations,
        tables.placement_aggregates,
        tables.resource_provider_aggregates,
        tables.traits,
        tables.resource_provider_traits,
        tables.projects,
        tables.users,
        tables.consumer_types,
        tables.consumers,
        tables.change_log,
    ]


def upgrade() -> None:
    tables.metadata.create_all(op.get_bind(), tables=_own_tables())


def downgrade() -> None:
    tables.metadata.drop_all(op.get_bind(), tables=_own_tables())
