"""[notifications] and [oslo_messaging_notifications]: what nova-scheduler notifies.

Names, meanings and defaults are Nova 34's (nova/conf/notifications.py) and
oslo.messaging's, so an operator's nova.conf means the same here: with an
empty `driver` (the default) nothing is sent. The RPC workers send
`scheduler.select_destinations.start` / `.end` (corral.rpc.notifier).

oslo.messaging registers its own [oslo_messaging_notifications] options on
the global cfg.CONF it is given (corral.rpc.server); those keep their
defaults. corral reads these, checks them, and passes the values to
oslo.messaging explicitly, so a driver is only ever one of oslo.messaging's
built-in drivers named here: none is loaded by a name config invents.
"""

from __future__ import annotations

from oslo_config import cfg, types

FORMATS = ("unversioned", "versioned", "both")
# oslo.messaging's own notification drivers that corral lets config name.
DRIVERS = ("messaging", "messagingv2", "noop", "log")
# Retries per notification (oslo.messaging's `retry`, not an option here): an
# unreachable broker costs a scheduling call a bounded delay, never a hang
# (oslo.messaging's default, -1, waits for ever).
NOTIFY_RETRY = 2
# The drivers that put notifications on the message bus.
BUS_DRIVERS = frozenset({"messaging", "messagingv2"})

_TOPIC = types.String(regex=r"^[A-Za-z0-9_.\-]{1,255}$", max_length=255)

notifications_group = cfg.OptGroup("notifications", title="Notifications (Nova's)")
messaging_group = cfg.OptGroup(
    "oslo_messaging_notifications", title="Notification transport (oslo.messaging's)"
)

NOTIFICATIONS_OPTS = [
    cfg.StrOpt(
        "notification_format",
        default="unversioned",
        choices=FORMATS,
        help="Which notifications the RPC workers send, as Nova's option: `unversioned` "
        '(the legacy payload, `{"request_spec": ...}`, on [oslo_messaging_notifications] '
        "topics, publisher `scheduler.HOST`), `versioned` (RequestSpecPayload on "
        "versioned_notifications_topics, publisher `nova-scheduler:HOST`) or `both`. "
        "Nothing is sent unless [oslo_messaging_notifications] driver is set.",
    ),
    cfg.ListOpt(
        "versioned_notifications_topics",
        default=["versioned_notifications"],
        item_type=_TOPIC,
        help="Topics the versioned notifications are sent to (Nova's option).",
    ),
]

MESSAGING_OPTS = [
    cfg.MultiOpt(
        "driver",
        item_type=types.String(choices=DRIVERS),
        help="How notifications are sent (oslo.messaging's option): `messagingv2` "
        "(what Nova deployments use) or `messaging` put them on the message bus, `log` "
        "writes them to corral's log, `noop` drops them. Empty, the default as in "
        "Nova: no notifications. Only these built-in drivers are accepted; a driver "
        "is never loaded by any other name.",
    ),
    cfg.ListOpt(
        "topics",
        default=["notifications"],
        item_type=_TOPIC,
        help="Topics the unversioned (legacy) notifications are sent to (oslo.messaging's option).",
    ),
    cfg.StrOpt(
        "transport_url",
        secret=True,
        help="Message bus of the notifications (rabbit:// only). Default: [DEFAULT] transport_url.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts (see corral.conf.database).
    conf.register_group(cfg.OptGroup(notifications_group.name, title=notifications_group.title))
    conf.register_opts(NOTIFICATIONS_OPTS, group=notifications_group.name)
    conf.register_group(cfg.OptGroup(messaging_group.name, title=messaging_group.title))
    conf.register_opts(MESSAGING_OPTS, group=messaging_group.name)
