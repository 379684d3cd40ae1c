"""oslo.messaging RPC server on the scheduler topic, threading executor.

One server per RPC worker process. It listens where Nova's SchedulerAPI
sends: exchange `[DEFAULT] control_exchange` ("nova"), topic `[scheduler]
topic`, server `[DEFAULT] host`, and the topic's fanout exchange (the casts).
Messages are handled by a thread pool; nothing uses eventlet and nothing is
monkey patched.

oslo.messaging is imported only here, and only when a server is built: it
pulls in oslo.service, whose default backend imports eventlet (it does not
patch anything). That import stays out of every other corral process.

Only the rabbit driver is used: `rabbit://` is the one transport scheme
corral accepts (corral.service.validation refuses any other), so the driver
oslo.messaging loads is never chosen by config.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from corral.rpc.endpoint import API_VERSION, Scheduler, SchedulerEndpoint
from corral.rpc.notifier import NotificationTransport, NotifySettings, build_notifier
from corral.rpc.transport import check_transport_url
from corral.store.database import Database

LOG = logging.getLogger("corral.rpc")


@dataclass(frozen=True)
class ServerSettings:
    transport_url: str
    topic: str
    host: str
    exchange: str
    max_message_bytes: int
    threads: int
    # [filter_scheduler] track_instance_changes: apply the computes' instance casts.
    track_instance_changes: bool = True
    # [notifications] / [oslo_messaging_notifications]; None: none sent.
    notify: NotifySettings | None = None


@dataclass
class RpcServer:
    """A started server; stop() drains it."""

    server: Any
    transport: Any
    endpoint: SchedulerEndpoint
    notifications: NotificationTransport | None = None

    def stop(self) -> None:
        self.server.stop()
        self.server.wait()
        self.transport.cleanup()
        if self.notifications is not None:
            self.notifications.cleanup()


def _messaging() -> Any:
    """oslo_messaging, imported quietly (its eventlet import warns on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import oslo_messaging

    return oslo_messaging


def start_server(
    settings: ServerSettings,
    *,
    scheduler: Scheduler | None,
    db: Database | None,
) -> RpcServer:
    """Connect to the broker and start serving; raises when the URL is refused."""
    from oslo_config import cfg

    check_transport_url(settings.transport_url)
    messaging = _messaging()
    # oslo.messaging registers its options ([DEFAULT] transport_url,
    # [oslo_messaging_rabbit], ...) on the conf it is given, and some only ever
    # on the global cfg.CONF (its tracing options, read for every message it
    # receives); so it gets cfg.CONF, which corral's own options never use
    # (corral.conf.new_conf builds a ConfigOpts of their own). Its options keep
    # their defaults: the URL is passed explicitly.
    messaging_conf = cfg.CONF
    transport = messaging.get_rpc_transport(messaging_conf, url=settings.transport_url)
    notifications = (
        build_notifier(
            settings.notify, messaging, messaging_conf, settings.transport_url, settings.exchange
        )
        if settings.notify is not None
        else None
    )
    endpoint = SchedulerEndpoint(
        scheduler=scheduler,
        db=db,
        max_message_bytes=settings.max_message_bytes,
        track_instance_changes=settings.track_instance_changes,
        target=messaging.Target(version=API_VERSION),
        expected=messaging.ExpectedException,
        notifier=notifications.notifier if notifications is not None else None,
    )
    target = messaging.Target(
        exchange=settings.exchange, topic=settings.topic, server=settings.host
    )
    server = messaging.get_rpc_server(
        transport,
        target,
        [endpoint],
        executor="threading",
        serializer=messaging.NoOpSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )
    server.start(override_pool_size=settings.threads)
    LOG.info(
        "RPC server listening: exchange %s, topic %s, server %s (API %s, %d threads)",
        settings.exchange,
        settings.topic,
        settings.host,
        API_VERSION,
        settings.threads,
    )
    return RpcServer(server, transport, endpoint, notifications)
