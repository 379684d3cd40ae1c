"""What runs inside one RPC worker process (started by the supervisor with "spawn").

Like an API worker, it reads and validates the config itself (a fresh
interpreter), opens the database and loads the placement index, which a
background thread keeps current from the change log. Then it serves Nova's
scheduler RPC API (corral.rpc.server) until SIGTERM, which stops taking
messages and lets the ones in hand finish. SIGHUP re-reads the mutable options.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oslo_config import cfg

from corral.service import logs
from corral.service.gc_tuning import tune_gc

if TYPE_CHECKING:
    from corral.compute.nova_feed import NovaFeed
    from corral.scheduler.engine import Scheduler
    from corral.store.database import Database
from corral.service.config_files import ConfigLoadError, ConfigSource, load
from corral.service.limits import machine_cap
from corral.service.supervisor import EX_CONFIG
from corral.service.validation import errors, registry_names, validate

LOG = logging.getLogger("corral.service.rpc_worker")


@dataclass(frozen=True)
class RpcWorkerSpec:
    config: ConfigSource
    database_url: str
    number: int = 1


def load_rpc_conf(spec: RpcWorkerSpec) -> cfg.ConfigOpts:
    """The validated config; exits with EX_CONFIG when it is not valid."""
    try:
        loaded = load(spec.config)
    except ConfigLoadError as exc:
        LOG.error("%s", exc)
        sys.exit(EX_CONFIG)
    problems = errors(validate(loaded.conf, loaded.raw, cap=machine_cap(), names=registry_names()))
    if problems:
        for problem in problems:
            LOG.error("config error: %s", problem)
        sys.exit(EX_CONFIG)
    if not loaded.conf.transport_url:
        LOG.error("config error: an RPC worker needs [DEFAULT] transport_url")
        sys.exit(EX_CONFIG)
    return loaded.conf


def run_rpc_worker(spec: RpcWorkerSpec) -> None:
    """The target of an RPC worker process."""
    from corral.placement.index import PlacementIndex
    from corral.placement.index.refresher import IndexRefresher
    from corral.rpc.notifier import settings_from_conf
    from corral.rpc.server import ServerSettings, start_server
    from corral.scheduler.engine import Scheduler
    from corral.store.database import Database

    logs.setup("INFO")
    conf = load_rpc_conf(spec)
    logs.apply(conf)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _sig, _frame: stop.set())
    reload_requested = threading.Event()
    signal.signal(signal.SIGHUP, lambda _sig, _frame: reload_requested.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    db = Database(spec.database_url, pool_size=conf.placement_database.max_pool_size)
    index = PlacementIndex(db)
    index.load()
    refresher = IndexRefresher(index, retention=conf.placement.change_log_retention)
    refresher.start()
    nova_feed = start_nova_feed(conf, db)
    scheduler = Scheduler.from_conf(conf, db, index)
    tune_gc()
    host = conf.host or socket.gethostname()
    settings = ServerSettings(
        transport_url=conf.transport_url,
        topic=conf.scheduler.topic,
        host=host,
        exchange=conf.control_exchange,
        max_message_bytes=conf.scheduler.max_rpc_message_bytes,
        threads=conf.executor_thread_pool_size,
        track_instance_changes=conf.filter_scheduler.track_instance_changes,
        notify=settings_from_conf(conf, host),
    )
    try:
        server = start_server(settings, scheduler=scheduler, db=db)
    except Exception:
        LOG.exception("RPC worker %d cannot start its server", spec.number)
        if nova_feed is not None:
            nova_feed.stop()
        refresher.stop()
        db.dispose()
        sys.exit(1)
    try:
        while not stop.is_set():
            if reload_requested.wait(0.5):
                reload_requested.clear()
                _reload(conf, scheduler)
    finally:
        LOG.info("RPC worker %d stopping", spec.number)
        server.stop()
        if nova_feed is not None:
            nova_feed.stop()
        refresher.stop()
        db.dispose()


def start_nova_feed(conf: cfg.ConfigOpts, db: Database) -> NovaFeed | None:
    """The Nova database feed, started, when [api_database] connection is set.

    One per process: on PostgreSQL an advisory lock lets one refresh run at a
    time across them, elsewhere the writes are idempotent
    (corral.compute.nova_feed)."""
    from corral.compute.nova_feed import NovaFeed

    if not conf.api_database.connection:
        return None
    feed = NovaFeed(
        db, conf.api_database.connection, interval=conf.scheduler.nova_db_refresh_interval
    )
    feed.start()
    return feed


def _reload(conf: cfg.ConfigOpts, scheduler: Scheduler) -> None:
    try:
        changed = conf.mutate_config_files()
    except Exception:  # a bad file must not take a serving worker down
        LOG.exception("reload failed; keeping the running configuration")
        return
    logs.apply(conf)
    scheduler.reload(conf)
    LOG.info("reloaded %d changed option(s)", len(changed))
