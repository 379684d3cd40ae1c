"""Every option checked before anything starts; each problem names the option,
the value and what is allowed.

oslo.config checks types and bounds lazily, when an option is first read; here
every registered option is read up front, and the checks oslo.config cannot
express are added: the worker cap (from the machine), filter and weigher names
(from corral's static registry, never an import), noauth2 on a public address,
list and string sizes, finite floats, CIDRs. Keys no corral option reads are
reported as warnings, since a nova.conf carries many of them.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from oslo_config import cfg, types

from corral.conf.scheduler import ALL_FILTERS_NAME, ALL_WEIGHERS_NAME
from corral.rpc.transport import TransportRefused, check_transport_url
from corral.service.config_files import RawSections
from corral.service.limits import WorkerCap

Severity = Literal["error", "warning"]

# Bounds on values whose options set none: config is input like any other.
MAX_LIST_ITEMS = 256
MAX_LIST_ITEM_CHARS = 255
MAX_STRING_CHARS = 4096

# Groups whose keys belong to a library that registers them itself.
FOREIGN_GROUPS = frozenset({"keystone_authtoken"})


@dataclass(frozen=True)
class Problem:
    severity: Severity
    option: str  # "[api] workers", or a path for file problems
    message: str
    value: str | None = None
    allowed: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PluginNames:
    """The names corral's static scheduler registry knows."""

    filters: frozenset[str]
    weighers: frozenset[str]


def registry_names() -> PluginNames:
    """Names from corral.scheduler.registry (a dict built at import time)."""
    from corral.scheduler import registry

    return PluginNames(
        filters=frozenset(registry.valid_filter_names()),
        weighers=frozenset(registry.valid_weigher_names()),
    )


def label(group: str | None, name: str) -> str:
    return f"[{group or 'DEFAULT'}] {name}"


def mask_url(url: str) -> str:
    """A URL with any password hidden, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def describe_allowed(opt: cfg.Opt) -> str:
    """What an option accepts, in words."""
    return describe_type(opt.type)


def describe_type(t: Any) -> str:
    """What a value of an oslo.config type may be, in words."""
    if isinstance(t, types.Boolean):
        return "true or false"
    if isinstance(t, types.Port):
        return "a port number from 0 to 65535"
    if isinstance(t, types.Integer | types.Float):
        kind = "a whole number" if isinstance(t, types.Integer) else "a number"
        if t.min is not None and t.max is not None:
            return f"{kind} from {t.min} to {t.max}"
        if t.min is not None:
            return f"{kind} of at least {t.min}"
        if t.max is not None:
            return f"{kind} of at most {t.max}"
        return kind
    if isinstance(t, types.HostAddress):
        return "an IP address or a host name"
    if isinstance(t, types.String):
        parts = []
        if t.choices:
            parts.append("one of " + ", ".join(str(c) for c in t.choices))
        if t.regex is not None:
            parts.append(f"text matching {t.regex.pattern}")
        if t.max_length:
            parts.append(f"at most {t.max_length} characters")
        return "; ".join(parts) or f"text of at most {MAX_STRING_CHARS} characters"
    if isinstance(t, types.List):
        items = f"a comma-separated list of at most {MAX_LIST_ITEMS} items"
        item = t.item_type
        if isinstance(item, types.String) and (item.choices or item.regex is not None):
            return f"{items}, each {describe_type(item)}"
        return items
    return str(t)


class Validator:
    def __init__(
        self,
        conf: cfg.ConfigOpts,
        raw: RawSections,
        *,
        cap: WorkerCap,
        names: PluginNames,
        bind_host: str | None = None,
    ) -> None:
        self.conf = conf
        self.raw = raw
        self.cap = cap
        self.names = names
        self.bind_host = bind_host
        self.problems: list[Problem] = []
        self.values: dict[tuple[str | None, str], Any] = {}

    def error(self, option: str, message: str, value: str | None, allowed: str | None) -> None:
        self.problems.append(Problem("error", option, message, value, allowed))

    def warn(self, option: str, message: str) -> None:
        self.problems.append(Problem("warning", option, message))

    def raw_value(self, group: str | None, name: str) -> str:
        values = self.raw.get(group or "DEFAULT", {}).get(name)
        return values[-1] if values else "(unset)"

    def refuse(self, group: str | None, name: str, value: Any, allowed: str) -> None:
        shown = "(unset)" if value is None else str(value)
        self.error(
            label(group, name),
            f"{label(group, name)} = {shown} is not allowed: it must be {allowed}",
            shown,
            allowed,
        )

    # -- the checks -------------------------------------------------------

    def run(self) -> list[Problem]:
        self.check_registered_options()
        self.check_workers()
        self.check_auth()
        self.check_plugins()
        self.check_metrics_networks()
        self.check_rpc()
        self.check_notifications()
        self.check_not_applied()
        self.check_unknown_keys()
        return self.problems

    def iter_opts(self) -> Iterable[tuple[str | None, cfg.Opt]]:
        for info in self.conf._opts.values():
            if not info.get("cli"):
                yield None, info["opt"]
        for group_name, group in self.conf._groups.items():
            for info in group._opts.values():
                if not info.get("cli"):
                    yield group_name, info["opt"]

    def check_registered_options(self) -> None:
        for group, opt in self.iter_opts():
            if group is None and opt.name in ("config_source", "shell_completion"):
                continue
            if opt.name == "workers" and group in ("api", "scheduler"):
                continue  # checked against the machine's cap below
            try:
                value = self.conf[group][opt.dest] if group else self.conf[opt.dest]
            except (cfg.ConfigFileValueError, ValueError):
                self.refuse(group, opt.name, self.raw_value(group, opt.name), describe_allowed(opt))
                continue
            self.values[(group, opt.name)] = value
            self.check_size(group, opt, value)

    def check_size(self, group: str | None, opt: cfg.Opt, value: Any) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            self.refuse(group, opt.name, value, f"a finite number ({describe_allowed(opt)})")
        elif isinstance(value, str):
            limit = getattr(opt.type, "max_length", None) or MAX_STRING_CHARS
            if len(value) > limit:
                self.refuse(
                    group,
                    opt.name,
                    f"{value[:40]}... ({len(value)} characters)",
                    f"text of at most {limit} characters",
                )
        elif isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                self.refuse(
                    group,
                    opt.name,
                    f"({len(value)} items)",
                    f"a list of at most {MAX_LIST_ITEMS} items",
                )
            long = [v for v in value if isinstance(v, str) and len(v) > MAX_LIST_ITEM_CHARS]
            if long:
                self.refuse(
                    group,
                    opt.name,
                    f"{long[0][:40]}... ({len(long[0])} characters)",
                    f"a list of items of at most {MAX_LIST_ITEM_CHARS} characters each",
                )

    def check_workers(self) -> None:
        allowed = f"a whole number from 1 to {self.cap.cap} (the worker cap: {self.cap.formula()})"
        for group in ("api", "scheduler"):
            try:
                value = self.conf[group].workers
            except (cfg.ConfigFileValueError, ValueError):
                self.refuse(group, "workers", self.raw_value(group, "workers"), allowed)
                continue
            self.values[(group, "workers")] = value
            if value is not None and not 1 <= value <= self.cap.cap:
                self.refuse(group, "workers", value, allowed)

    def check_auth(self) -> None:
        from corral.api.auth import UnsafeAuthConfig, check_bind_address

        strategy = self.values.get(("api", "auth_strategy"))
        host = self.bind_host or self.values.get(("api", "bind_host"))
        if strategy is None or host is None:
            return
        try:
            check_bind_address(strategy, host)
        except UnsafeAuthConfig as exc:
            self.error("[api] auth_strategy", str(exc), strategy, "keystone, or a loopback bind")

    def check_plugins(self) -> None:
        fs = "filter_scheduler"
        available = self.values.get((fs, "available_filters"))
        enabled = self.values.get((fs, "enabled_filters"))
        weighers = self.values.get((fs, "weight_classes"))
        usable = set(self.names.filters)
        if available is not None:
            declared: set[str] = set()
            refused = False
            for name in available:
                if name == ALL_FILTERS_NAME:
                    declared |= self.names.filters
                elif self.check_name(
                    fs, "available_filters", name, self.names.filters, "filter", ALL_FILTERS_NAME
                ):
                    declared.add(name)
                else:
                    refused = True
            # A refused entry (say Nova's all_filters) was meant to make filters
            # available: reporting each enabled one as missing too would bury
            # the error that matters.
            if not refused:
                usable = declared
        if enabled is not None:
            for name in enabled:
                # No "every filter" here: enabled_filters is the order filters run in.
                if not self.check_name(fs, "enabled_filters", name, self.names.filters, "filter"):
                    continue
                if name not in usable:
                    self.error(
                        label(fs, "enabled_filters"),
                        f"{label(fs, 'enabled_filters')}: filter {name!r} is not in "
                        f"{label(fs, 'available_filters')}; add it there or remove it here",
                        name,
                        "names listed in available_filters",
                    )
        if weighers is not None:
            for name in weighers:
                if name != ALL_WEIGHERS_NAME:
                    valid = self.names.weighers
                    self.check_name(fs, "weight_classes", name, valid, "weigher", ALL_WEIGHERS_NAME)

    def check_name(
        self,
        group: str,
        opt: str,
        name: str,
        valid: frozenset[str],
        kind: str,
        every: str | None = None,
    ) -> bool:
        """A registered name, or an error listing the valid ones.

        `every` is the word this option takes for "every registered one", if any.
        """
        if name in valid:
            return True
        where = label(group, opt)
        listing = ", ".join(sorted(valid)) or "(none registered)"
        choices = f"{every!r} or one of: {listing}" if every else f"one of: {listing}"
        if "." in name:
            # Nova's import paths (all_filters and all_weighers too) are refused,
            # never resolved: the message names what to write instead.
            static = name.rsplit(".", 1)[-1]
            if static in valid:
                instead = f"Use {static!r}, its registered name ({choices})"
            else:
                instead = f"Use {choices}"
            message = (
                f"{where} = {name} is a Nova import path; corral loads nothing by import "
                f"path. {instead}"
            )
        elif name == ALL_FILTERS_NAME and every is None:
            message = (
                f"{where}: {name!r} is not a {kind}; it is only for available_filters, since "
                f"this list is the order {kind}s run in. Use {choices}"
            )
        else:
            message = f"{where}: unknown {kind} {name!r}. Use {choices}"
        self.error(where, message, name, choices)
        return False

    def check_metrics_networks(self) -> None:
        for entry in self.values.get(("api", "metrics_allowed_networks")) or []:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self.refuse("api", "metrics_allowed_networks", entry, "a list of CIDR networks")

    def check_rpc(self) -> None:
        """transport_url starts the RPC workers: it must be a rabbit:// URL."""
        url = self.values.get((None, "transport_url"))
        if not url:
            return
        try:
            check_transport_url(url)
        except TransportRefused as exc:
            self.error(
                "[DEFAULT] transport_url",
                f"[DEFAULT] transport_url = {mask_url(url)} is not allowed: {exc}",
                mask_url(url),
                "a rabbit:// URL",
            )

    def check_notifications(self) -> None:
        """The notification bus is RabbitMQ too; notifications need RPC workers."""
        group = "oslo_messaging_notifications"
        url = self.values.get((group, "transport_url"))
        if url:
            try:
                check_transport_url(url)
            except TransportRefused as exc:
                self.error(
                    label(group, "transport_url"),
                    f"{label(group, 'transport_url')} = {mask_url(url)} is not allowed: {exc}",
                    mask_url(url),
                    "a rabbit:// URL",
                )
        drivers = self.values.get((group, "driver")) or []
        if any(d != "noop" for d in drivers) and not self.values.get((None, "transport_url")):
            self.warn(
                label(group, "driver"),
                f"{label(group, 'driver')} is set but [DEFAULT] transport_url is not: "
                "notifications are sent by the RPC workers, which do not run without it",
            )

    def check_not_applied(self) -> None:
        """Nova options corral registers (a nova.conf may set them) but cannot
        honour: setting one is a warning saying what is not done."""
        if self.values.get(("scheduler", "query_placement_for_routed_network_aggregates")):
            self.warn(
                "[scheduler] query_placement_for_routed_network_aggregates",
                "[scheduler] query_placement_for_routed_network_aggregates: corral does not "
                "apply Nova's routed_networks_filter (it needs Neutron's segments); hosts "
                "are not restricted to the requested networks' segments",
            )
        tracked = self.values.get(("filter_scheduler", "track_instance_changes"))
        if tracked is False and not self.values.get(("api_database", "connection")):
            self.warn(
                "[filter_scheduler] track_instance_changes",
                "[filter_scheduler] track_instance_changes = False without [api_database] "
                "connection: the computes' instance casts are dropped and Nova's databases "
                "are not read, so the affinity filters know only the instances corral "
                "placed itself",
            )

    def check_unknown_keys(self) -> None:
        if self.raw.get("DEFAULT", {}).get("config_source"):
            self.error(
                "[DEFAULT] config_source",
                "[DEFAULT] config_source is not supported: corral reads its configuration "
                "from local files only",
                self.raw["DEFAULT"]["config_source"][-1],
                "unset",
            )
        known = {(g or "DEFAULT", opt.dest) for g, opt in self.iter_opts()}
        known |= {(g or "DEFAULT", opt.name) for g, opt in self.iter_opts()}
        groups = {g for g, _ in known}
        for section, keys in self.raw.items():
            if section in FOREIGN_GROUPS:
                continue
            if section not in groups:
                self.warn(
                    f"[{section}]", f"[{section}]: no corral option is in this section; ignored"
                )
                continue
            for key in keys:
                if (section, key) not in known and key != "config_source":
                    self.warn(
                        label(section, key),
                        f"{label(section, key)}: corral has no such option; ignored",
                    )


def validate(
    conf: cfg.ConfigOpts,
    raw: RawSections,
    *,
    cap: WorkerCap,
    names: PluginNames,
    bind_host: str | None = None,
) -> list[Problem]:
    return Validator(conf, raw, cap=cap, names=names, bind_host=bind_host).run()


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
