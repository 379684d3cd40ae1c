"""What the caller of `corral db import-placement` sees: the errors that stop
an import, the progress it reports, and the report of the check before commit
(counts per entity, and every provider's usage and generation against the
source)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class ImportRefused(Exception):
    """The import cannot start or the source holds a row corral refuses; nothing
    was written."""


class ProgressSink(Protocol):
    """Where the import reports how far it got (the CLI draws a bar on stderr)."""

    def begin(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class CountRow:
    entity: str
    source: int
    imported: int
    # Source rows deliberately not copied, with why (shown in the summary).
    skipped: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.source - self.skipped == self.imported


@dataclass(frozen=True, slots=True)
class Mismatch:
    provider_uuid: str
    what: str  # a resource class name (usage) or "generation"
    source: int
    imported: int


@dataclass(slots=True)
class ImportReport:
    counts: list[CountRow] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    providers_compared: int = 0
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.mismatches and all(c.ok for c in self.counts)


class ImportMismatch(Exception):
    """The copy read back from the target differs from the source; rolled back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("the imported data does not match the source; rolled back")
        self.report = report


def summary_rows(report: ImportReport) -> Sequence[tuple[str, int, int, str]]:
    """(entity, source, imported, verdict) per entity, for the CLI's table."""
    out = []
    for c in report.counts:
        verdict = "OK" if c.ok else "MISMATCH"
        out.append((c.entity, c.source, c.imported, f"{verdict} {c.note}".rstrip()))
    return out
