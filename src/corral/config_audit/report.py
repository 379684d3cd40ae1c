"""The audit itself and its two renderings (text for people, JSON for tools)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from oslo_config import cfg

from corral.config_audit.notes import HONOURED, IGNORED, IGNORED_SECTIONS, is_secret_name
from corral.service.config_files import ConfigSource, load
from corral.service.limits import machine_cap
from corral.service.permissions import check_config_paths
from corral.service.validation import FOREIGN_GROUPS, PluginNames, Problem, registry_names, validate


@dataclass(frozen=True)
class OptionLine:
    section: str
    key: str
    value: str | None
    note: str


@dataclass
class AuditReport:
    files: list[str]
    problems: list[Problem] = field(default_factory=list)
    honoured: list[OptionLine] = field(default_factory=list)
    ignored: list[OptionLine] = field(default_factory=list)
    host_source: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


def _registered(conf: cfg.ConfigOpts) -> dict[tuple[str, str], cfg.Opt]:
    out: dict[tuple[str, str], cfg.Opt] = {}
    for info in conf._opts.values():
        out[("DEFAULT", info["opt"].dest)] = info["opt"]
    for group_name, group in conf._groups.items():
        for info in group._opts.values():
            out[(group_name, info["opt"].dest)] = info["opt"]
    return out


def _shown(value: str, secret: bool) -> str:
    return "***" if secret and value else value


def audit(
    source: ConfigSource,
    *,
    bind_host: str | None = None,
    names: PluginNames | None = None,
) -> AuditReport:
    files = source.all_files()
    report = AuditReport(files=files)
    for p in check_config_paths(files, list(source.dirs)):
        report.problems.append(Problem("error", p.path, p.message))
    loaded = load(source)
    problems = validate(
        loaded.conf,
        loaded.raw,
        cap=machine_cap(),
        names=names or registry_names(),
        bind_host=bind_host,
    )
    report.host_source = host_source(loaded.conf)
    registered = _registered(loaded.conf)
    for section, keys in loaded.raw.items():
        for key, values in keys.items():
            opt = registered.get((section, key))
            if section in FOREIGN_GROUPS:
                report.honoured.append(
                    OptionLine(section, key, None, "read by keystonemiddleware (token validation)")
                )
            elif opt is not None and (section, key) != ("DEFAULT", "config_source"):
                secret = bool(opt.secret) or is_secret_name(key)
                note = HONOURED.get((section, key), "honoured with the same meaning")
                report.honoured.append(OptionLine(section, key, _shown(values[-1], secret), note))
            else:
                reason = IGNORED.get((section, key)) or IGNORED_SECTIONS.get(section)
                report.ignored.append(
                    OptionLine(section, key, None, reason or "corral has no such option")
                )
    # Unknown keys are listed as ignored above; the rest are the problems.
    report.problems.extend(
        p for p in problems if "ignored" not in p.message or p.severity == "error"
    )
    return report


def host_source(conf: cfg.ConfigOpts) -> str:
    """Where the scheduler's compute hosts come from under this config."""
    if conf.api_database.connection:
        return (
            "hosts from Nova's databases ([api_database] connection, read every "
            f"{conf.scheduler.nova_db_refresh_interval:g} s)"
        )
    return "hosts from corral's host API (/scheduler/v1/hosts)"


def render_text(report: AuditReport) -> str:
    lines = ["corral check-config: " + (", ".join(report.files) or "(built-in defaults)")]
    lines.append(f"Host source: {report.host_source}")
    for title, problems in (("Errors", report.errors), ("Warnings", report.warnings)):
        if problems:
            lines.append(f"\n{title}:")
            lines.extend(f"  - {p.message}" for p in problems)
    if report.honoured:
        lines.append("\nHonoured:")
        for o in report.honoured:
            value = "" if o.value is None else f" = {o.value}"
            lines.append(f"  [{o.section}] {o.key}{value}: {o.note}")
    if report.ignored:
        lines.append("\nIgnored:")
        lines.extend(f"  [{o.section}] {o.key}: {o.note}" for o in report.ignored)
    lines.append(
        f"\n{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
        f"{len(report.honoured)} option(s) honoured, {len(report.ignored)} ignored"
    )
    return "\n".join(lines)


def render_json(report: AuditReport) -> str:
    def problem(p: Problem) -> dict[str, Any]:
        return {"option": p.option, "message": p.message, "value": p.value, "allowed": p.allowed}

    doc = {
        "files": report.files,
        "ok": not report.has_errors,
        "host_source": report.host_source,
        "errors": [problem(p) for p in report.errors],
        "warnings": [problem(p) for p in report.warnings],
        "honoured": [asdict(o) for o in report.honoured],
        "ignored": [{"section": o.section, "key": o.key, "reason": o.note} for o in report.ignored],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
