"""Copy an upstream OpenStack Placement database into an empty corral database.

The source is read with upstream's own schema as openstack-placement 16.0.0
leaves it (`placement/db/sqlalchemy/models.py`, Alembic head `a082b8bb98d0`)
on MySQL/MariaDB, PostgreSQL or SQLite. It is only ever read: SQLite sources
are opened read-only, the others inside one REPEATABLE READ snapshot that
issues nothing but SELECTs (and is declared read-only on PostgreSQL).

Everything lands in the target in one write transaction that is checked
before it commits: row counts per entity and every provider's usage and
generation, read back from the target, must equal the source's. A source row
that corral could not serve faithfully (a negative total, an allocation to a
provider that does not exist, a class or trait id with no row) refuses the
whole import, naming the row, and nothing is written.

Ids are not carried over (corral's standard class ids and trait ids need not
be upstream's): resource classes and traits are mapped by name, projects and
users by external id, consumer types by name, aggregates and providers by
uuid. What Nova sends back is carried exactly: provider generations, consumer
generations, consumer types, and the project and user of every consumer.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from corral.store.database import Database, safe_url
from corral.store.import_placement.read import scrub, source_engine
from corral.store.import_placement.report import (
    CountRow,
    ImportMismatch,
    ImportRefused,
    ImportReport,
    Mismatch,
    NoProgress,
    ProgressSink,
    summary_rows,
)
from corral.store.import_placement.upstream_schema import UPSTREAM_HEAD, check_source_schema
from corral.store.import_placement.verify import verify
from corral.store.import_placement.write import check_target_empty, copy

__all__ = [
    "UPSTREAM_HEAD",
    "CountRow",
    "ImportMismatch",
    "ImportRefused",
    "ImportReport",
    "Mismatch",
    "ProgressSink",
    "import_placement",
    "safe_url",
    "summary_rows",
]


def import_placement(
    source_url: str,
    target: Database,
    *,
    progress: ProgressSink | None = None,
    before_commit: Callable[[Connection], None] | None = None,
) -> ImportReport:
    """Copy the Placement database at `source_url` into `target` (migrated, and
    holding no providers or consumers), verify the copy, and commit it.

    Raises ImportRefused (nothing written) for an unusable source or target or
    a bad source row, ImportMismatch (rolled back) when the read-back differs.
    `before_commit` runs on the target connection after the copy, before the
    verification (tests use it to tamper with the copy).
    """
    sink: ProgressSink = progress or NoProgress()
    engine = source_engine(source_url)
    try:
        with engine.connect() as src, src.begin():
            check_source_schema(src, source_url)
            report = ImportReport()
            try:
                with target.write() as dst:
                    check_target_empty(dst)
                    counts, skipped_consumers = copy(src, dst, sink)
                    if before_commit is not None:
                        before_commit(dst)
                    verify(src, dst, report, counts, skipped_consumers, sink)
                    if not report.ok:
                        raise ImportMismatch(report)
                    report.committed = True
            except IntegrityError as exc:
                # A constraint of corral's schema that the validation above
                # did not foresee: still refuse, never half-import.
                raise ImportRefused(
                    f"the target refused a row: {exc.orig.__class__.__name__}: "
                    f"{str(exc.orig).splitlines()[0]}; nothing was imported"
                ) from None
            return report
    except (ImportRefused, ImportMismatch):
        raise
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ImportRefused(
            scrub(
                f"database error (source {safe_url(source_url)}): "
                f"{exc.__class__.__name__}: {detail}; nothing was imported",
                source_url,
            )
        ) from None
    finally:
        engine.dispose()
