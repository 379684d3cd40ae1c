"""The app as `corral serve` configures it: served by uvicorn in a thread, or
in-process behind a TestClient with some options set."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from oslo_config import cfg
from starlette.testclient import TestClient

from corral.conf import new_conf
from corral.scheduler.engine import Scheduler
from corral.service.appfactory import build_app
from corral.service.http_protocol import uvicorn_options
from corral.service.profiles import apply_profile
from tests.conftest import PlacementClient


@contextmanager
def served(conf: cfg.ConfigOpts, database_url: str) -> Iterator[int]:
    """Serve on an ephemeral loopback port; yield the port, stop on exit."""
    app = build_app(conf, database_url, policy_overrides=apply_profile(conf, "default"))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="error",
        lifespan="on",
        **uvicorn_options(conf.api.max_header_bytes),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def app_with_options(
    database_url: str, overrides: dict[tuple[str, str], Any]
) -> Iterator[tuple[PlacementClient, Scheduler]]:
    """The app as make_client builds it, with some options ((group, name) -> value) set."""
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    policy = apply_profile(conf, "default")
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group)
    app = build_app(conf, database_url, policy_overrides=policy)
    scheduler = app.services.scheduler
    assert scheduler is not None
    with TestClient(app) as client:
        yield PlacementClient(client), scheduler
