"""scheduler.select_destinations.start / .end, sent as nova-scheduler sends them.

nova/scheduler/manager.py's _select_destinations sends, around the decision,
a legacy notification (publisher `scheduler.HOST`, payload `{"request_spec":
...}`, on [oslo_messaging_notifications] topics) and a versioned one
(publisher `nova-scheduler:HOST`, a RequestSpecPayload, on [notifications]
versioned_notifications_topics), as [notifications] notification_format
says. The payloads come from corral.rpc.notification_payloads; this module
holds the oslo.messaging Notifiers and the rule that a notification that
cannot be built or sent is logged and never fails the scheduling call.

As in Nova, `.end` follows a decision only: a request that finds no host
sends `.start` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from oslo_config import cfg

from corral.conf.notifications import BUS_DRIVERS, NOTIFY_RETRY
from corral.rpc.notification_payloads import legacy_payload, versioned_payload

LOG = logging.getLogger("corral.rpc")

START = "scheduler.select_destinations.start"
END = "scheduler.select_destinations.end"


@dataclass(frozen=True)
class NotifySettings:
    drivers: tuple[str, ...]
    notification_format: str
    topics: tuple[str, ...]
    versioned_topics: tuple[str, ...]
    transport_url: str | None  # None: the RPC server's
    host: str

    @property
    def enabled(self) -> bool:
        return any(d != "noop" for d in self.drivers)

    @property
    def on_bus(self) -> bool:
        return any(d in BUS_DRIVERS for d in self.drivers)

    @property
    def legacy(self) -> bool:
        return self.notification_format in ("unversioned", "both")

    @property
    def versioned(self) -> bool:
        return self.notification_format in ("versioned", "both")


def settings_from_conf(conf: cfg.ConfigOpts, host: str) -> NotifySettings:
    return NotifySettings(
        drivers=tuple(conf.oslo_messaging_notifications.driver or ()),
        notification_format=conf.notifications.notification_format,
        topics=tuple(conf.oslo_messaging_notifications.topics),
        versioned_topics=tuple(conf.notifications.versioned_notifications_topics),
        transport_url=conf.oslo_messaging_notifications.transport_url or None,
        host=host,
    )


class _Notifier(Protocol):
    """oslo_messaging.Notifier, as used here."""

    def info(self, ctxt: Any, event_type: str, payload: Any) -> None: ...


class SchedulerNotifier:
    """The two notifiers of nova-scheduler (either may be absent)."""

    def __init__(self, legacy: _Notifier | None, versioned: _Notifier | None) -> None:
        self._legacy = legacy
        self._versioned = versioned
        self.failed = 0  # notifications not sent; for tests and the log

    def start(self, ctxt: Mapping[str, Any], spec_obj: Mapping[str, Any]) -> None:
        self._send(
            ctxt, START, lambda: legacy_payload(spec_obj), lambda: versioned_payload(spec_obj)
        )

    def end(
        self,
        ctxt: Mapping[str, Any],
        spec_obj: Mapping[str, Any],
        instance_uuids: Sequence[str],
        selected_hosts: Sequence[str],
    ) -> None:
        last = instance_uuids[-1] if instance_uuids else None
        self._send(
            ctxt,
            END,
            lambda: legacy_payload(spec_obj, last_instance=last),
            lambda: versioned_payload(spec_obj, last_instance=last, selected_hosts=selected_hosts),
        )

    def _send(
        self,
        ctxt: Mapping[str, Any],
        event_type: str,
        legacy: Callable[[], Any],
        versioned: Callable[[], Any],
    ) -> None:
        for kind, notifier, build in (
            ("legacy", self._legacy, legacy),
            ("versioned", self._versioned, versioned),
        ):
            if notifier is None:
                continue
            try:
                notifier.info(dict(ctxt), event_type, build())
            except Exception as exc:  # never fails the scheduling call
                self.failed += 1
                LOG.warning("%s notification %s not sent: %s", kind, event_type, exc)


@dataclass(frozen=True)
class _FanOut:
    """One notification through each configured driver."""

    notifiers: list[Any]

    def info(self, ctxt: Any, event_type: str, payload: Any) -> None:
        for notifier in self.notifiers:
            notifier.info(ctxt, event_type, payload)


@dataclass
class NotificationTransport:
    """What build_notifier started: the notifier and the transport it owns."""

    notifier: SchedulerNotifier
    transport: Any

    def cleanup(self) -> None:
        self.transport.cleanup()


def build_notifier(
    settings: NotifySettings, messaging: Any, conf: Any, rpc_url: str, exchange: str
) -> NotificationTransport | None:
    """The notifiers for these settings, or None when nothing is to be sent.

    `messaging` is oslo_messaging, `conf` the conf it registers its options on.
    Drivers are passed by name, and only names corral.conf.notifications allows.
    Notifications go to `exchange` ([DEFAULT] control_exchange, "nova"), where
    nova-scheduler sends them (nova.rpc.set_defaults).
    """
    from corral.rpc.transport import check_transport_url

    if not settings.enabled:
        return None
    url = settings.transport_url or rpc_url
    check_transport_url(url)
    messaging.set_transport_defaults(control_exchange=exchange)
    transport = messaging.get_notification_transport(conf, url=url)

    def notifier(publisher_id: str, topics: tuple[str, ...]) -> _Notifier:
        # oslo.messaging's Notifier takes one driver name: one Notifier per driver.
        return _FanOut(
            [
                messaging.Notifier(
                    transport,
                    publisher_id=publisher_id,
                    driver=driver,
                    topics=list(topics),
                    serializer=messaging.NoOpSerializer(),
                    retry=NOTIFY_RETRY,
                )
                for driver in dict.fromkeys(settings.drivers)
            ]
        )

    legacy = notifier(f"scheduler.{settings.host}", settings.topics) if settings.legacy else None
    versioned = (
        notifier(f"nova-scheduler:{settings.host}", settings.versioned_topics)
        if settings.versioned
        else None
    )
    LOG.info(
        "notifications: %s, driver %s%s",
        settings.notification_format,
        ", ".join(settings.drivers),
        f", topics {', '.join(settings.topics + settings.versioned_topics)}"
        if settings.on_bus
        else "",
    )
    return NotificationTransport(SchedulerNotifier(legacy, versioned), transport)
