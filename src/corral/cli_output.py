"""Plain-text tables and a progress bar for the scheduling commands of the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

# Reasons shown per stage of an explanation; the rest are counted as "N other".
STAGE_REASONS = 2
RANKED_SHOWN = 5


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns under a dashed header line."""
    cells = [[str(c) for c in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def render_selections(answer: Mapping[str, Any]) -> str:
    """One row per instance: where it went and the alternates kept for a retry."""
    rows = []
    for uuid, choices in zip(answer["instance_uuids"], answer["selections"], strict=True):
        chosen, alternates = choices[0], choices[1:]
        rows.append(
            (
                uuid,
                chosen["service_host"],
                chosen["nodename"],
                chosen.get("availability_zone") or "",
                ", ".join(a["service_host"] for a in alternates) or "-",
            )
        )
    return table(("instance", "host", "node", "az", "alternates"), rows)


def _top_reasons(reasons: Mapping[str, int]) -> str:
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{count:,} {reason}" for reason, count in ordered[:STAGE_REASONS] if count]
    rest = sum(count for _reason, count in ordered[STAGE_REASONS:])
    if rest:
        shown.append(f"{rest:,} other")
    return "; ".join(shown) or "-"


def render_explanation(explanation: Mapping[str, Any]) -> str:
    """The stage table (hosts in, out, top reasons), the best hosts and the summary."""
    rows = [
        (s["stage"], f"{s['hosts_in']:,}", f"{s['hosts_out']:,}", _top_reasons(s["reasons"]))
        for s in explanation.get("stages", [])
    ]
    parts = []
    if rows:
        parts.append(table(("stage", "in", "out", "top reasons"), rows))
    ranked = explanation.get("ranked", [])[:RANKED_SHOWN]
    if ranked:
        parts.append(
            table(
                ("rank", "host", "node", "weight"),
                [(i + 1, r["host"], r["node"], f"{r['weight']:.3f}") for i, r in enumerate(ranked)],
            )
        )
    parts.append(str(explanation.get("summary", "")))
    return "\n\n".join(parts)


def _free(amounts: Mapping[str, int]) -> str:
    return ", ".join(f"{rc} {n:,}" for rc, n in sorted(amounts.items())) or "-"


def render_capacity(shapes: Sequence[str], answers: Sequence[Mapping[str, Any]], by: str) -> str:
    """How many more instances of each shape fit, one column per shape and one
    row per zone (or aggregate, or host), then the capacity free on the hosts
    where no shape fits."""
    key = {"zone": "zones", "aggregate": "aggregates", "host": "hosts"}[by]
    names = sorted({name for answer in answers for name in answer[key]})
    labels = [f"shape {i + 1}" for i in range(len(shapes))]
    rows: list[list[object]] = [
        [name, *(f"{answer[key].get(name, 0):,}" for answer in answers)] for name in names
    ]
    rows.append(["total", *(f"{answer['total']:,}" for answer in answers)])
    legend = "\n".join(f"{label}: {shape}" for label, shape in zip(labels, shapes, strict=True))
    # Stranded where not even the smallest fits: hosts every shape left stranded.
    stranded = [set(answer["stranded"]["hosts"]) for answer in answers]
    hosts = set.intersection(*stranded) if stranded else set()
    free: dict[str, int] = {}
    for host in hosts:
        for rc, n in answers[0]["stranded"]["hosts"][host].items():
            free[rc] = free.get(rc, 0) + n
    note = f"stranded (no shape fits): {len(hosts):,} host(s), free {_free(free)}"
    return "\n\n".join([legend, table((by, *labels), rows), note])


class Progress:
    """`label [#####.....] n/total`: redrawn in place on a terminal, one line otherwise."""

    def __init__(self, out: TextIO, total: int, label: str, width: int = 30) -> None:
        self.out = out
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.done = 0
        self.tty = out.isatty()

    def bar(self) -> str:
        filled = self.width * self.done // self.total
        return (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total}"
        )

    def step(self, count: int = 1) -> None:
        self.done = min(self.done + count, self.total)
        if self.tty:
            self.out.write("\r" + self.bar())
            self.out.flush()

    def finish(self, note: str = "") -> None:
        tail = f" {note}" if note else ""
        self.out.write(("\r" if self.tty else "") + self.bar() + tail + "\n")
        self.out.flush()


class StageProgress:
    """One `Progress` bar per stage of a long command (`corral db import-placement`)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.bar: Progress | None = None

    def begin(self, label: str, total: int) -> None:
        self.bar = Progress(self.out, total, f"{label:<32}")

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.step(count)

    def end(self) -> None:
        if self.bar is not None:
            self.bar.finish()
            self.bar = None


MISMATCHES_SHOWN = 20


def render_import_report(report: Any) -> str:
    """The summary of `corral db import-placement` (a store ImportReport): counts
    per entity, then every provider's usage and generation against the source."""
    from corral.store.import_placement import summary_rows

    parts = [table(("entity", "source", "imported", "check"), summary_rows(report))]
    if report.mismatches:
        shown = report.mismatches[:MISMATCHES_SHOWN]
        rows = [(m.provider_uuid, m.what, m.source, m.imported) for m in shown]
        parts.append(
            f"{len(report.mismatches)} differences in usage or generation:\n"
            + table(("provider", "class or field", "source", "imported"), rows)
        )
        if len(report.mismatches) > len(shown):
            parts.append(f"... and {len(report.mismatches) - len(shown)} more")
    else:
        parts.append(
            f"usage: every provider's usage per resource class and its generation equal "
            f"the source's ({report.providers_compared} providers compared)"
        )
    return "\n\n".join(parts)
