"""`corral serve`: config in, checked, workers out.

prepare() does every check and starts nothing; serve() binds the socket,
upgrades the schema once, and hands the workers to the supervisor. Any
problem found by prepare() stops the launch before a socket is bound or a
process started.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oslo_config import cfg

from corral import metrics
from corral.service import logs
from corral.service.config_files import ConfigLoadError, ConfigSource, LoadedConfig, load
from corral.service.limits import WorkerCap, machine_cap
from corral.service.permissions import check_config_paths
from corral.service.rpc_worker import RpcWorkerSpec, run_rpc_worker
from corral.service.supervisor import Supervisor, WorkerKind
from corral.service.validation import (
    PluginNames,
    Problem,
    errors,
    label,
    registry_names,
    validate,
)
from corral.service.worker import ApiWorkerSpec, run_api_worker

LOG = logging.getLogger("corral.service")


@dataclass(frozen=True)
class ServeOptions:
    source: ConfigSource = field(default_factory=ConfigSource)
    host: str | None = None
    port: int | None = None
    database: str | None = None
    data_dir: str = "./data"
    profile: str | None = None
    workers: int | None = None
    auth_strategy: str | None = None


@dataclass
class Plan:
    options: ServeOptions
    loaded: LoadedConfig
    host: str
    port: int
    api_workers: int
    cap: WorkerCap
    warnings: list[Problem]
    # RPC workers on [scheduler] topic: 0 without [DEFAULT] transport_url.
    rpc_workers: int = 0

    @property
    def conf(self) -> cfg.ConfigOpts:
        return self.loaded.conf


def database_url(options: ServeOptions, conf_connection: str | None) -> str:
    if options.database:
        return options.database
    if conf_connection:
        return conf_connection
    data_dir = Path(options.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{data_dir / 'corral.db'}"


def prepare(
    options: ServeOptions,
    *,
    cap: WorkerCap | None = None,
    names: PluginNames | None = None,
) -> tuple[Plan | None, list[Problem]]:
    """Every check `corral serve` makes before it starts anything."""
    from corral.service.profiles import apply_profile

    cap = cap or machine_cap()
    source = options.source
    problems = [
        Problem("error", p.path, p.message)
        for p in check_config_paths(source.all_files(), list(source.dirs))
    ]
    if problems:
        return None, problems
    try:
        loaded = load(source)
    except ConfigLoadError as exc:
        return None, [Problem("error", "config", str(exc))]
    conf = loaded.conf
    if options.profile:
        try:
            apply_profile(conf, options.profile)
        except ValueError as exc:
            return None, [Problem("error", "--conformance-profile", str(exc))]
    if options.auth_strategy is not None:
        # Checked like a config value: validate() below refuses noauth2 on a
        # non-loopback address.
        conf.set_override("auth_strategy", options.auth_strategy, group="api")
    if options.workers is not None:
        try:
            conf.set_override("workers", options.workers, group="api")
        except ValueError:
            allowed = f"a whole number from 1 to {cap.cap} (the worker cap: {cap.formula()})"
            where = label("api", "workers")
            message = f"{where} = {options.workers} is not allowed: it must be {allowed}"
            return None, [Problem("error", where, message, str(options.workers), allowed)]
    host = options.host or conf.api.bind_host
    problems = validate(conf, loaded.raw, cap=cap, names=names or registry_names(), bind_host=host)
    if errors(problems):
        return None, problems
    port = options.port or conf.api.bind_port
    # A conformance profile is a throwaway single-node test server, restarted
    # for every upstream file: one worker starts fastest.
    workers = conf.api.workers or (1 if options.profile else cap.default)
    rpc_workers = (conf.scheduler.workers or cap.default) if conf.transport_url else 0
    plan = Plan(options, loaded, host, port, workers, cap, problems, rpc_workers)
    return plan, problems


def option_values(conf: cfg.ConfigOpts) -> dict[tuple[str | None, str], tuple[Any, bool]]:
    """(group, name) -> (value, mutable) for every option, secrets masked."""
    out: dict[tuple[str | None, str], tuple[Any, bool]] = {}
    for name, info in conf._opts.items():
        opt = info["opt"]
        if not info.get("cli"):
            value = "***" if opt.secret and conf[name] else conf[name]
            out[(None, name)] = (value, opt.mutable)
    for group_name, group in conf._groups.items():
        for name, info in group._opts.items():
            opt = info["opt"]
            value = conf[group_name][name]
            out[(group_name, name)] = ("***" if opt.secret and value else value, opt.mutable)
    return out


class Reloader:
    """SIGHUP in the parent: check the new config, say what changes, tell the workers."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.running = option_values(plan.conf)

    def __call__(self) -> bool:
        options = replace(self.plan.options)
        new_plan, problems = prepare(options)
        if new_plan is None:
            LOG.error("SIGHUP: the new configuration is refused; nothing changed:")
            for problem in errors(problems):
                LOG.error("  %s", problem)
            return False
        fresh = option_values(new_plan.conf)
        applied, pending = [], []
        for key, (value, mutable) in fresh.items():
            old = self.running.get(key, (None, mutable))[0]
            if value == old:
                continue
            line = f"{label(*key)}: {old!r} -> {value!r}"
            if mutable:
                applied.append(line)
                self.running[key] = (value, mutable)
            else:
                pending.append(line)
        for line in applied:
            LOG.warning("SIGHUP: applied %s", line)
        for line in pending:
            LOG.warning("SIGHUP: not applied (needs a restart) %s", line)
        if not applied and not pending:
            LOG.warning("SIGHUP: configuration re-read; nothing changed")
        logs.setup(logs.level_for(new_plan.conf))
        return bool(applied)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host.strip("[]"), port), family=family, backlog=2048)


def serve(plan: Plan) -> int:
    """Run the service until SIGTERM; the process exit status."""
    from corral.store import migrate
    from corral.store.database import Database

    conf = plan.conf
    logs.setup(logs.level_for(conf))
    for warning in plan.warnings:
        LOG.warning("%s", warning)
    url = database_url(plan.options, conf.placement_database.connection)
    if conf.placement_database.sync_on_startup:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
    try:
        sock = bind(plan.host, plan.port)
    except OSError as exc:
        print(f"corral: cannot listen on {plan.host}:{plan.port}: {exc.strerror}", file=sys.stderr)
        return 1
    metrics_dir = tempfile.mkdtemp(prefix="corral-metrics-")
    os.environ[metrics.MULTIPROC_ENV] = metrics_dir
    spec = ApiWorkerSpec(
        config=plan.options.source,
        sock=sock,
        database_url=url,
        bind_host=plan.host,
        profile=plan.options.profile,
        workers_override=plan.options.workers,
        auth_strategy=plan.options.auth_strategy,
    )
    kinds = [WorkerKind("api", plan.api_workers, run_api_worker, lambda _n: spec)]
    if plan.rpc_workers:
        kinds.append(
            WorkerKind(
                "rpc",
                plan.rpc_workers,
                run_rpc_worker,
                lambda n: RpcWorkerSpec(config=plan.options.source, database_url=url, number=n),
            )
        )
    supervisor = Supervisor(
        kinds,
        shutdown_timeout=float(conf.api.graceful_shutdown_timeout),
        on_reload=Reloader(plan),
    )
    where = url.split("@")[-1]
    print(
        f"corral listening on http://{plan.host}:{plan.port} "
        f"(database {where}, {plan.api_workers} API worker(s)"
        + (
            f", {plan.rpc_workers} RPC worker(s) on topic {conf.scheduler.topic}"
            if plan.rpc_workers
            else ""
        )
        + ")",
        flush=True,
    )
    try:
        return supervisor.run(on_exit=metrics.mark_process_dead)
    finally:
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.environ.pop(metrics.MULTIPROC_ENV, None)
