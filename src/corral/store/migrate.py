"""Schema upgrades (Alembic) and the sync of standard resource classes and traits."""

from __future__ import annotations

from pathlib import Path

import os_resource_classes
import os_traits
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from corral.store import tables
from corral.store.database import Database, utcnow

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision, then sync the standard names."""
    cfg = _alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    sync_standard_names(db)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def sync_standard_names(db: Database) -> None:
    """Insert the standard resource classes and traits the database lacks."""
    now = utcnow()
    with db.write() as conn:
        have_rc = {row.name for row in conn.execute(select(tables.resource_classes.c.name))}
        want_rc = [
            {"id": idx, "name": name, "created_at": now}
            for idx, name in enumerate(os_resource_classes.STANDARDS)
            if name not in have_rc
        ]
        if want_rc:
            conn.execute(tables.resource_classes.insert(), want_rc)
        have_traits = {row.name for row in conn.execute(select(tables.traits.c.name))}
        want_traits = [
            {"name": name, "created_at": now}
            for name in os_traits.get_traits()
            if name not in have_traits
        ]
        if want_traits:
            conn.execute(tables.traits.insert(), want_traits)
