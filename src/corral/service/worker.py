"""What runs inside one API worker process (started by the supervisor with "spawn").

The worker reads and validates the same config files as the parent (it is a
fresh interpreter: nothing of the parent's state came with it), builds the
app and serves it on the socket the parent bound. SIGTERM drains in-flight
requests (uvicorn's graceful shutdown, bounded by
`[api] graceful_shutdown_timeout`); SIGHUP re-reads the mutable options.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from dataclasses import dataclass

from oslo_config import cfg

from corral.service import logs
from corral.service.config_files import ConfigLoadError, ConfigSource, load
from corral.service.gc_tuning import tune_gc
from corral.service.limits import machine_cap
from corral.service.supervisor import EX_CONFIG
from corral.service.validation import errors, registry_names, validate

LOG = logging.getLogger("corral.service.worker")


@dataclass(frozen=True)
class ApiWorkerSpec:
    config: ConfigSource
    sock: socket.socket
    database_url: str
    bind_host: str
    profile: str | None = None
    workers_override: int | None = None
    auth_strategy: str | None = None


def load_worker_conf(spec: ApiWorkerSpec) -> tuple[cfg.ConfigOpts, dict[str, str]]:
    """The validated config for this worker; exits with EX_CONFIG when it is not valid."""
    from corral.service.profiles import apply_profile

    try:
        loaded = load(spec.config)
    except ConfigLoadError as exc:
        LOG.error("%s", exc)
        sys.exit(EX_CONFIG)
    overrides: dict[str, str] = {}
    if spec.profile:
        overrides = apply_profile(loaded.conf, spec.profile)
    if spec.workers_override is not None:
        loaded.conf.set_override("workers", spec.workers_override, group="api")
    if spec.auth_strategy is not None:
        loaded.conf.set_override("auth_strategy", spec.auth_strategy, group="api")
    problems = errors(
        validate(
            loaded.conf,
            loaded.raw,
            cap=machine_cap(),
            names=registry_names(),
            bind_host=spec.bind_host,
        )
    )
    if problems:
        for problem in problems:
            LOG.error("config error: %s", problem)
        sys.exit(EX_CONFIG)
    # The parent upgraded the schema once before starting any worker.
    loaded.conf.set_override("sync_on_startup", False, group="placement_database")
    return loaded.conf, overrides


def run_api_worker(spec: ApiWorkerSpec) -> None:
    """The target of an API worker process."""
    import uvicorn

    from corral.service.appfactory import build_app
    from corral.service.http_protocol import uvicorn_options

    logs.setup("INFO")
    conf, overrides = load_worker_conf(spec)
    logs.apply(conf)
    app = build_app(conf, spec.database_url, policy_overrides=overrides)

    def reload() -> None:
        try:
            changed = conf.mutate_config_files()
        except Exception:  # a bad file must not take a serving worker down
            LOG.exception("reload failed; keeping the running configuration")
            return
        logs.apply(conf)
        if app.services.scheduler is not None:
            app.services.scheduler.reload(conf)
        LOG.info("reloaded %d changed option(s)", len(changed))

    stop_requested: list[int] = []

    def install_handlers() -> None:
        # Runs inside uvicorn, after it took over SIGTERM and SIGINT.
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
        if stop_requested:
            signal.raise_signal(signal.SIGTERM)

    app.on_startup.append(install_handlers)
    # Until uvicorn's handler is in, a SIGTERM is remembered (and passed on by
    # install_handlers); after uvicorn has drained and re-raises the signal,
    # this handler ends the process with status 0 instead of -15.
    signal.signal(signal.SIGTERM, lambda sig, _frame: stop_requested.append(sig))
    tune_gc()
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=conf.api.graceful_shutdown_timeout,
        **uvicorn_options(conf.api.max_header_bytes),
    )
    uvicorn.Server(config).run(sockets=[spec.sock])
